"""Scoring rows with a trained network, and the training-error calibration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from aefeatures.devices import warn_if_scores_depend_on_the_batch
from aefeatures.features.preprocessor import Encoded, Preprocessor
from aefeatures.features.types import Term
from aefeatures.model.batches import SCORE_ROWS, padded, require_finite
from aefeatures.model.filling import as_outputs, fill_holes
from aefeatures.nn.losses import ReconstructionLoss, row_errors
from aefeatures.nn.network import Autoencoder

N_QUANTILES = 1001


@dataclass(frozen=True)
class Scores:
    """What the network says about encoded rows."""

    codes: np.ndarray  # (n, k) float32
    errors: np.ndarray  # (n,) float64
    column_errors: np.ndarray | None = None  # (n, C) float64, when asked for
    recon: np.ndarray | None = None  # (n, D) float32 reconstructions, when asked for


@dataclass(frozen=True)
class Calibration:
    """Training-error distribution: the outlier threshold and the percentile lookup."""

    threshold: float
    quantiles: tuple[float, ...]  # N_QUANTILES error values at evenly spaced levels 0..100

    @classmethod
    def from_errors(cls, errors: np.ndarray, contamination: float) -> Calibration:
        """Threshold at the ``1 - contamination`` quantile of the training errors."""
        quantiles = np.quantile(errors, np.linspace(0.0, 1.0, N_QUANTILES))
        threshold = np.quantile(errors, 1.0 - contamination) if contamination > 0 else errors.max()
        return cls(threshold=float(threshold), quantiles=tuple(float(q) for q in quantiles))

    def percentile(self, errors: np.ndarray) -> np.ndarray:
        """Percentile (0-100) of each error among the training rows.

        An error equal to many training rows' (a table that hardly varies) gets the middle of
        their percentiles: 50 when every training row has it, not 100.

        The errors are looked up in sorted order: ``np.interp`` then finds each one next to
        the previous one instead of by a fresh binary search (4x faster, same values).
        """
        quantiles, levels = np.asarray(self.quantiles), np.linspace(0.0, 100.0, len(self.quantiles))
        order = np.argsort(errors, kind="stable")
        result = np.empty(len(errors), np.float64)
        result[order] = np.interp(errors[order], quantiles, levels)
        if np.any(np.diff(quantiles) == 0):  # tied training errors: the middle of the tie, not its top
            lowest = np.interp(-errors, -quantiles[::-1], levels[::-1])
            result = (result + lowest) / 2
        return result


def score_rows(
    net: Autoencoder,
    loss_fn: ReconstructionLoss,
    terms: Sequence[Term],
    encoded: Encoded,
    *,
    column_errors: bool = True,
    recon: bool = False,
) -> Scores:
    """Embeddings (VAE: means) and errors, in batches, without gradients.

    Missing cells are first filled with the model's own guesses (:func:`fill_holes`), so a row
    with holes is scored as the plausible row it stands for, and the error of its observed cells
    is not blamed on the holes. Batch-invariant on the CPU: a row gets bitwise the same values
    scored alone, in a chunk or in the whole table (see :data:`SCORE_ROWS`).
    ``column_errors=False`` skips the (n, C) per-column errors (the transform needs them only
    for ``ae_error__<column>``); ``recon=True`` keeps the reconstructions (for expected values;
    a missing cell's is its fill).
    """
    device = next(net.parameters()).device
    if device.type == "cpu":
        warn_if_scores_depend_on_the_batch()
    n = encoded.n_rows
    inputs = fill_holes(net, terms, encoded.inputs, encoded.observed)
    codes = np.empty((n, net.config.latent_dim), np.float32, order="F")  # columns become Series
    errors = np.empty(n, np.float64)
    per_column = np.empty((n, encoded.observed.shape[1]), np.float64) if column_errors else None
    recons = np.empty(inputs.shape, np.float32) if recon else None
    net.eval()
    with torch.inference_mode():
        for begin in range(0, n, SCORE_ROWS):
            rows, size = slice(begin, begin + SCORE_ROWS), min(SCORE_ROWS, n - begin)
            shown, truth, observed, targets = (
                torch.from_numpy(padded(part[rows])).to(device)
                for part in (inputs, encoded.inputs, encoded.observed, encoded.targets)
            )
            output = net(shown)  # the row with its holes filled; the loss compares with the row as it came
            row_columns, counts = loss_fn.column_errors(output.recon, truth, observed, targets)
            codes[rows] = output.code[:size].cpu().numpy()
            errors[rows] = row_errors(row_columns, counts)[:size].cpu().numpy()
            if per_column is not None:
                per_column[rows] = row_columns[:size].cpu().numpy()
            if recons is not None:
                recons[rows] = output.recon[:size].cpu().numpy()
    require_finite(codes, errors, *(() if recons is None else (recons,)))
    if recons is not None:
        _fills_for_holes(recons, as_outputs(inputs, terms), encoded.observed, terms)
    return Scores(codes=codes, errors=errors, column_errors=per_column, recon=recons)


def _fills_for_holes(
    recon: np.ndarray, filled: np.ndarray, observed: np.ndarray, terms: Sequence[Term]
) -> None:
    """A missing cell's reconstruction is its fill (what ``impute`` writes), in place."""
    for term in terms:
        rows = ~observed[:, term.column]
        if not term.is_indicator and rows.any():
            recon[rows, term.start : term.start + term.width] = filled[
                rows, term.start : term.start + term.width
            ]


def calibrated_scores(
    net: Autoencoder, preprocessor: Preprocessor, encoded: Encoded, *, recon: bool = False
) -> tuple[Preprocessor, Scores]:
    """Scores of the training rows after scaling each column's error by its typical value.

    Returns the rescaled preprocessor (what the model stores and scores with) and the
    rescaled scores (with the reconstructions when ``recon``, for the fitted model's sampling
    state and report); see :meth:`Preprocessor.with_error_scales`.
    """
    device = next(net.parameters()).device
    n_columns = len(preprocessor.specs)
    first = ReconstructionLoss(preprocessor.terms, preprocessor.baselines, n_columns).to(device)
    column_errors = score_rows(net, first, preprocessor.terms, encoded).column_errors
    assert column_errors is not None
    rescaled = preprocessor.with_error_scales(column_errors)
    loss_fn = ReconstructionLoss(rescaled.terms, rescaled.baselines, n_columns).to(device)
    return rescaled, score_rows(net, loss_fn, rescaled.terms, encoded, recon=recon)
