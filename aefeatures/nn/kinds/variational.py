"""``variational``: a Gaussian latent; ``beta`` x KL(q(z|x) || N(0, I)) per row, divided by the
number of source columns (the reconstruction error is a mean over columns), is added to the
loss, warmed up linearly over ``kl_warmup_epochs``. Codes are the posterior mean."""

from __future__ import annotations

import torch

from aefeatures.config import FitConfig
from aefeatures.nn.kinds.base import Kind, NetOutput, Network


def gaussian_kl(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) per row (B,), in nats."""
    return 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar).sum(1)


def kl_penalty(
    net: Network, output: NetOutput, inputs: torch.Tensor, config: FitConfig, epoch: int, n_columns: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The warmed-up, ``beta``-weighted KL per source column, and the mean KL per row."""
    if output.logvar is None:
        raise ValueError("the KL penalty needs a variational network's log-variance")
    raw = gaussian_kl(output.code, output.logvar).mean()
    warmup = config.kl_warmup_epochs
    warm = min(1.0, epoch / warmup) if warmup else 1.0
    return config.beta * warm * raw / n_columns, raw


def kl_warmup(config: FitConfig) -> int:
    """Epochs over which the KL weight grows: ``kl_warmup_epochs``."""
    return config.kl_warmup_epochs


KIND = Kind(
    name="variational", variational=True, penalty=kl_penalty, penalty_name="kl", warmup_epochs=kl_warmup
)
