"""``deep``: hidden layers each side (one by default, any via ``hidden``), linear code."""

from aefeatures.nn.kinds.base import Kind

KIND = Kind(name="deep")
