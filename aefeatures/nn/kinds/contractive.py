"""``contractive``: ``contractive_weight`` x mean squared Frobenius norm of the encoder Jacobian
is added to the loss."""

from __future__ import annotations

import torch

from aefeatures.config import FitConfig
from aefeatures.nn.kinds.base import Kind, NetOutput, Network


def jacobian_penalty(
    net: Network, output: NetOutput, inputs: torch.Tensor, config: FitConfig, epoch: int, n_columns: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``contractive_weight`` x the mean squared norm of the encoder Jacobian, and that mean."""
    raw = net.encoder_jacobian(inputs).square().sum((1, 2)).mean()
    return config.contractive_weight * raw, raw


KIND = Kind(name="contractive", penalty=jacobian_penalty, penalty_name="jacobian_sq")
