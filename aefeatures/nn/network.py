"""The autoencoder network: pure torch, built from a :class:`~aefeatures.config.NetConfig`."""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from aefeatures.config import NetConfig
from aefeatures.nn import kinds
from aefeatures.nn.conditional import GaussianStart
from aefeatures.nn.kinds.base import NetOutput
from aefeatures.nn.links import linear_to_logits


class Autoencoder(nn.Module):
    """MLP encoder ``D -> hidden... -> k`` and mirrored decoder ``k -> ...hidden -> D``.

    The kind (:func:`aefeatures.nn.kinds.get`) decides the code activation, whether the code
    layer also gives a VAE log-variance, and whether an ``output_link`` buffer turns a linear
    reconstruction of 0/1 inputs into logits (``pca``: no hidden layers, linear code).

    With ``config.linear_path`` a linear encoder and decoder sit beside the network: the code is
    ``linear_encoder(x) + code_layer(...)`` and the reconstruction ``link(linear_decoder(z)) +
    output_layer(...)``, the linear part read through ``linear_link`` as ``pca``'s is.
    :func:`aefeatures.nn.kinds.pca.start_at_pca` sets the linear part to PCA's solution and
    zeroes the network's last layers, so training starts from PCA's reconstruction and learns
    what its plane misses.

    With ``config.gaussian_inputs`` (``gaussian_start``) the network reads each hole as its
    conditional mean under a Gaussian mixture of the training rows (:mod:`aefeatures.nn.conditional`)
    and its output is a correction added to that completed row (a skip connection), so a fill
    starts at the mixture's and a present cell is reconstructed as itself plus the correction.
    """

    output_link: torch.Tensor | None
    linear_link: torch.Tensor | None

    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        kind = kinds.get(config.kind)
        self.config = config
        widths = [config.n_inputs, *config.hidden]
        self.encoder_layers = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
        self.variational = kind.variational
        code_width = config.latent_dim * (2 if self.variational else 1)
        self.code_layer = nn.Linear(widths[-1], code_width)
        self.code_activation = kind.code_activation()
        back = [config.latent_dim, *reversed(config.hidden)]
        self.decoder_layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(back[:-1], back[1:], strict=True))
        self.output_layer = nn.Linear(back[-1], config.n_inputs)
        self.activation = nn.SiLU()
        link = torch.zeros(config.n_inputs, dtype=torch.int8) if kind.output_link else None
        self.register_buffer("output_link", link)  # None is not saved: only a linked kind has it
        self.linear_encoder = nn.Linear(config.n_inputs, config.latent_dim) if config.linear_path else None
        self.linear_decoder = nn.Linear(config.latent_dim, config.n_inputs) if config.linear_path else None
        linear_link = torch.zeros(config.n_inputs, dtype=torch.int8) if config.linear_path else None
        self.register_buffer("linear_link", linear_link)
        self.gaussian = GaussianStart(config.gaussian_inputs) if config.gaussian_inputs else None

    def encode(self, x: torch.Tensor) -> NetOutput:
        """Encode ``x`` (B, D); ``recon`` of the result is left empty."""
        hidden = []
        h = self.clip(x)
        for layer in self.encoder_layers:
            h = self.activation(layer(h))
            hidden.append(h)
        code = self.code_layer(h)  # (B, k) or (B, 2k) for a VAE
        if self.linear_encoder is not None:
            code = code + self.linear_encoder(self.clip(x))
        logvar = None
        if self.variational:
            code, logvar = code.chunk(2, dim=1)
        return NetOutput(x.new_empty(0), self.code_activation(code), logvar, tuple(hidden))

    def clip(self, x: torch.Tensor) -> torch.Tensor:
        """What the encoder sees: inputs clipped to +/- ``input_clip`` (the loss uses ``x``)."""
        limit = self.config.input_clip
        return x if limit is None else x.clamp(-limit, limit)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Decode codes (B, k) into reconstructions (B, D)."""
        h = z
        for layer in self.decoder_layers:
            h = self.activation(layer(h))
        recon = self.output_layer(h)
        if self.output_link is not None:
            recon = linear_to_logits(recon, self.output_link)
        if self.linear_decoder is not None and self.linear_link is not None:
            recon = recon + linear_to_logits(self.linear_decoder(z), self.linear_link)
        return recon

    def forward(
        self, x: torch.Tensor, *, sample: bool = False, hidden: torch.Tensor | None = None
    ) -> NetOutput:
        """Encode and decode; ``sample`` draws the VAE latent instead of using its mean.

        ``hidden`` (B, D) bool marks inputs that are missing beyond those their missingness
        indicator marks (the training noise's blanks, a fill's hidden columns): with a Gaussian
        start they are read as holes too; without one it is not needed (a hole is its zeros).
        """
        x, start = self.complete(x, hidden)
        encoded = self.encode(x)
        z = encoded.code
        if sample and encoded.logvar is not None:
            z = z + torch.randn_like(z) * torch.exp(0.5 * encoded.logvar)
        recon = self.decode(z)
        return encoded._replace(recon=recon if start is None else recon + self._start_part(x, start))

    def complete(
        self,
        x: torch.Tensor,
        hidden: torch.Tensor | None = None,
        common: torch.Tensor | None = None,
        chosen: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x`` with each hole at its Gaussian conditional mean, and the completed value inputs
        (B, V) (:meth:`_start_part` makes them the Gaussian start's part of the reconstruction).
        Without a Gaussian start: ``x`` as it is, and ``None``. ``common`` (D,) bool:
        inputs ``hidden`` marks in every row (a fill's view), filled the faster exact way;
        ``chosen`` (B,): with ``common``, each row's one component (see ``GaussianStart.forward``)."""
        if self.gaussian is None:
            return x, None
        shared = None if common is None else common[self.gaussian.positions]
        start = self.gaussian(x, self.gaussian.holes(x, hidden), shared, chosen)
        return x.index_copy(1, self.gaussian.positions, start), start

    def start_and_component(
        self, x: torch.Tensor, hidden: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The Gaussian start's part of the reconstruction (B, D) (:meth:`_start_part` of the
        completed values) and each row's most likely component (B,) given its present inputs."""
        if self.gaussian is None:
            raise ValueError("start_and_component needs a network with a Gaussian start")
        start, chosen = self.gaussian.fill_and_choose(x, self.gaussian.holes(x, hidden))
        return self._start_part(x, start), chosen

    def _start_part(self, x: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
        """The completed values ``start`` (B, V) as the Gaussian start's part of the output (B, D)."""
        if self.gaussian is None:
            raise ValueError("a network without a Gaussian start has no start part")
        return x.new_zeros(x.shape).index_copy(
            1, self.gaussian.positions, linear_to_logits(start, self.gaussian.link)
        )

    def encoder_jacobian(self, x: torch.Tensor) -> torch.Tensor:
        """Exact Jacobian of the code (VAE: the mean) with respect to the input, (B, k, D).

        Built layer by layer from the code side, ``J = a'(c) W_c ... a'(h_1) W_1``: k rows
        are carried back through the network, so it costs about k encoder passes and stays
        differentiable, which is what the contractive penalty needs.
        """
        k = self.config.latent_dim
        slopes = []
        h = self.clip(x)
        for layer in self.encoder_layers:
            pre = layer(h)  # (B, H)
            slopes.append(_slope(self.activation, pre))
            h = self.activation(pre)
        pre = self.code_layer(h)[:, :k]  # (B, k): the mean for a VAE
        if self.linear_encoder is not None:
            pre = pre + self.linear_encoder(self.clip(x))
        code_slope = _slope(self.code_activation, pre).unsqueeze(-1)  # (B, k, 1)
        jac = code_slope * self.code_layer.weight[:k]  # (B, k, H)
        for layer, slope in zip(reversed(self.encoder_layers), reversed(slopes), strict=True):
            jac = (jac * slope.unsqueeze(1)) @ cast(nn.Linear, layer).weight  # (B, k, H_previous)
        if self.linear_encoder is not None:
            jac = jac + code_slope * self.linear_encoder.weight  # (B, k, D)
        if self.config.input_clip is not None:  # a clipped input does not move the code
            jac = jac * (x.abs() < self.config.input_clip).to(jac.dtype).unsqueeze(1)
        return jac


def _slope(activation: nn.Module, pre: torch.Tensor) -> torch.Tensor:
    """Elementwise derivative of ``activation`` at ``pre``."""
    if isinstance(activation, nn.SiLU):
        s = torch.sigmoid(pre)
        return s * (1.0 + pre * (1.0 - s))
    if isinstance(activation, nn.Sigmoid):
        s = torch.sigmoid(pre)
        return s * (1.0 - s)
    if isinstance(activation, nn.ReLU):
        return (pre > 0).to(pre.dtype)
    if isinstance(activation, nn.Identity):
        return torch.ones_like(pre)
    raise TypeError(f"no derivative known for {type(activation).__name__}")
