"""``denoising``: the network's training input is corrupted per source column (``noise``,
``noise_level``); the loss compares its reconstruction with the clean input, and counts the
columns the noise left untouched ``clean_weight`` times as much as the corrupted ones."""

from __future__ import annotations

import torch

from aefeatures.config import FitConfig
from aefeatures.nn.kinds.base import Corrupted, Kind


def corrupt(
    inputs: torch.Tensor,
    input_column: torch.Tensor,
    noise: str,
    level: float,
    generator: torch.Generator,
    indicator: torch.Tensor | None = None,
) -> torch.Tensor:
    """Corrupt a batch (B, D) per source column, never in place (see :func:`corruption`).

    Examples
    --------
    >>> inputs = torch.arange(6.0).reshape(3, 2)
    >>> noisy = corrupt(inputs, torch.tensor([0, 0]), "masking", 1.0, torch.Generator())
    >>> noisy.abs().sum().item()
    0.0
    >>> corrupt(inputs, torch.tensor([0, 0]), "masking", 1.0, torch.Generator(), torch.tensor([False, True]))
    tensor([[0., 1.],
            [0., 1.],
            [0., 1.]])
    """
    return corruption(inputs, input_column, noise, level, generator, indicator)[0]


def corruption(
    inputs: torch.Tensor,
    input_column: torch.Tensor,
    noise: str,
    level: float,
    generator: torch.Generator,
    indicator: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The corrupted batch (B, D) and which source columns were hit (B, C), never in place.

    ``gaussian`` adds N(0, level) to every input (no column is singled out: ``None``);
    ``masking`` makes a column's cell missing with probability ``level``, encoded as a missing
    cell is: its value block (number, one-hot, datetime parts) zeroed and its missingness
    indicator (the positions ``indicator`` marks, if the column has one) set to 1; ``swap``
    replaces a column's whole block with probability ``level`` by the same block of another
    random row of the batch (the Porto Seguro recipe).
    """
    n_rows, n_columns = inputs.shape[0], int(input_column.max()) + 1 if input_column.numel() else 0
    device = inputs.device
    if noise == "gaussian":
        return inputs + level * torch.randn(inputs.shape, generator=generator).to(device), None
    hit = (torch.rand((n_rows, n_columns), generator=generator) < level).to(device)
    hit_inputs = hit[:, input_column]  # (B, D): every position of a hit column
    if noise == "masking":
        masked = inputs.masked_fill(hit_inputs, 0.0)
        return (masked if indicator is None else masked.masked_fill(hit_inputs & indicator, 1.0)), hit
    if noise == "swap":
        donors = torch.randint(0, n_rows, (n_rows, n_columns), generator=generator).to(device)
        swapped = inputs.gather(0, donors[:, input_column])  # row donors[i, col(j)] at position j
        return torch.where(hit_inputs, swapped, inputs), hit
    raise ValueError(f"unknown noise {noise!r}")


def noisy_input(
    inputs: torch.Tensor,
    input_column: torch.Tensor,
    config: FitConfig,
    generator: torch.Generator,
    indicator: torch.Tensor | None = None,
) -> Corrupted:
    """The training input under the configured noise, each source column's loss weight, and (for
    ``masking``) the inputs it blanked, which a Gaussian start reads as holes.

    A corrupted column weighs 1 and an untouched one ``clean_weight``: below 1 the network
    learns most from predicting a column from the others, so its code carries what the columns
    share rather than copying each column through (the emphasised denoising of Vincent et al.,
    2010; ``--goal features`` uses 0.1). ``None``: every column weighs
    the same (``clean_weight=1``, Gaussian noise, or no noise).
    """
    if config.noise_level == 0:
        return Corrupted(inputs, None, None)
    noisy, hit = corruption(inputs, input_column, config.noise, config.noise_level, generator, indicator)
    hidden = hit[:, input_column] if hit is not None and config.noise == "masking" else None
    if hit is None or config.clean_weight == 1.0:
        return Corrupted(noisy, None, hidden)
    return Corrupted(noisy, torch.where(hit, 1.0, config.clean_weight), hidden)


KIND = Kind(name="denoising", corrupt=noisy_input)
