"""Network calls of a fixed shape: what makes a row's values independent of the rows beside it.

Every network call takes exactly :data:`SCORE_ROWS` rows (the last call padded with zero rows): a
CPU matrix product picks its kernel by the shape, so a row's values would otherwise depend on how
many rows were scored with it. With one shape (and MKL_CBWR set, see aefeatures/__init__.py)
they depend on the row alone.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from aefeatures.errors import ModelFileError
from aefeatures.nn.network import Autoencoder

SCORE_ROWS = 1024
# Rows per call of the Gaussian start's solves, which hold no network layer: their shape only has
# to be fixed too, and a larger call spends less per row on the many small operations of a solve
# (grouping rows by hole count, a Cholesky per group). 4,096 filled fastest on one thread (the
# first solve of 63k rows: 0.28 s, against 0.40 s at 1,024 and 0.44 s in one call).
SOLVE_ROWS = 4096


def padded(rows: np.ndarray, size: int = SCORE_ROWS) -> np.ndarray:
    """``rows`` grown to ``size`` rows with zeros (no copy when already full).

    >>> padded(np.ones((3, 2))).shape
    (1024, 2)
    """
    if len(rows) == size:
        return rows
    full = np.zeros((size, *rows.shape[1:]), rows.dtype)
    full[: len(rows)] = rows
    return full


def reconstruct(net: Autoencoder, inputs: np.ndarray, hidden: np.ndarray | None = None) -> np.ndarray:
    """The network's reconstruction (n, D) float32 of ``inputs`` (VAE: decoded from the mean):
    values for squared-error positions, logits for binary and categorical ones. ``hidden`` (n, D)
    bool: inputs blanked as missing beyond what the indicators say (see ``Autoencoder.forward``)."""
    if hidden is None:
        return _in_calls(net, (inputs,), lambda batch: net(batch).recon)
    return _in_calls(net, (inputs, hidden), lambda batch, flags: net(batch, hidden=flags).recon)


def gaussian_fill(net: Autoencoder, inputs: np.ndarray, hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Gaussian start's part (n, D) of :func:`reconstruct`'s output and each row's most likely
    component (n,) (``Autoencoder.start_and_component``)."""

    def both(batch: torch.Tensor, flags: torch.Tensor) -> torch.Tensor:
        part, chosen = net.start_and_component(batch, flags)
        return torch.cat([part, chosen.to(part.dtype).unsqueeze(1)], dim=1)

    width = inputs.shape[1]
    joined = _in_calls(net, (inputs, hidden), both, width=width + 1, size=SOLVE_ROWS)
    return joined[:, :width], joined[:, width].astype(np.int64)


def correction(
    net: Autoencoder, inputs: np.ndarray, hidden: np.ndarray, common: np.ndarray, chosen: np.ndarray
) -> np.ndarray:
    """The network's own part (n, D) of :func:`reconstruct`'s output: what it adds to the row
    completed by the Gaussian start (``Autoencoder.complete``, in calls of :data:`SOLVE_ROWS`
    rows), decoded from the mean code; ``common`` (D,) bool: the inputs ``hidden`` marks in
    every row; ``chosen`` (n,): each row's component to complete it under (from
    :func:`gaussian_fill`)."""
    shared = torch.from_numpy(common).to(next(net.parameters()).device)

    def completed(batch: torch.Tensor, flags: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        return net.complete(batch, flags, shared, rows)[0]

    rows = _in_calls(net, (inputs, hidden, chosen), completed, size=SOLVE_ROWS)
    return _in_calls(net, (rows,), lambda batch: net.decode(net.encode(batch).code))


def decode_codes(net: Autoencoder, codes: np.ndarray) -> np.ndarray:
    """The decoder's output (n, D) float32 for bottleneck codes (n, k)."""
    return _in_calls(net, (codes,), net.decode, width=net.config.n_inputs)


def _in_calls(
    net: Autoencoder,
    arrays: tuple[np.ndarray, ...],
    call: Callable[..., torch.Tensor],
    width: int | None = None,
    size: int = SCORE_ROWS,
) -> np.ndarray:
    """``call`` on the rows of ``arrays`` (each (n, ...), cut into the same calls of ``size``
    rows, the last padded), its output (n, ``width``) float32 (default the first array's width)."""
    device = next(net.parameters()).device
    first = arrays[0]
    out = np.empty((len(first), width or first.shape[1]), np.float32)
    net.eval()
    with torch.inference_mode():
        for begin in range(0, len(first), size):
            parts = [torch.from_numpy(padded(a[begin : begin + size], size)).to(device) for a in arrays]
            rows = min(size, len(first) - begin)
            out[begin : begin + rows] = call(*parts)[:rows].cpu().numpy()
    require_finite(out)
    return out


def require_finite(*outputs: np.ndarray) -> None:
    """Refuse network outputs (each (n, ...)) with a NaN or infinity in any row: finite weights
    can still overflow (a manifest and weights edited and resealed), and nothing may write that.

    >>> require_finite(np.ones((2, 3)), np.array([1.0, np.inf]))
    Traceback (most recent call last):
    aefeatures.errors.ModelFileError: the model produced non-finite values for 1 row(s): its weights or manifest are damaged.
    Hint: re-fit the model, or restore its directory from the original copy
    """
    bad = np.zeros(len(outputs[0]), bool)
    for values in outputs:
        bad |= ~np.isfinite(values).all(axis=tuple(range(1, values.ndim)))
    if bad.any():
        raise ModelFileError(
            f"the model produced non-finite values for {int(bad.sum()):,} row(s): its weights or manifest are damaged.",
            hint="re-fit the model, or restore its directory from the original copy",
        )
