"""``denoising``: the network's training input is corrupted per source column (``noise``,
``noise_level``); the loss compares its reconstruction with the clean input."""

from __future__ import annotations

import torch

from aefeatures.config import FitConfig
from aefeatures.nn.kinds.base import Kind


def corrupt(
    inputs: torch.Tensor, input_column: torch.Tensor, noise: str, level: float, generator: torch.Generator
) -> torch.Tensor:
    """Corrupt a batch (B, D) per source column, never in place.

    ``gaussian`` adds N(0, level) to every input; ``masking`` zeroes a column's whole block
    (one-hot, indicator, datetime parts) with probability ``level``, which is how a missing
    cell is encoded; ``swap`` replaces a column's whole block with probability ``level`` by
    the same block of another random row of the batch (the Porto Seguro recipe).

    Examples
    --------
    >>> inputs = torch.arange(6.0).reshape(3, 2)
    >>> noisy = corrupt(inputs, torch.tensor([0, 0]), "masking", 1.0, torch.Generator())
    >>> noisy.abs().sum().item()
    0.0
    """
    n_rows, n_columns = inputs.shape[0], int(input_column.max()) + 1 if input_column.numel() else 0
    device = inputs.device
    if noise == "gaussian":
        return inputs + level * torch.randn(inputs.shape, generator=generator).to(device)
    hit = (torch.rand((n_rows, n_columns), generator=generator) < level).to(device)
    hit_inputs = hit[:, input_column]  # (B, D): every position of a hit column
    if noise == "masking":
        return inputs.masked_fill(hit_inputs, 0.0)
    if noise == "swap":
        donors = torch.randint(0, n_rows, (n_rows, n_columns), generator=generator).to(device)
        swapped = inputs.gather(0, donors[:, input_column])  # row donors[i, col(j)] at position j
        return torch.where(hit_inputs, swapped, inputs)
    raise ValueError(f"unknown noise {noise!r}")


def noisy_input(
    inputs: torch.Tensor, input_column: torch.Tensor, config: FitConfig, generator: torch.Generator
) -> torch.Tensor:
    """The training input: ``inputs`` under the configured noise (itself at ``noise_level=0``)."""
    if config.noise_level == 0:
        return inputs
    return corrupt(inputs, input_column, config.noise, config.noise_level, generator)


KIND = Kind(name="denoising", corrupt=noisy_input)
