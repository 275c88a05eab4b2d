"""``sparse-l1``: ReLU code; ``l1_weight`` x mean absolute code activation is added to the loss,
plus each hidden layer's when ``l1_hidden``."""

from __future__ import annotations

import torch
from torch import nn

from aefeatures.config import FitConfig
from aefeatures.nn.kinds.base import Kind, NetOutput, Network


def l1_penalty(
    net: Network, output: NetOutput, inputs: torch.Tensor, config: FitConfig, epoch: int, n_columns: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``l1_weight`` x the mean absolute activation of the code (and hidden layers), and that mean."""
    layers = (*output.hidden, output.code) if config.l1_hidden else (output.code,)
    raw = sum((h.abs().mean() for h in layers), output.code.new_zeros(()))
    return config.l1_weight * raw, raw


KIND = Kind(name="sparse-l1", code_activation=nn.ReLU, penalty=l1_penalty, penalty_name="l1")
