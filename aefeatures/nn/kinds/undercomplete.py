"""``undercomplete``: no hidden layer (registry default), SiLU code; only the bottleneck regularises."""

from torch import nn

from aefeatures.nn.kinds.base import Kind

KIND = Kind(name="undercomplete", code_activation=nn.SiLU)
