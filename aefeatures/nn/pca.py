"""The linear baseline: PCA of the standardised input matrix, held by a linear Autoencoder.

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

import time
from collections.abc import Iterable

import torch

from aefeatures.fitting.rows import Batch, RowSource
from aefeatures.fitting.training import EpochCallback, History, evaluate
from aefeatures.nn.losses import ReconstructionLoss
from aefeatures.nn.network import LINK_LOG, LINK_LOGIT, Autoencoder

MIN_STD = 1e-6


@torch.no_grad()
def fit_pca(
    net: Autoencoder,
    loss_fn: ReconstructionLoss,
    train_rows: Batch | RowSource,
    valid_rows: Batch | None,
    batch_size: int,
    on_epoch: EpochCallback | None = None,
) -> History:
    """Set the weights of a ``pca`` network from the training rows; one "epoch" of history.

    Two passes over ``train_rows`` (in memory or streamed): moments, then the training error.
    """
    if net.output_link is None or net.encoder_layers or net.decoder_layers:
        raise ValueError("fit_pca needs a network built with kind='pca' and no hidden layers")
    started = time.perf_counter()
    generator = torch.Generator().manual_seed(0)  # batch order does not change the moments
    mean, std, axes = principal_axes(
        _moments(train_rows.batches(batch_size, generator)), net.config.latent_dim
    )
    net.code_layer.weight.copy_((axes / std[:, None]).T)  # (k, D): code = axes^T (x - mean) / std
    net.code_layer.bias.copy_(-(net.code_layer.weight @ mean))
    net.output_layer.weight.copy_(axes * std[:, None])  # (D, k)
    net.output_layer.bias.copy_(mean)
    link = torch.zeros_like(net.output_link)
    link[loss_fn.bce_pos] = LINK_LOGIT
    link[loss_fn.ce_index[loss_fn.ce_valid]] = LINK_LOG
    net.output_link.copy_(link)
    net.eval()
    total, seen = 0.0, 0
    for batch in train_rows.batches(batch_size, generator):
        total += float(loss_fn(net(batch.inputs).recon, batch.inputs, batch.observed, batch.targets).sum())
        seen += len(batch)
    record = {"epoch": 1.0, "train_loss": total / max(seen, 1)}
    if valid_rows is not None and len(valid_rows):
        record["valid_loss"] = evaluate(net, loss_fn, valid_rows)
    record["seconds"] = time.perf_counter() - started
    if on_epoch is not None:
        on_epoch(1, record)
    return History(epochs=[record], best_epoch=1, stopped_because="closed_form", seconds=record["seconds"])


def _moments(batches: Iterable[Batch]) -> tuple[int, torch.Tensor, torch.Tensor]:
    """Row count, sum (D,) and sum of outer products (D, D) of the inputs, in float64."""
    n, total, outer = 0, None, None
    for batch in batches:
        x = batch.inputs.to(torch.float64)
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
