"""What each kind of autoencoder adds to plain reconstruction: input noise and penalties.

=============  ===========================================================================
kind           added to training
=============  ===========================================================================
sparse-l1      ``l1_weight`` x mean absolute code activation (ReLU code), plus each
               hidden layer's when ``l1_hidden``
sparse-kl      ``sparsity_weight`` x sum over code units of KL(rho || mean activation),
               rho = ``sparsity_target`` (sigmoid code)
denoising      input corrupted per source column (``noise``, ``noise_level``); the loss
               compares the reconstruction with the clean input
contractive    ``contractive_weight`` x mean squared Frobenius norm of the encoder Jacobian
variational    ``beta`` x KL(q(z|x) || N(0, I)) per row, divided by the number of source
               columns (the reconstruction error is a mean over columns), warmed up
               linearly over ``kl_warmup_epochs``
=============  ===========================================================================
"""

from __future__ import annotations

import torch

from aefeatures.config import FitConfig
from aefeatures.nn.network import Autoencoder, NetOutput

PENALTY_NAMES = {
    "sparse-l1": "l1",
    "sparse-kl": "sparsity_kl",
    "contractive": "jacobian_sq",
    "variational": "kl",
}


class Regularizer:
    """A kind's training-only additions: input corruption and the penalty term.

    Parameters
    ----------
    config
        The fit configuration (kind and regulariser parameters).
    input_column
        Source column of every input position (D,), e.g.
        :attr:`aefeatures.nn.losses.ReconstructionLoss.input_column`.
    n_columns
        Number of source columns.
    """

    def __init__(self, config: FitConfig, input_column: torch.Tensor, n_columns: int) -> None:
        self.config = config
        self.input_column = input_column
        self.n_columns = n_columns
        self.name = PENALTY_NAMES.get(config.kind)  # history key of the raw penalty, if any
        self.warmup_epochs = config.kl_warmup_epochs if config.kind == "variational" else 0

    def corrupt(self, inputs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The network's training input: corrupted for ``denoising``, else ``inputs`` itself."""
        if self.config.kind != "denoising" or self.config.noise_level == 0:
            return inputs
        return corrupt(inputs, self.input_column, self.config.noise, self.config.noise_level, generator)

    def penalty(
        self, net: Autoencoder, output: NetOutput, inputs: torch.Tensor, epoch: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The weighted term to add to the loss, and the raw (unweighted) value to record."""
        c, kind = self.config, self.config.kind
        if kind == "sparse-l1":
            layers = (*output.hidden, output.code) if c.l1_hidden else (output.code,)
            raw = sum((h.abs().mean() for h in layers), output.code.new_zeros(()))
            return c.l1_weight * raw, raw
        if kind == "sparse-kl":
            raw = sparsity_kl(output.code, c.sparsity_target)
            return c.sparsity_weight * raw, raw
        if kind == "contractive":
            raw = net.encoder_jacobian(inputs).square().sum((1, 2)).mean()
            return c.contractive_weight * raw, raw
        if kind == "variational" and output.logvar is not None:
            raw = gaussian_kl(output.code, output.logvar).mean()
            warm = min(1.0, epoch / self.warmup_epochs) if self.warmup_epochs else 1.0
            return c.beta * warm * raw / self.n_columns, raw
        zero = output.recon.new_zeros(())
        return zero, zero


def corrupt(
    inputs: torch.Tensor, input_column: torch.Tensor, noise: str, level: float, generator: torch.Generator
) -> torch.Tensor:
    """Corrupt a batch (B, D) per source column, never in place.

    ``gaussian`` adds N(0, level) to every input; ``masking`` zeroes a column's whole block
    (one-hot, indicator, datetime parts) with probability ``level``, which is how a missing
    cell is encoded; ``swap`` replaces a column's whole block with probability ``level`` by
    the same block of another random row of the batch (the Porto Seguro recipe).
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


def sparsity_kl(code: torch.Tensor, target: float) -> torch.Tensor:
    """Sum over units of KL(Bernoulli(target) || Bernoulli(mean activation over the batch))."""
    rho_hat = code.mean(0).clamp(1e-6, 1.0 - 1e-6)  # (k,)
    rho = torch.full_like(rho_hat, target)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


def gaussian_kl(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) per row (B,), in nats."""
    return 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar).sum(1)
