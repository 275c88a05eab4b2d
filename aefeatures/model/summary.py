"""Small summaries of the training rows, stored in the manifest at fit for the report to draw.

A histogram of ``ae_error``, the mean error of each feature, a 2-D projection of a sample
of embeddings and the most outlying training rows with their worst columns (value, expected
value, error): enough for :mod:`aefeatures.report.html` to render a page from the model
directory alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from aefeatures.features.preprocessor import Preprocessor
from aefeatures.model.scoring import Scores

HISTOGRAM_BINS = 40
PROJECTION_ROWS = 400
OUTLYING_ROWS = 10  # training rows listed in the report
WORST_COLUMNS = 3  # columns shown per listed row


def summarize_fit(scores: Scores, columns: Sequence[str], threshold: float, seed: int) -> dict[str, Any]:
    """Summaries of the training rows that the report draws; small enough for the manifest.

    Parameters
    ----------
    scores
        Embeddings and errors of the training rows.
    columns
        Feature names, in the order of ``scores.column_errors``.
    threshold
        The model's ``ae_error`` outlier threshold.
    seed
        Seed of the row sample behind the projection.
    """
    if scores.column_errors is None:
        raise ValueError("summarize_fit needs the per-column errors of the training rows")
    return {
        "error_histogram": _error_histogram(scores.errors, threshold),
        "feature_errors": dict(zip(columns, _rounded(scores.column_errors.mean(axis=0)), strict=True)),
        "projection": _projection(scores.codes, scores.errors, threshold, seed),
    }


def outlying_rows(features: pl.DataFrame, preprocessor: Preprocessor, scores: Scores) -> list[dict[str, Any]]:
    """The :data:`OUTLYING_ROWS` training rows with the largest ``ae_error``, each with its
    :data:`WORST_COLUMNS` worst columns: the value, the model's expected value and the column's error.

    Values are text (``None`` for a missing cell), as a user reads them in the report.
    """
    if scores.column_errors is None or scores.recon is None or not len(scores.errors):
        return []
    top = np.argsort(-scores.errors, kind="stable")[:OUTLYING_ROWS]
    expected = preprocessor.decode(scores.recon[top])
    listed = []
    for place, row in enumerate(top.tolist()):
        worst = np.argsort(-scores.column_errors[row], kind="stable")[:WORST_COLUMNS]
        columns = [
            {
                "column": preprocessor.columns[c],
                "value": _text(features, row, preprocessor.columns[c]),
                "expected": _text(expected, place, preprocessor.columns[c]),
                "error": float(f"{scores.column_errors[row, c]:.4g}"),
            }
            for c in worst.tolist()
        ]
        listed.append({"row": row, "error": float(f"{scores.errors[row]:.4g}"), "columns": columns})
    return listed


def _text(frame: pl.DataFrame, row: int, column: str) -> str | None:
    series = frame.get_column(column)
    if series.dtype.is_temporal():  # polars' text, since Python holds only the years 1 to 9999
        return series.slice(row, 1).cast(pl.String)[0]
    value = series[row]
    if value is None or (isinstance(value, float) and value != value):
        return None
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _error_histogram(errors: np.ndarray, threshold: float) -> dict[str, Any]:
    # The top 0.5% is folded into the last bin so a few huge errors do not squash the plot.
    upper = max(float(np.quantile(errors, 0.995)), threshold * 1.05, 1e-12) if errors.size else 1.0
    edges = np.linspace(0.0, upper, HISTOGRAM_BINS + 1)
    counts, _ = np.histogram(np.clip(errors, 0.0, upper), edges)
    return {"edges": _rounded(edges), "counts": counts.tolist(), "above_range": int((errors > upper).sum())}


def _projection(codes: np.ndarray, errors: np.ndarray, threshold: float, seed: int) -> dict[str, Any]:
    n, k = codes.shape
    rows = np.sort(np.random.default_rng(seed).choice(n, size=min(n, PROJECTION_ROWS), replace=False))
    sample = codes[rows].astype(np.float64)
    flagged = (errors[rows] > threshold).tolist()
    if k == 1 or len(rows) < 2:
        return {
            "x": _rounded(sample[:, 0]),
            "y": _rounded(errors[rows]),
            "flagged": flagged,
            "x_label": "z0",
            "y_label": "ae_error",
        }
    centred = sample - sample.mean(axis=0)
    _, singular, components = np.linalg.svd(centred, full_matrices=False)
    xy = centred @ components[:2].T  # (rows, 2)
    share = singular**2 / max(float((singular**2).sum()), 1e-300)
    labels = [f"PC{i + 1} ({100 * share[i]:.0f}% of variance)" for i in range(2)]
    return {
        "x": _rounded(xy[:, 0]),
        "y": _rounded(xy[:, 1]),
        "flagged": flagged,
        "x_label": labels[0],
        "y_label": labels[1],
    }


def _rounded(values: np.ndarray) -> list[float]:
    return [float(f"{v:.5g}") for v in np.asarray(values, dtype=np.float64).tolist()]


def training_summary(metadata: dict[str, Any]) -> dict[str, Any]:
    """How training went, from a model's metadata: rows, epochs, why it stopped, the last epoch.

    ``converged`` is true only when the stopping rule (or the closed form) ended training: a limit
    (epochs, steps, time) is not convergence, whatever a model written before said.

    >>> history = {"epochs": [{"epoch": 1, "loss": 0.5}], "stopped_because": "max_epochs", "converged": True}
    >>> summary = training_summary({"history": history, "fingerprint": {"rows": 40}})
    >>> summary["rows"], summary["epochs_run"], summary["converged"]
    (40, 1, False)
    """
    history = metadata.get("history", {})
    epochs = history.get("epochs", [])
    return {
        "rows": metadata.get("fingerprint", {}).get("rows"),
        "epochs_run": len(epochs),
        "best_epoch": history.get("best_epoch"),
        "stopped_because": history.get("stopped_because"),
        "epoch_budget": history.get("epoch_budget"),
        "converged": history.get("converged")  # None: a model written before it was recorded
        and history.get("stopped_because") in ("early_stopping", "closed_form"),
        "still_improving": history.get("still_improving"),
        "final": epochs[-1] if epochs else None,
        "seconds": history.get("seconds"),
    }
