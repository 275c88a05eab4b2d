"""``aefeatures compare``: kinds x bottleneck sizes plus PCA on one split, ranked.

The data is read, validated and preprocessed once; every candidate trains on the same
training rows and is scored on the same validation rows, so the numbers are comparable.
A time budget is shared among the neural runs (each gets the remaining time divided by the
runs still to go); PCA is solved in closed form at every size and is the yardstick.
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

from aefeatures.api import fit_frame
from aefeatures.config import KINDS, FitConfig, resolve_batch_size, resolve_sizes
from aefeatures.errors import ConfigError, DataError
from aefeatures.explore.metrics import average_precision, roc_auc
from aefeatures.features.preprocessor import Encoded, Preprocessor, select_features
from aefeatures.fitting.calibrate import fit_config, new_network, reconstruction_loss
from aefeatures.fitting.devices import resolve_device, set_threads
from aefeatures.fitting.rows import Batch, split_rows
from aefeatures.fitting.training import evaluate, train
from aefeatures.io.sinks import check_output
from aefeatures.io.sources import DataLike, read_frame
from aefeatures.model.scoring import calibrated_scores
from aefeatures.nn.losses import ReconstructionLoss
from aefeatures.schema.schemas import infer_schema, load_schema_file, validate

DEFAULT_KINDS = tuple(kind for kind in KINDS if kind != "pca")
RANK_BY = ("valid_error", "roc_auc", "average_precision")
MIN_VALID_ROWS = 20


@dataclass
class Run:
    """One trained candidate and how it did."""

    kind: str
    latent_dim: int
    hidden: list[int] = field(default_factory=list)
    status: str = "ok"  # "ok", or "skipped" when the time budget ran out first
    valid_error: float | None = None  # mean validation reconstruction error (ae_error units)
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
    kept: str | None = None

    @property
    def best(self) -> Run:
        """The first-ranked run."""
        return self.runs[0]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "runs"}
        return {**fields, "best": self.best.to_dict(), "runs": [run.to_dict() for run in self.runs]}


@dataclass
class _Prepared:
    """The data, preprocessed once and split once, on the training device."""

    features: pl.DataFrame
    preprocessor: Preprocessor
    encoded: Encoded
    loss_fn: ReconstructionLoss
    train_rows: Batch
    valid_rows: Batch


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
    schema: str | Path | pa.DataFrameSchema | None = None,
    keep_best: str | Path | None = None,
    overwrite: bool = False,
    on_run: Callable[[Run], None] | None = None,
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
        ``valid_error`` (ascending), ``roc_auc`` or ``average_precision`` (descending).
    keep_best
        Save the winner here as a normal model directory (refitted by the fit pipeline
        with its settings and epoch count: the same seed and split give the same network).
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
    base = _base_config(params, label)
    _check_choices(kinds, sizes, rank_by, label)
    if keep_best is not None:
        check_output(keep_best, overwrite)
    frame = read_frame(data)
    labels = _labels(frame, label)
    names = select_features(frame.schema, base.columns, base.exclude)
    user_schema = load_schema_file(schema) if isinstance(schema, (str, Path)) else schema
    chosen_schema = user_schema if user_schema is not None else infer_schema(frame, names)
    prepared = _prepare(validate(frame, chosen_schema).select(names), base)
    grid = list(sizes) if sizes else list(default_sizes(len(prepared.preprocessor.specs)))
    runs = _run_grid(
        prepared, base, [k for k in kinds if k != "pca"], grid, started + max_seconds, labels, on_run
    )
    _relate_to_pca(runs)
    ranked = _rank(runs, rank_by)
    comparison = Comparison(
        runs=ranked,
        rank_by=rank_by,
        rows=prepared.encoded.n_rows,
        train_rows=len(prepared.train_rows),
        valid_rows=len(prepared.valid_rows),
        columns=prepared.preprocessor.columns,
        label=label,
        max_seconds=max_seconds,
        seconds=0.0,
    )
    if keep_best is not None:
        comparison.kept = str(_keep(prepared, base, comparison.best, chosen_schema, keep_best, overwrite))
    comparison.seconds = time.perf_counter() - started
    return comparison


def _base_config(params: dict[str, Any], label: str | None) -> FitConfig:
    if label is not None and label not in params.get("exclude", ()):
        params["exclude"] = (*params.get("exclude", ()), label)
    if "kind" in params or "latent_dim" in params or "max_seconds" in params:
        raise ConfigError(
            "compare sets kind, latent_dim and max_seconds itself.",
            hint="use kinds=, sizes= and max_seconds= of compare",
        )
    return fit_config(params)


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
    if rank_by != "valid_error" and label is None:
        raise ConfigError(
            f"rank_by={rank_by!r} needs a label column.", hint="pass --label COL, a boolean or 0/1 column"
        )


def _labels(frame: pl.DataFrame, label: str | None) -> np.ndarray | None:
    if label is None:
        return None
    if label not in frame.columns:
        raise DataError(
            f"label column {label!r} is not in the data.",
            hint=f"the data has columns: {', '.join(map(repr, frame.columns[:30]))}",
        )
    series = frame[label]
    if series.null_count():
        raise DataError(
            f"label column {label!r} has {series.null_count()} missing values.",
            hint="fill or drop them: every row needs a true/false or 0/1 label",
        )
    if series.dtype == pl.Boolean:
        return series.to_numpy().astype(bool)
    if series.dtype.is_integer() and set(series.unique().to_list()) <= {0, 1}:
        return series.to_numpy() == 1
    raise DataError(
        f"label column {label!r} must be boolean or 0/1; it has type {series.dtype} "
        f"with values such as {series.head(3).to_list()}.",
        hint="pass a boolean or 0/1 column as --label, e.g. one made with (col == 'fraud')",
    )


def _prepare(features: pl.DataFrame, config: FitConfig) -> _Prepared:
    set_threads(config.threads)
    device = resolve_device(config.device)
    preprocessor = Preprocessor.fit(
        features, max_levels=config.max_levels, min_level_count=config.min_level_count
    )
    encoded = preprocessor.encode(features)
    train_index, valid_index = split_rows(encoded.n_rows, config.validation_fraction, config.seed)
    if valid_index.size < MIN_VALID_ROWS:
        raise DataError(
            f"compare needs at least {MIN_VALID_ROWS} validation rows; "
            f"{encoded.n_rows} rows give {valid_index.size}.",
            hint="use more rows, or a larger validation_fraction",
        )
    loss_fn = reconstruction_loss(preprocessor, device)
    rows = Batch.from_encoded(encoded, device)
    return _Prepared(
        features=features,
        preprocessor=preprocessor,
        encoded=encoded,
        loss_fn=loss_fn,
        train_rows=rows.take(torch.from_numpy(train_index).to(device)),
        valid_rows=rows.take(torch.from_numpy(valid_index).to(device)),
    )


def _run_grid(
    prepared: _Prepared,
    base: FitConfig,
    kinds: list[str],
    sizes: list[int],
    deadline: float,
    labels: np.ndarray | None,
    on_run: Callable[[Run], None] | None,
) -> list[Run]:
    # torch imports its optimiser machinery on first use (seconds): pay that before any run is timed.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    runs = []
    for size in sizes:  # the closed-form baseline first: it is cheap and everything is measured against it
        runs.append(_train_one(prepared, dataclasses.replace(base, kind="pca", latent_dim=size), labels))
        if on_run is not None:
            on_run(runs[-1])
    queue = [(kind, size) for size in sizes for kind in kinds]
    for position, (kind, size) in enumerate(queue):
        share = (deadline - time.perf_counter()) / (len(queue) - position)
        if share <= 0:
            runs.append(Run(kind=kind, latent_dim=size, status="skipped"))
        else:
            config = dataclasses.replace(base, kind=kind, latent_dim=size, max_seconds=share)
            runs.append(_train_one(prepared, config, labels))
        if on_run is not None:
            on_run(runs[-1])
    return runs


def _train_one(prepared: _Prepared, config: FitConfig, labels: np.ndarray | None) -> Run:
    """Train one candidate exactly as :func:`aefeatures.api.fit_frame` would, and score it."""
    started = time.perf_counter()
    p = prepared
    net = new_network(config, p.preprocessor, p.train_rows.inputs.device)  # a plain fit's initial weights
    net_config = net.config
    history = train(
        net, p.loss_fn, p.train_rows, p.valid_rows, config, resolve_batch_size(config, len(p.train_rows))
    )
    run = Run(
        kind=config.kind,
        latent_dim=net_config.latent_dim,
        hidden=list(net_config.hidden),
        valid_error=evaluate(net, p.loss_fn, p.valid_rows),
        epochs=len(history.epochs),
        best_epoch=history.best_epoch,
        stopped_because=history.stopped_because,
    )
    if labels is not None:
        errors = calibrated_scores(net, p.preprocessor, p.encoded)[1].errors
        run.roc_auc, run.average_precision = roc_auc(labels, errors), average_precision(labels, errors)
    run.seconds = time.perf_counter() - started
    return run


def _relate_to_pca(runs: list[Run]) -> None:
    pca = {run.latent_dim: run.valid_error for run in runs if run.kind == "pca"}
    for run in runs:
        reference = pca.get(run.latent_dim)
        if run.valid_error is not None and reference:
            run.vs_pca = run.valid_error / reference


def _rank(runs: list[Run], rank_by: str) -> list[Run]:
    def key(run: Run) -> tuple[bool, float]:
        value = getattr(run, rank_by)
        missing = value is None or not math.isfinite(value)
        score = math.inf if missing else (value if rank_by == "valid_error" else -value)
        return (run.status != "ok", score)

    ranked = sorted(runs, key=key)
    for position, run in enumerate(ranked, start=1):
        run.rank = position if run.status == "ok" else None
    return ranked


def _keep(
    prepared: _Prepared,
    base: FitConfig,
    best: Run,
    schema: pa.DataFrameSchema,
    path: str | Path,
    overwrite: bool,
) -> Path:
    # Same seed, split and epoch count: the fit pipeline rebuilds the network that was ranked.
    config = dataclasses.replace(
        base, kind=best.kind, latent_dim=best.latent_dim, epochs=max(best.epochs, 1), max_seconds=None
    )
    return fit_frame(prepared.features, config, schema).save(path, overwrite=overwrite)
