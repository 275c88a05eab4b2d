"""``aefeatures compare``: kinds x bottleneck sizes plus PCA on one split, ranked.

The data is read, validated and preprocessed once by the fit pipeline
(:mod:`aefeatures.fitting.pipeline`); every candidate trains on the same training rows (in
memory or streamed from Parquet) and is scored on the same validation rows, so the numbers
are comparable, and the winner kept is the very network that was ranked.
Neural candidates are explored by successive halving (:func:`halving_rungs`): all train
briefly, the best third continues, and so on, so the default grid costs a few fits, not 21.
A time budget is shared among the runs of each rung (each gets the remaining time divided by
the runs still to go); PCA is solved in closed form at every size and is the yardstick.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandera.polars as pa
import polars as pl
import torch

from aefeatures.config import KINDS, FitConfig, resolve_batch_size, resolve_sizes
from aefeatures.errors import ConfigError, DataError
from aefeatures.explore.metrics import average_precision, roc_auc
from aefeatures.fitting.pipeline import FitHooks, Prepared, Trained, finish, prepare, train_prepared
from aefeatures.fitting.sources import data_rows, fit_config
from aefeatures.fitting.training import epoch_budget, evaluate, row_losses
from aefeatures.io.sinks import check_output
from aefeatures.io.sources import DataLike, is_path
from aefeatures.model.scoring import calibrated_scores
from aefeatures.nn.kinds import NEURAL_KINDS

HALVING = 3  # successive halving: each rung keeps a third of the candidates, with 3x the epochs
DEFAULT_KINDS = NEURAL_KINDS
ERROR_MEASURES = ("valid_error", "robust_error")  # lower is better; need no label
RANK_BY = (*ERROR_MEASURES, "roc_auc", "average_precision")
ROBUST_SHARE = 0.9  # robust_error: the mean over the best 90% of validation rows
MIN_VALID_ROWS = 20


@dataclass
class Run:
    """One trained candidate and how it did."""

    kind: str
    latent_dim: int
    hidden: list[int] = field(default_factory=list)
    status: str = "ok"  # "ok", or "skipped" when the time budget ran out first
    valid_error: float | None = None  # mean validation reconstruction error (ae_error units)
    robust_error: float | None = None  # the same over the best 90% of validation rows (see robust_error)
    vs_pca: float | None = None  # valid_error / PCA's valid_error at the same size
    roc_auc: float | None = None
    average_precision: float | None = None
    epochs: int = 0
    best_epoch: int = 0
    stopped_because: str = ""
    seconds: float = 0.0
    rank: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (NaN becomes ``None``)."""
        return {
            k: None if isinstance(v, float) and not math.isfinite(v) else v
            for k, v in dataclasses.asdict(self).items()
        }


