"""``pca``, the linear baseline: PCA of the standardised inputs, held by a linear Autoencoder.

``kind="pca"`` uses the same preprocessing, loss, scoring, save/load and transform as every
other kind; only its weights come from an eigendecomposition instead of gradient descent:

- each input position is centred and divided by its training standard deviation, and the
  code is the projection on the top ``latent_dim`` principal axes (components beyond the
  input width are zero);
- the reconstruction is the usual rank-``latent_dim`` PCA reconstruction in the original
  input units, so numeric and datetime positions are scored by the same squared error;
- a 0/1 position (boolean, missingness indicator, one-hot level) is reconstructed linearly,
  then read as a probability clipped to [0.01, 0.99] and scored by the same cross-entropy
  as the other kinds (a one-hot block is renormalised over its clipped values). So PCA's
  ``ae_error`` is on the same scale as an autoencoder's and the two can be compared.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import torch

from aefeatures.nn.kinds.base import Kind, Network
from aefeatures.nn.links import output_links

if TYPE_CHECKING:
    from aefeatures.nn.losses import ReconstructionLoss
    from aefeatures.nn.network import Autoencoder

MIN_STD = 1e-6


@torch.no_grad()
def solve(net: Network, loss_fn: ReconstructionLoss, batches: Iterable[torch.Tensor]) -> None:
    """Set the weights of a ``pca`` network from one pass over batches of training inputs (B, D).

    :func:`aefeatures.fitting.training.train` calls it through ``KIND.solve`` and records the
    training error around it.
    """
    if net.output_link is None or net.config.hidden:
        raise ValueError("the pca solver needs a network built with kind='pca' and no hidden layers")
    mean, std, axes = principal_axes(_moments(batches), net.config.latent_dim)
    net.code_layer.weight.copy_((axes / std[:, None]).T)  # (k, D): code = axes^T (x - mean) / std
    net.code_layer.bias.copy_(-(net.code_layer.weight @ mean))
    net.output_layer.weight.copy_(axes * std[:, None])  # (D, k)
    net.output_layer.bias.copy_(mean)
    net.output_link.copy_(output_links(loss_fn, net.output_link))


@torch.no_grad()
def start_at_pca(net: Autoencoder, loss_fn: ReconstructionLoss, batches: Iterable[torch.Tensor]) -> None:
    """Set a network's linear path (``NetConfig.linear_path``) to PCA's solution on batches of
    training inputs and zero its last layers, so it reconstructs as ``pca`` does before training.

    Gradient descent then starts from PCA's reconstruction: the linear path keeps what PCA's
    plane explains and the network's own layers learn the rest.
    """
    if net.linear_encoder is None or net.linear_decoder is None or net.linear_link is None:
        raise ValueError("start_at_pca needs a network built with linear_path=True")
    mean, std, axes = principal_axes(_moments(batches), net.config.latent_dim)
    net.linear_encoder.weight.copy_((axes / std[:, None]).T)
    net.linear_encoder.bias.copy_(-(net.linear_encoder.weight @ mean))
    net.linear_decoder.weight.copy_(axes * std[:, None])
    net.linear_decoder.bias.copy_(mean)
    net.linear_link.copy_(output_links(loss_fn, net.linear_link))
    for layer in (net.code_layer, net.output_layer):
        layer.weight.zero_()
        layer.bias.zero_()


def _moments(batches: Iterable[torch.Tensor]) -> tuple[int, torch.Tensor, torch.Tensor]:
    """Row count, sum (D,) and sum of outer products (D, D) of the inputs, in float64."""
    n, total, outer = 0, None, None
    for inputs in batches:
        x = inputs.to(torch.float64)
        total = x.sum(0) if total is None else total + x.sum(0)
        outer = x.T @ x if outer is None else outer + x.T @ x
        n += x.shape[0]
    if total is None or outer is None:
        raise ValueError("pca needs at least one training row")
    return n, total, outer


def principal_axes(
    moments: tuple[int, torch.Tensor, torch.Tensor], k: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean (D,), standard deviation (D,) and the top ``k`` axes (D, k) of the standardised inputs.

    ``moments`` are the row count, sum and sum of outer products (see ``_moments``): the
    D x D correlation matrix is all that is decomposed, so memory does not grow with the
    rows. Each axis's sign is fixed (largest entry positive) so results are reproducible.
    """
    n, total, outer = moments
    mean = total / n
    covariance = outer / n - torch.outer(mean, mean)
    std = covariance.diagonal().clamp_min(0).sqrt()
    std = torch.where(std > MIN_STD, std, torch.ones_like(std))
    _, vectors = torch.linalg.eigh(covariance / torch.outer(std, std))  # ascending eigenvalues
    top = vectors.flip(1)[:, :k]
    signs = torch.sign(top.gather(0, top.abs().argmax(0, keepdim=True)))
    top = top * torch.where(signs == 0, torch.ones_like(signs), signs)
    if top.shape[1] < k:  # more components than inputs: the extra codes stay zero
        top = torch.cat([top, top.new_zeros(top.shape[0], k - top.shape[1])], dim=1)
    return mean.float(), std.float(), top.float()


KIND = Kind(name="pca", output_link=True, solve=solve)
