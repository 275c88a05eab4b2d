"""``aefeatures compare``: kinds x bottleneck sizes plus PCA on one split, ranked.

The data is read, validated and preprocessed once by the fit pipeline
(:mod:`aefeatures.fitting.pipeline`); every candidate trains on the same training rows (in
memory or streamed from Parquet) and is scored on the same validation rows, so the numbers
are comparable, and the winner kept is the very network that was ranked. The candidates are
explored by successive halving (:mod:`aefeatures.explore.grid`); finished runs are ranked,
pruned, failed and skipped ones listed below them (:mod:`aefeatures.explore.ranking`). With a
label, baselines a user would try instead are scored beside them
(:mod:`aefeatures.explore.baselines`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandera.polars as pa
import polars as pl

from aefeatures.config import KINDS, FitConfig, resolve_sizes
from aefeatures.errors import ConfigError, DataError
from aefeatures.explore.baselines import isolation_forest
from aefeatures.explore.grid import run_grid
from aefeatures.explore.ranking import (
    LABEL_MEASURES,
    LOSS_MEASURES,
    RANK_BY,
    RENAMED,
    default_rank_by,
    goal_for,
    rank,
    relate_to_pca,
)
from aefeatures.explore.results import Comparison, Run
from aefeatures.fitting.pipeline import Prepared, finish, prepare
from aefeatures.fitting.sources import data_rows, fit_config
from aefeatures.io.sinks import check_output
from aefeatures.io.sources import DataLike, is_path
from aefeatures.nn.kinds import NEURAL_KINDS
from aefeatures.settings import SETTINGS, uses

DEFAULT_KINDS = NEURAL_KINDS
_DECLARED = frozenset(setting.name for setting in SETTINGS)
MIN_VALID_ROWS = 20
_MEASURE_NAMES = {
    "valid_loss": "valid_loss (the mean validation loss; 1.0 = predicting each column's average)",
    "robust_loss": "robust_loss (the mean loss of the best 90% of validation rows)",
    "roc_auc": "ROC-AUC",
    "average_precision": "average precision",
}


def default_sizes(n_columns: int) -> tuple[int, ...]:
    """Half, once and twice the default bottleneck for ``n_columns`` source columns."""
    base = resolve_sizes(FitConfig(), n_columns, n_columns).latent_dim
    return tuple(sorted({max(1, base // 2), base, base * 2}))


def compare(
    data: DataLike,
    *,
    kinds: Sequence[str] = DEFAULT_KINDS,
    sizes: Sequence[int] | None = None,
    max_seconds: float = 300.0,
    label: str | None = None,
    rank_by: str | None = None,
    goal: str | None = None,
    schema: str | Path | pa.DataFrameSchema | None = None,
    keep_best: str | Path | None = None,
    overwrite: bool = False,
    on_run: Callable[[Run], None] | None = None,
    stream: bool | None = None,
    sample: int | None = None,
    prune: bool = True,
    **params: Any,
) -> Comparison:
    """Train every kind at every bottleneck size plus PCA, on one split, and rank them.

    Parameters
    ----------
    data
        What :func:`aefeatures.fit` accepts.
    kinds
        Neural kinds to train; PCA runs at every size whatever this says.
    sizes
        Bottleneck sizes; default :func:`default_sizes` of the feature count.
    max_seconds
        Time budget of all neural runs together; runs that find it spent are ``skipped``.
    label
        Boolean or 0/1 column to score ``ae_error`` of all rows against (ROC-AUC, average
        precision); it is never a feature. With it, the ranking is by ``roc_auc`` unless
        ``rank_by`` says otherwise, and an ``IsolationForest`` baseline is scored beside the grid.
    rank_by
        ``valid_loss`` or ``robust_loss`` (ascending), ``roc_auc`` or ``average_precision``
        (descending, with ``label``); default ``roc_auc`` with a label, else ``valid_loss``.
    goal
        What the candidates are trained for (:data:`~aefeatures.goals.GOALS`); by default the
        one ``rank_by`` measures (:func:`~aefeatures.explore.ranking.goal_for`).
    keep_best
        Save the winner (the best finished run) here as a normal model directory: the ranked
        network itself, calibrated like any fit. Nothing is saved when no candidate finished
        (``best`` is then ``None``).
    prune
        Successive halving: every candidate trains briefly, the best third goes on, until one has
        the whole budget. ``False`` trains every candidate to its end.
    stream, sample
        As for :func:`aefeatures.fit`.
    **params
        Other :class:`~aefeatures.config.FitConfig` fields (``epochs``, ``seed``,
        ``columns``, ``exclude``, ``device``, ``threads``, regulariser weights, ...).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"a": [float(i % 7) for i in range(200)], "b": [float(i % 5) for i in range(200)]})
    >>> result = compare(df, kinds=["deep"], sizes=[1], epochs=2, threads=1)
    >>> sorted((run.kind, run.latent_dim, run.status) for run in result.runs)
    [('deep', 1, 'finished'), ('pca', 1, 'finished')]
    >>> sorted(result.fit_settings)
    ['epochs', 'goal', 'kind', 'latent_dim', 'threads']
    """
    started = time.perf_counter()
    rank_by = RENAMED.get(rank_by, rank_by) if rank_by is not None else default_rank_by(label)
    _check_choices(kinds, sizes, rank_by, label)
    goal = goal or goal_for(rank_by)
    if goal == "imputation":  # its networks copy present cells: a reconstruction loss ranks nothing
        raise ConfigError(
            "compare ranks models by how they reconstruct rows or rank a label, which says nothing "
            "of how an imputation model fills cells (its network copies present cells).",
            hint="compare another goal; to judge fills, hide cells you know and score model.impute "
            "on them (benchmarks/imputation.py does this against other imputers)",
        )
    base = _base_config({**params, "goal": goal}, label, [*kinds, "pca"])
    if keep_best is not None:
        check_output(keep_best, overwrite, kind="model", inputs=[data] if is_path(data) else [])
    rows = data_rows(data, base, schema, stream=stream, sample=sample, keep=[label] if label else [])
    labels = _labels(rows.kept, label) if rows.kept is not None and label is not None else None
    prepared = prepare(rows, base)
    n_valid = int(prepared.valid_index.size)
    if n_valid < MIN_VALID_ROWS:
        raise DataError(
            f"compare needs at least {MIN_VALID_ROWS} validation rows; "
            f"{prepared.encoded.n_rows} rows give {n_valid}.",
            hint="use more rows, or a larger validation_fraction",
        )
    grid = list(sizes) if sizes else list(default_sizes(len(prepared.preprocessor.specs)))
    neural = [k for k in kinds if k in NEURAL_KINDS]
    runs, trained = run_grid(
        prepared, base, neural, grid, started + max_seconds, labels, on_run, rank_by, prune
    )
    relate_to_pca(runs)
    comparison = Comparison(
        runs=rank(runs, rank_by),
        rank_by=rank_by,
        ranking=_ranking_sentence(rank_by, label, labels),
        rows=prepared.encoded.n_rows,
        train_rows=prepared.n_train,
        valid_rows=n_valid,
        columns=prepared.preprocessor.columns,
        label=label,
        positives=int(labels.sum()) if labels is not None else None,
        max_seconds=max_seconds,
        seconds=0.0,
        goal=goal,
        baselines=[isolation_forest(prepared.encoded.inputs, _train_index(prepared), labels, base.seed)]
        if labels is not None
        else [],
        warnings=variation_warnings(rows.features),
    )
    best = comparison.best
    if best is not None:
        comparison.fit_settings = _fit_settings(params, base, best, schema)
    if keep_best is not None and best is not None:
        # The ranked network itself, saved as a plain fit of its settings and epoch count would be.
        config = dataclasses.replace(
            base, kind=best.kind, latent_dim=best.latent_dim, epochs=max(best.epochs, 1), max_seconds=None
        )
        model = finish(prepared, config, trained[(best.kind, best.latent_dim)])
        comparison.kept = str(
            model.save(keep_best, overwrite=overwrite, inputs=[data] if is_path(data) else [])
        )
    comparison.seconds = time.perf_counter() - started
    return comparison


def variation_warnings(features: pl.DataFrame) -> list[str]:
    """What makes a ranking meaningless: feature columns that hold one value in every row.

    >>> variation_warnings(pl.DataFrame({"a": [1.0, 1.0], "b": [2, 2]}))[0][:44]
    'every feature column holds one value (a, b):'
    """
    counts = features.select(pl.all().n_unique()).row(0)
    constant = [name for name, count in zip(features.columns, counts, strict=True) if count <= 1]
    shown = ", ".join(constant[:5]) + (f" and {len(constant) - 5} more" if len(constant) > 5 else "")
    if constant and len(constant) == features.width:
        return [
            f"every feature column holds one value ({shown}): there is nothing to learn, every "
            "candidate reconstructs the table trivially and the ranking says nothing"
        ]
    if constant:
        return [
            f"{len(constant)} of {features.width} feature columns hold one value ({shown}): "
            "they carry no information; leave them out with --exclude"
        ]
    return []


def _ranking_sentence(rank_by: str, label: str | None, labels: np.ndarray | None) -> str:
    """What ranks the runs, and, with a label, whether the label does and on which rows."""
    name = _MEASURE_NAMES[rank_by]
    if rank_by in LABEL_MEASURES and labels is not None:
        return (
            f"ranked by the {name} of ae_error against {label!r} ({int(labels.sum()):,} of "
            f"{labels.size:,} rows true, every row scored; the label is never a feature)"
        )
    if label is not None:
        return (
            f"ranked by {name}, as --rank-by asks, not by the label: {label!r} is only scored "
            "(roc_auc, avg_prec); --rank-by roc_auc ranks by it"
        )
    return f"ranked by {name}; no --label, so how well ae_error finds odd rows is not measured"


def _train_index(prepared: Prepared) -> np.ndarray:
    return np.setdiff1d(np.arange(prepared.encoded.n_rows), prepared.valid_index)


def _fit_settings(
    params: dict[str, Any], base: FitConfig, best: Run, schema: str | Path | pa.DataFrameSchema | None
) -> dict[str, Any]:
    """The :func:`aefeatures.fit` keywords that train the winner again: the settings given to
    compare, the goal, the winner's kind and size, and the label among the excluded columns; the
    settings the winner's kind does not use (another kind's regulariser, ``epochs`` for ``pca``),
    which ``fit`` would refuse, are left out."""
    used = uses(best.kind, params)
    given = {name: value for name, value in params.items() if name in used or name not in _DECLARED}
    settings = {**given, "goal": base.goal, "kind": best.kind, "latent_dim": best.latent_dim}
    if base.exclude:
        settings["exclude"] = list(base.exclude)
    if isinstance(schema, (str, Path)):
        settings["schema"] = str(schema)
    return settings


def _base_config(params: dict[str, Any], label: str | None, kinds: Sequence[str]) -> FitConfig:
    if label is not None and label not in params.get("exclude", ()):
        params["exclude"] = (*params.get("exclude", ()), label)
    if "kind" in params or "latent_dim" in params or "max_seconds" in params:
        raise ConfigError(
            "compare sets kind, latent_dim and max_seconds itself.",
            hint="use kinds=, sizes= and max_seconds= of compare",
        )
    return fit_config(params, kinds)  # a setting no candidate uses is refused


def _check_choices(
    kinds: Sequence[str], sizes: Sequence[int] | None, rank_by: str, label: str | None
) -> None:
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ConfigError(f"kind {unknown[0]!r} is not allowed; choose from {', '.join(KINDS)}.")
    if sizes is not None and any(int(s) < 1 for s in sizes):
        raise ConfigError(f"sizes={list(sizes)} must be positive bottleneck widths.")
    if rank_by not in RANK_BY:
        raise ConfigError(f"rank_by={rank_by!r} is not allowed; choose one of {', '.join(RANK_BY)}.")
    if rank_by not in LOSS_MEASURES and label is None:
        raise ConfigError(
            f"rank_by={rank_by!r} needs a label column.", hint="pass --label COL, a boolean or 0/1 column"
        )


def _not_binary(series: pl.Series) -> list[object]:
    """Up to three distinct values of ``series`` that are not 0/1/true/false (its first values if none)."""
    odd = [v for v in series.unique(maintain_order=True).to_list() if v not in (0, 1)]  # True == 1
    return odd[:3] or series.head(3).to_list()


def _labels(frame: pl.DataFrame, label: str | None) -> np.ndarray | None:
    """The label column as booleans: boolean or 0/1, no missing value, and both classes present."""
    if label is None:
        return None
    series = frame[label]
    if series.null_count():
        raise DataError(
            f"label column {label!r} has {series.null_count()} missing values.",
            hint="fill or drop them: every row needs a true/false or 0/1 label",
        )
    if series.dtype == pl.Boolean:
        labels = series.to_numpy().astype(bool)
    elif series.dtype.is_integer() and set(series.unique().to_list()) <= {0, 1}:
        labels = series.to_numpy() == 1
    else:
        raise DataError(
            f"label column {label!r} must be boolean or 0/1; it has type {series.dtype} "
            f"with values such as {_not_binary(series)}.",
            hint="pass a boolean or 0/1 column as --label, e.g. one made with (col == 'fraud')",
        )
    if len(labels) and labels.all() == labels.any():  # one class: ROC-AUC and average precision are undefined
        value = series[0]
        raise DataError(
            f"label column {label!r} has the single value {value!r} in all {len(labels):,} rows; "
            "ROC-AUC and average precision need rows of both classes.",
            hint="pass a label with both outcomes (check the filter or sample), "
            "or leave --label out and rank by valid_loss",
        )
    return labels
