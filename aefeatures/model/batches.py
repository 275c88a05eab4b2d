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
    return _with_hidden(net, inputs, hidden, lambda batch, flags: net(batch, hidden=flags).recon)


def gaussian_fill(net: Autoencoder, inputs: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """The Gaussian start's part (n, D) of :func:`reconstruct`'s output (see ``Autoencoder.complete``)."""

    def linear(batch: torch.Tensor, flags: torch.Tensor) -> torch.Tensor:
        part = net.complete(batch, flags)[1]
        if part is None:
            raise ValueError("gaussian_fill needs a network with a Gaussian start")
        return part

    return _with_hidden(net, inputs, hidden, linear)


def correction(net: Autoencoder, inputs: np.ndarray, hidden: np.ndarray, common: np.ndarray) -> np.ndarray:
    """The network's own part (n, D) of :func:`reconstruct`'s output (``Autoencoder.correction``);
    ``common`` (D,) bool: the inputs ``hidden`` marks in every row."""
    shared = torch.from_numpy(common).to(next(net.parameters()).device)
    return _with_hidden(net, inputs, hidden, lambda batch, flags: net.correction(batch, flags, shared))


def _with_hidden(
    net: Autoencoder,
    inputs: np.ndarray,
    hidden: np.ndarray,
    call: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> np.ndarray:
    """``call(inputs, hidden)`` in calls of :data:`SCORE_ROWS` rows: the flags ride along as
    extra columns, so both are cut into the same calls."""
    joined = np.concatenate([inputs, hidden.astype(inputs.dtype)], axis=1)
    width = inputs.shape[1]
    return _in_calls(net, joined, lambda batch: call(batch[:, :width], batch[:, width:] > 0.5), width=width)


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
