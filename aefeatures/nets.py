"""The autoencoder network: pure torch, built from a :class:`~aefeatures.config.NetConfig`."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from aefeatures.config import NetConfig

CODE_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "undercomplete": nn.SiLU,
    "sparse-l1": nn.ReLU,
    "sparse-kl": nn.Sigmoid,
}


class NetOutput(NamedTuple):
    """What one forward pass gives the loss and the regularisers."""

    recon: torch.Tensor  # (B, D) reconstruction: values for squared error, logits otherwise
    code: torch.Tensor  # (B, k) bottleneck; for a VAE, the posterior mean
    logvar: torch.Tensor | None  # (B, k) VAE posterior log-variance, else None
    hidden: tuple[torch.Tensor, ...]  # encoder hidden activations, for sparsity penalties


class Autoencoder(nn.Module):
    """MLP encoder ``D -> hidden... -> k`` and mirrored decoder ``k -> ...hidden -> D``."""

    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.config = config
        widths = [config.n_inputs, *config.hidden]
        self.encoder_layers = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:])
        )
        self.variational = config.kind == "variational"
        code_width = config.latent_dim * (2 if self.variational else 1)
        self.code_layer = nn.Linear(widths[-1], code_width)
        self.code_activation = CODE_ACTIVATIONS.get(config.kind, nn.Identity)()
        back = [config.latent_dim, *reversed(config.hidden)]
        self.decoder_layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(back[:-1], back[1:]))
        self.output_layer = nn.Linear(back[-1], config.n_inputs)
        self.activation = nn.SiLU()

    def encode(self, x: torch.Tensor) -> NetOutput:
        """Encode ``x`` (B, D); ``recon`` of the result is left empty."""
        hidden = []
        h = x
        for layer in self.encoder_layers:
            h = self.activation(layer(h))
            hidden.append(h)
        code = self.code_layer(h)  # (B, k) or (B, 2k) for a VAE
        logvar = None
        if self.variational:
            code, logvar = code.chunk(2, dim=1)
        return NetOutput(x.new_empty(0), self.code_activation(code), logvar, tuple(hidden))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Decode codes (B, k) into reconstructions (B, D)."""
        h = z
        for layer in self.decoder_layers:
            h = self.activation(layer(h))
        return self.output_layer(h)

    def forward(self, x: torch.Tensor, *, sample: bool = False) -> NetOutput:
        """Encode and decode; ``sample`` draws the VAE latent instead of using its mean."""
        encoded = self.encode(x)
        z = encoded.code
        if sample and encoded.logvar is not None:
            z = z + torch.randn_like(z) * torch.exp(0.5 * encoded.logvar)
        return encoded._replace(recon=self.decode(z))
