"""``sparse-kl``: sigmoid code; ``sparsity_weight`` x sum over code units of
KL(rho || mean activation), rho = ``sparsity_target``, is added to the loss."""

from __future__ import annotations

import torch
from torch import nn

from aefeatures.config import FitConfig
from aefeatures.nn.kinds.base import Kind, NetOutput, Network


def sparsity_kl(code: torch.Tensor, target: float) -> torch.Tensor:
    """Sum over units of KL(Bernoulli(target) || Bernoulli(mean activation over the batch))."""
    rho_hat = code.mean(0).clamp(1e-6, 1.0 - 1e-6)  # (k,)
    rho = torch.full_like(rho_hat, target)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


def kl_penalty(
    net: Network, output: NetOutput, inputs: torch.Tensor, config: FitConfig, epoch: int, n_columns: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``sparsity_weight`` x :func:`sparsity_kl` of the code, and the KL itself."""
    raw = sparsity_kl(output.code, config.sparsity_target)
    return config.sparsity_weight * raw, raw


KIND = Kind(name="sparse-kl", code_activation=nn.Sigmoid, penalty=kl_penalty, penalty_name="sparsity_kl")
