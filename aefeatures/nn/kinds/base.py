"""What a kind of autoencoder declares: a :class:`Kind`, and the network interface it builds on.

This module does not import :mod:`aefeatures.nn.network` (which reads the kinds): a kind sees
the network through :class:`Network` and its forward pass through :class:`NetOutput`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, Protocol

import torch
from torch import nn

from aefeatures.config import FitConfig, NetConfig

if TYPE_CHECKING:
    from aefeatures.nn.losses import ReconstructionLoss


class NetOutput(NamedTuple):
    """What one forward pass gives the loss and the kind's penalty."""

    recon: torch.Tensor  # (B, D) reconstruction: values for squared error, logits otherwise
    code: torch.Tensor  # (B, k) bottleneck; for a VAE, the posterior mean
    logvar: torch.Tensor | None  # (B, k) VAE posterior log-variance, else None
    hidden: tuple[torch.Tensor, ...]  # encoder hidden activations, for sparsity penalties


class Network(Protocol):
    """What a kind's penalty or solver uses of :class:`~aefeatures.nn.network.Autoencoder`."""

    config: NetConfig
    code_layer: nn.Linear
    output_layer: nn.Linear
    output_link: torch.Tensor | None

    def encoder_jacobian(self, x: torch.Tensor) -> torch.Tensor:
        """Jacobian of the code with respect to the input, (B, k, D)."""
        ...


class Corrupted(NamedTuple):
    """A kind's training input for a batch, and how its loss weighs the batch's columns."""

    inputs: torch.Tensor  # (B, D) what the network reads
    weights: torch.Tensor | None  # (B, C) weight of every source column's error; None: all equal
    hidden: torch.Tensor | None  # (B, D) bool: inputs blanked as a missing cell is; None: none


# (inputs (B, D), source column of every input position (D,), config, generator, whether each
# input position is a missingness indicator (D,)) -> the corrupted batch
Corrupt = Callable[[torch.Tensor, torch.Tensor, FitConfig, torch.Generator, torch.Tensor], Corrupted]
# (net, output, clean inputs, config, epoch, number of source columns) -> (weighted term, raw value)
Penalty = Callable[[Network, NetOutput, torch.Tensor, FitConfig, int, int], tuple[torch.Tensor, torch.Tensor]]
# (net, loss, batches of training inputs (B, D)) -> None: sets the network's weights
Solver = Callable[[Network, "ReconstructionLoss", Iterable[torch.Tensor]], None]


def no_warmup(config: FitConfig) -> int:
    """Epochs whose objective still changes: none."""
    return 0


@dataclass(frozen=True)
class Kind:
    """How one kind of autoencoder differs from a plain one (linear code, no noise, no penalty).

    Each module of :mod:`aefeatures.nn.kinds` defines its kind as ``KIND``; the default network
    sizes, input clipping and settings come from its line in :mod:`aefeatures.settings.kinds`.

    Examples
    --------
    >>> from torch import nn
    >>> Kind(name="tanh-code", code_activation=nn.Tanh).variational
    False
    """

    name: str
    code_activation: Callable[[], nn.Module] = nn.Identity
    variational: bool = False  # the code layer gives a posterior mean and log-variance
    output_link: bool = False  # 0/1 inputs are reconstructed linearly, then read as probabilities
    corrupt: Corrupt | None = None  # the training input and loss weights, drawn from the generator
    penalty: Penalty | None = None  # added to the training loss
    penalty_name: str | None = None  # history key of the raw penalty
    warmup_epochs: Callable[[FitConfig], int] = no_warmup  # epochs that count as best regardless
    solve: Solver | None = None  # closed form: sets the weights instead of training

    def __post_init__(self) -> None:
        if (self.penalty is None) != (self.penalty_name is None):
            raise ValueError(f"kind {self.name!r}: a penalty and its penalty_name come together")
