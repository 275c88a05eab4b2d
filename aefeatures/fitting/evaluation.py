"""The loss of rows under a network, as training monitors it: whole rows, or rows with cells
blanked where whole rows say nothing (a network with a Gaussian start)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from aefeatures.config import FitConfig
from aefeatures.fitting.rows import Batch
from aefeatures.nn.kinds.base import Corrupted, Kind
from aefeatures.nn.losses import ReconstructionLoss
from aefeatures.nn.network import Autoencoder

VALIDATION_SEED = 7_919  # the blanks of validation rows (see validation_blanks)
# (clean inputs (B, D), generator) -> the blanked batch
Blanking = Callable[[torch.Tensor, torch.Generator], Corrupted]


def validation_blanks(
    net: Autoencoder, kind: Kind, config: FitConfig, loss_fn: ReconstructionLoss
) -> Blanking | None:
    """How validation rows are blanked before they are scored, or ``None`` (scored as they are).

    A network with a Gaussian start reconstructs a present cell as itself plus a correction, so
    its loss on whole rows says nothing; it is validated on what it is for: the validation rows
    with cells blanked by its training noise (the same cells every epoch), the loss on their
    true values.
    """
    if not getattr(getattr(net, "config", None), "gaussian_inputs", 0) or kind.corrupt is None:
        return None
    corrupt = kind.corrupt
    return lambda clean, generator: corrupt(
        clean, loss_fn.input_column, config, generator, loss_fn.input_indicator
    )


@torch.no_grad()
def evaluate(
    net: Autoencoder,
    loss_fn: ReconstructionLoss,
    rows: Batch,
    blanks: Blanking | None = None,
    batch_size: int = 8192,
) -> float:
    """Mean row reconstruction error with deterministic (mean) codes; with ``blanks``, of the
    rows blanked by it (its generator seeded by the batch, so the same cells every call)."""
    net.eval()
    total = 0.0
    for begin in range(0, len(rows), batch_size):
        batch = rows.take(slice(begin, begin + batch_size))
        if blanks is None:
            output, weights = net(batch.inputs), None
        else:
            noisy = blanks(batch.inputs, torch.Generator().manual_seed(VALIDATION_SEED + begin))
            output, weights = net(noisy.inputs, hidden=noisy.hidden), noisy.weights
        loss = loss_fn(output.recon, batch.inputs, batch.observed, batch.targets, weights=weights)
        total += float(loss.sum())
    return total / max(len(rows), 1)


@torch.no_grad()
def row_losses(
    net: Autoencoder, loss_fn: ReconstructionLoss, rows: Batch, batch_size: int = 8192
) -> np.ndarray:
    """Each row's reconstruction error (n,) with deterministic (mean) codes; :func:`evaluate` is its mean."""
    net.eval()
    parts = []
    for begin in range(0, len(rows), batch_size):
        batch = rows.take(slice(begin, begin + batch_size))
        output = net(batch.inputs)
        parts.append(
            loss_fn(output.recon, batch.inputs, batch.observed, batch.targets).double().cpu().numpy()
        )
    return np.concatenate(parts) if parts else np.zeros(0)
