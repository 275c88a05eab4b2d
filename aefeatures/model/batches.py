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

from aefeatures.nn.network import Autoencoder

SCORE_ROWS = 1024


def padded(rows: np.ndarray) -> np.ndarray:
    """``rows`` grown to :data:`SCORE_ROWS` rows with zeros (no copy when already full).

    >>> padded(np.ones((3, 2))).shape
    (1024, 2)
    """
    if len(rows) == SCORE_ROWS:
        return rows
    full = np.zeros((SCORE_ROWS, *rows.shape[1:]), rows.dtype)
    full[: len(rows)] = rows
    return full


def reconstruct(net: Autoencoder, inputs: np.ndarray, hidden: np.ndarray | None = None) -> np.ndarray:
    """The network's reconstruction (n, D) float32 of ``inputs`` (VAE: decoded from the mean):
    values for squared-error positions, logits for binary and categorical ones. ``hidden`` (n, D)
    bool: inputs blanked as missing beyond what the indicators say (see ``Autoencoder.forward``)."""
    if hidden is None:
        return _in_calls(net, inputs, lambda batch: net(batch).recon)
    return _with_hidden(net, inputs, hidden, lambda batch, flags, _: net(batch, hidden=flags).recon)


def gaussian_fill(net: Autoencoder, inputs: np.ndarray, hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Gaussian start's part (n, D) of :func:`reconstruct`'s output and each row's most likely
    component (n,) (``Autoencoder.start_and_component``)."""

    def both(batch: torch.Tensor, flags: torch.Tensor, _: torch.Tensor | None) -> torch.Tensor:
        part, chosen = net.start_and_component(batch, flags)
        return torch.cat([part, chosen.to(part.dtype).unsqueeze(1)], dim=1)

    width = inputs.shape[1]
    joined = _with_hidden(net, inputs, hidden, both, width=width + 1)
    return joined[:, :width], joined[:, width].astype(np.int64)


def correction(
    net: Autoencoder, inputs: np.ndarray, hidden: np.ndarray, common: np.ndarray, chosen: np.ndarray
) -> np.ndarray:
    """The network's own part (n, D) of :func:`reconstruct`'s output (``Autoencoder.correction``);
    ``common`` (D,) bool: the inputs ``hidden`` marks in every row; ``chosen`` (n,): each row's
    component to complete it under (from :func:`gaussian_fill`)."""
    shared = torch.from_numpy(common).to(next(net.parameters()).device)

    def network_part(batch: torch.Tensor, flags: torch.Tensor, rows: torch.Tensor | None) -> torch.Tensor:
        return net.correction(batch, flags, shared, None if rows is None else rows.long())

    return _with_hidden(net, inputs, hidden, network_part, per_row=chosen)


def _with_hidden(
    net: Autoencoder,
    inputs: np.ndarray,
    hidden: np.ndarray,
    call: Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None], torch.Tensor],
    per_row: np.ndarray | None = None,
    width: int | None = None,
) -> np.ndarray:
    """``call(inputs, hidden, per_row)`` in calls of :data:`SCORE_ROWS` rows, its output ``width``
    wide (default the inputs'): the flags and any per-row values (n,) ride along as extra
    columns, so all are cut into the same calls."""
    extra = [] if per_row is None else [per_row[:, None].astype(inputs.dtype)]
    joined = np.concatenate([inputs, hidden.astype(inputs.dtype), *extra], axis=1)
    d = inputs.shape[1]

    def split(batch: torch.Tensor) -> torch.Tensor:
        return call(batch[:, :d], batch[:, d : 2 * d] > 0.5, None if per_row is None else batch[:, 2 * d])

    return _in_calls(net, joined, split, width=width or d)


def decode_codes(net: Autoencoder, codes: np.ndarray) -> np.ndarray:
    """The decoder's output (n, D) float32 for bottleneck codes (n, k)."""
    return _in_calls(net, codes, net.decode, width=net.config.n_inputs)


def _in_calls(
    net: Autoencoder,
    rows: np.ndarray,
    call: Callable[[torch.Tensor], torch.Tensor],
    width: int | None = None,
) -> np.ndarray:
    device = next(net.parameters()).device
    out = np.empty((len(rows), width or rows.shape[1]), np.float32)
    net.eval()
    with torch.inference_mode():
        for begin in range(0, len(rows), SCORE_ROWS):
            part = rows[begin : begin + SCORE_ROWS]
            out[begin : begin + len(part)] = (
                call(torch.from_numpy(padded(part)).to(device))[: len(part)].cpu().numpy()
            )
    return out