@dataclass
class Comparison:
    """Every run, ranked (skipped runs last), and what they were compared on."""

    runs: list[Run]
    rank_by: str
    rows: int
    train_rows: int
    valid_rows: int
    columns: list[str]
    label: str | None
    max_seconds: float
    seconds: float
    goal: str  # what the candidates were trained for (see goal_for)
    kept: str | None = None

    @property
    def best(self) -> Run:
        """The first-ranked run."""
        return self.runs[0]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "runs"}
        return {**fields, "best": self.best.to_dict(), "runs": [run.to_dict() for run in self.runs]}


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
    rank_by: str = "valid_error",
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
        precision); it is never a feature.
    rank_by
        ``valid_error`` or ``robust_error`` (ascending), ``roc_auc`` or ``average_precision``
        (descending, with ``label``).
    goal
        What the candidates are trained for (:data:`~aefeatures.goals.GOALS`); by default the
        one ``rank_by`` measures (:func:`goal_for`), so a reconstruction ranking compares
        networks trained to reconstruct with PCA, and an outlier ranking networks trained to
        rank outliers.
    keep_best
        Save the winner here as a normal model directory: the ranked network itself,
        calibrated like any fit (its configuration records the epochs it ran).
    prune
        Successive halving (:func:`halving_rungs`): every candidate trains briefly, the best third
        goes on, until one has the whole budget. ``False`` trains every candidate to its end
        (what the benchmark compares the pruned ranking with).
    stream, sample
        As for :func:`aefeatures.fit`: a Parquet path too big for memory is compared on a
        uniform sample's statistics with every epoch streamed from disk, and ``sample``
        compares on a uniform sample of that many rows.
    **params
        Other :class:`~aefeatures.config.FitConfig` fields (``epochs``, ``seed``,
        ``columns``, ``exclude``, ``device``, ``threads``, regulariser weights, ...).

    Examples
    --------
    >>> import aefeatures as aef, polars as pl
    >>> df = pl.DataFrame({"a": [float(i % 7) for i in range(200)], "b": [float(i % 5) for i in range(200)]})
    >>> result = compare(df, kinds=["deep"], sizes=[1], epochs=2, threads=1)
    >>> sorted((run.kind, run.latent_dim) for run in result.runs)
    [('deep', 1), ('pca', 1)]
    """
    started = time.perf_counter()
    _check_choices(kinds, sizes, rank_by, label)
    goal = goal or goal_for(rank_by)
    base = _base_config({**params, "goal": goal}, label, [*kinds, "pca"])
    if keep_best is not None:
        check_output(keep_best, overwrite, kind="model", inputs=[data] if is_path(data) else [])
    rows = data_rows(data, base, schema, stream=stream, sample=sample, keep=[label] if label else [])
    labels = _labels(rows.kept, label) if rows.kept is not None and label is not None else None
    prepared = prepare(rows, base)
    n_valid = len(prepared.valid_rows) if prepared.valid_rows is not None else 0
    if n_valid < MIN_VALID_ROWS:
        raise DataError(
            f"compare needs at least {MIN_VALID_ROWS} validation rows; "
            f"{prepared.encoded.n_rows} rows give {n_valid}.",
            hint="use more rows, or a larger validation_fraction",
        )
    grid = list(sizes) if sizes else list(default_sizes(len(prepared.preprocessor.specs)))
    neural = [k for k in kinds if k in NEURAL_KINDS]
    runs, trained = _run_grid(
        prepared, base, neural, grid, started + max_seconds, labels, on_run, rank_by, prune
    )
    _relate_to_pca(runs)
    ranked = _rank(runs, rank_by)
    comparison = Comparison(
        runs=ranked,
        rank_by=rank_by,
        rows=prepared.encoded.n_rows,
        train_rows=prepared.n_train,
        valid_rows=n_valid,
        columns=prepared.preprocessor.columns,
        label=label,
        max_seconds=max_seconds,
        seconds=0.0,
        goal=goal,
    )
    if keep_best is not None:
        best = comparison.best
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


def goal_for(rank_by: str) -> str:
    """The goal a ranking measures: ``reconstruction`` for a reconstruction error, else ``outliers``."""
    return "reconstruction" if rank_by in ERROR_MEASURES else "outliers"


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
    if rank_by not in ERROR_MEASURES and label is None:
        raise ConfigError(
            f"rank_by={rank_by!r} needs a label column.", hint="pass --label COL, a boolean or 0/1 column"
        )


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
            f"with values such as {series.head(3).to_list()}.",
            hint="pass a boolean or 0/1 column as --label, e.g. one made with (col == 'fraud')",
        )
    if len(labels) and labels.all() == labels.any():  # one class: ROC-AUC and average precision are undefined
        value = series[0]
        raise DataError(
            f"label column {label!r} has the single value {value!r} in all {len(labels):,} rows; "
            "ROC-AUC and average precision need rows of both classes.",
            hint="pass a label with both outcomes (check the filter or sample), "
            "or leave --label out and rank by valid_error",
        )
    return labels


def _run_grid(
    prepared: Prepared,
    base: FitConfig,
    kinds: list[str],
    sizes: list[int],
    deadline: float,
    labels: np.ndarray | None,
    on_run: Callable[[Run], None] | None,
    rank_by: str = "valid_error",
    prune: bool = True,
) -> tuple[list[Run], dict[tuple[str, int], Trained]]:
    """PCA at every size, then the neural grid by successive halving (see :func:`halving_rungs`)."""
    # torch imports its optimiser machinery on first use (seconds): pay that before any run is timed.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    runs: dict[tuple[str, int], Run] = {}
    trained: dict[tuple[str, int], Trained] = {}
    for size in sizes:  # the closed-form yardstick first: cheap, and everything is measured against it
        key = ("pca", size)
        runs[key], trained[key] = _train_one(
            prepared, dataclasses.replace(base, kind="pca", latent_dim=size), labels
        )
        if on_run is not None:
            on_run(runs[key])
    configs = {
        (kind, size): dataclasses.replace(base, kind=kind, latent_dim=size)
        for size in sizes
        for kind in kinds
    }
    budget = epoch_budget(base, len(prepared.train_rows), resolve_batch_size(base, prepared.n_train))
    alive = list(configs)
    for until in halving_rungs(budget, len(alive)) if prune else [budget]:
        for position, key in enumerate(alive):
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                if key not in runs:
                    runs[key] = Run(kind=key[0], latent_dim=key[1], status="skipped")
                continue
            paused = trained[key].paused if key in trained else None
            spent = paused.elapsed if paused is not None else 0.0  # the time budget counts all rungs
            share = remaining / (len(alive) - position)  # the rung's runs still to go share what is left
            config = dataclasses.replace(configs[key], max_seconds=spent + share)
            hooks = FitHooks(continue_from=paused, pause_after=until)
            runs[key], trained[key] = _train_one(prepared, config, labels, hooks, runs.get(key))
        going_on = [key for key in alive if key in trained and trained[key].paused is not None]
        keep = max(1, math.ceil(len(going_on) / HALVING))
        alive = sorted(going_on, key=lambda key: _rank_key(runs[key], rank_by))[:keep]
        for key in going_on:
            if key not in alive:
                runs[key].stopped_because = f"pruned after epoch {runs[key].epochs}"
    for key in configs:
        if on_run is not None and key in runs:
            on_run(runs[key])
    return list(runs.values()), trained


def halving_rungs(budget: int, candidates: int) -> list[int]:
    """Epochs after which candidates are compared: a third goes on each time, with 3x the epochs.

    Every candidate trains ``budget / 3**r`` epochs, the best third continues to ``budget / 3**(r-1)``
    and so on until one reaches the full budget: 21 candidates cost about 3.6 full runs instead of
    21, and a candidate that continues resumes where it paused (the same run as never pausing).
    """
    rounds = max(0, math.ceil(math.log(max(candidates, 1), HALVING) - 1e-9))
    return sorted({max(1, budget // HALVING**r) for r in range(rounds, -1, -1)} | {budget})


def _train_one(
    prepared: Prepared,
    config: FitConfig,
    labels: np.ndarray | None,
    hooks: FitHooks | None = None,
    earlier: Run | None = None,
) -> tuple[Run, Trained]:
    """Train one candidate through the fit pipeline, on the shared prepared rows, and score it.

    ``earlier`` is the same candidate's run up to its last pause: its seconds carry over.
    """
    started = time.perf_counter()
    trained = train_prepared(prepared, config, hooks)
    net, history = trained.net, trained.history
    run = Run(
        kind=config.kind,
        latent_dim=net.config.latent_dim,
        hidden=list(net.config.hidden),
        valid_error=evaluate(net, prepared.loss_fn, prepared.valid_rows)
        if prepared.valid_rows is not None
        else None,
        epochs=len(history["epochs"]),
        best_epoch=history["best_epoch"],
        stopped_because=history["stopped_because"],
    )
    if prepared.valid_rows is not None:
        run.robust_error = robust_error(row_losses(net, prepared.loss_fn, prepared.valid_rows))
    if labels is not None:
        errors = calibrated_scores(net, prepared.preprocessor, prepared.encoded)[1].errors
        run.roc_auc, run.average_precision = roc_auc(labels, errors), average_precision(labels, errors)
    run.seconds = time.perf_counter() - started + (earlier.seconds if earlier is not None else 0.0)
    return run, trained


def robust_error(errors: np.ndarray) -> float:
    """Mean of the best :data:`ROBUST_SHARE` of row errors: a few outliers among the validation rows
    (which no model should reconstruct) cannot decide a ranking by it.

    >>> robust_error(np.array([1.0] * 9 + [100.0]))
    1.0
    """
    kept = np.sort(errors)[: max(1, int(round(ROBUST_SHARE * errors.size)))]
    return float(kept.mean())


def _relate_to_pca(runs: list[Run]) -> None:
    pca = {run.latent_dim: run.valid_error for run in runs if run.kind == "pca"}
    for run in runs:
        reference = pca.get(run.latent_dim)
        if run.valid_error is not None and reference:
            run.vs_pca = run.valid_error / reference


def _rank_key(run: Run, rank_by: str) -> tuple[bool, float]:
    """Sort key: measured runs first, then the best ``rank_by`` (lowest error, highest score)."""
    value = getattr(run, rank_by)
    missing = value is None or not math.isfinite(value)
    score = math.inf if missing else (value if rank_by in ERROR_MEASURES else -value)
    return (run.status != "ok", score)


def _rank(runs: list[Run], rank_by: str) -> list[Run]:
    ranked = sorted(runs, key=lambda run: _rank_key(run, rank_by))
    for position, run in enumerate(ranked, start=1):
        run.rank = position if run.status == "ok" else None
    return ranked
