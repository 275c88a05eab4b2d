"""What each kind of autoencoder adds to plain reconstruction: input noise and penalties."""

from __future__ import annotations

import torch

from aefeatures.config import FitConfig
from aefeatures.nets import Autoencoder, NetOutput


def corrupt(inputs: torch.Tensor, config: FitConfig, generator: torch.Generator) -> torch.Tensor:
    """The network's training input: corrupted for ``denoising``, else ``inputs`` unchanged."""
    return inputs


def penalty(
    net: Autoencoder, output: NetOutput, inputs: torch.Tensor, config: FitConfig, epoch: int
) -> torch.Tensor:
    """The kind's regularisation term added to the reconstruction loss (0 for plain kinds)."""
    return output.recon.new_zeros(())
