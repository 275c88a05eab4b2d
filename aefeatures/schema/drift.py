"""Drift of new data against the training data: missing, unseen-category and out-of-range rates.

An inferred schema enforces names, dtypes and nullability only; how the values moved is a
drift signal, reported here per column. ``fit`` stores, per feature column, the training
missing rate and, for numeric and datetime columns, the training minimum and maximum
(:func:`training_statistics`, kept in ``aefeatures.json`` under ``"drift"``). At transform
:func:`drift_summary` compares new data with them:

=====================  ==========================================================
rate                   share of ...
=====================  ==========================================================
``missing_rate``       rows whose value is null (or NaN)
``unseen_rate``        non-missing categorical values never seen at fit (the
                       model maps them to its ``unknown`` level); levels folded
                       into ``rare`` at fit were seen and do not count
``out_of_range_rate``  non-missing numeric/datetime values below the training
                       minimum or above the training maximum
=====================  ==========================================================

A column has drifted when its unseen or out-of-range rate exceeds ``tolerance``, or its
missing rate exceeds the training missing rate by more than ``tolerance``.
:func:`check_drift` then logs a warning (``on_drift="warn"``, the default of the CLI and the API)
or raises :class:`~aefeatures.errors.DriftError` (``"fail"``).
:func:`merge_drift` combines summaries of batches into the summary of all their rows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

import polars as pl

from aefeatures.defaults import DEFAULT_DRIFT_TOLERANCE, check_on_drift, check_tolerance
from aefeatures.defaults import DEFAULT_ON_DRIFT as DEFAULT_ON_DRIFT  # re-exported; defined once there
from aefeatures.defaults import ON_DRIFT as ON_DRIFT
from aefeatures.errors import DriftError
from aefeatures.features.columns import check_feature_types
from aefeatures.features.types import ColumnSpec

log = logging.getLogger("aefeatures")

OnDrift = Literal["ignore", "warn", "fail"]
SUMMARY_SCHEMA = pl.Schema(
    {
        "column": pl.String(),
        "kind": pl.String(),
        "rows": pl.Int64(),
        "missing_rate_train": pl.Float64(),
        "missing_rate": pl.Float64(),
        "unseen_rate": pl.Float64(),
        "out_of_range_rate": pl.Float64(),
        "drifted": pl.Boolean(),
        "reason": pl.String(),
    }
)


def training_statistics(features: pl.DataFrame, specs: Sequence[ColumnSpec]) -> dict[str, Any]:
    """Per-column training statistics that :func:`drift_summary` compares against (JSON-ready)."""
    types = features.schema  # once: polars rebuilds it on every call, quadratic in the columns
    check_feature_types(types, specs)
    exprs: list[pl.Expr] = []
    for spec in specs:
        exprs.append(_missing(spec, types[spec.name]).mean().alias(f"{spec.name}\0missing"))
        values = spec.drift_values(pl.col(spec.name))
        if values is not None:
            exprs += [values.min().alias(f"{spec.name}\0low"), values.max().alias(f"{spec.name}\0high")]
    row = features.select(exprs).row(0, named=True) if features.height else {}
    columns: dict[str, dict[str, Any]] = {}
    for spec in specs:
        stats: dict[str, Any] = {"missing_rate": float(row.get(f"{spec.name}\0missing") or 0.0)}
        if spec.drift_values(pl.col(spec.name)) is not None:
            stats.update(low=row.get(f"{spec.name}\0low"), high=row.get(f"{spec.name}\0high"))
        columns[spec.name] = stats
    return {"columns": columns}


def drift_summary(
    features: pl.DataFrame,
    specs: Sequence[ColumnSpec],
    statistics: dict[str, Any] | None,
    *,
    tolerance: float = DEFAULT_DRIFT_TOLERANCE,
) -> pl.DataFrame:
    """One row per feature column: the new data's rates next to training, and whether it drifted.

    ``features`` holds the model's feature columns, validated against its schema. A model
    saved without statistics (older versions) reports null training rates and ranges.
    """
    check_tolerance(tolerance)
    types = features.schema  # once: polars rebuilds it on every call, quadratic in the columns
    check_feature_types(types, specs)
    trained = (statistics or {}).get("columns", {})
    exprs: list[pl.Expr] = []
    for spec in specs:
        exprs += _rate_exprs(spec, trained.get(spec.name, {}), types[spec.name])
    row = features.select(exprs).row(0, named=True) if features.height and exprs else {}
    records = []
    for spec in specs:
        unseen = spec.unseen_count(features[spec.name])  # None: the type has no levels
        if unseen is not None and features.height:
            observed = features.height * (1.0 - float(row.get(f"{spec.name}\0missing") or 0.0))
            row[f"{spec.name}\0unseen"] = min(1.0, unseen / observed) if observed else None
        stats = trained.get(spec.name)
        record = {
            "column": spec.name,
            "kind": spec.kind,
            "rows": features.height,
            "missing_rate_train": None if stats is None else float(stats["missing_rate"]),
            "missing_rate": float(row.get(f"{spec.name}\0missing") or 0.0),
            "unseen_rate": None if unseen is None else _rate(row, spec, "unseen"),
            "out_of_range_rate": _rate(row, spec, "range") if (stats or {}).get("low") is not None else None,
        }
        record["reason"] = _reason(record, tolerance)
        record["drifted"] = record["reason"] is not None
        records.append(record)
    return pl.DataFrame(records, schema=SUMMARY_SCHEMA)


def check_drift(summary: pl.DataFrame, on_drift: str) -> None:
    """Act on a drift summary: ``"ignore"``, ``"warn"`` (log a warning) or ``"fail"`` (raise)."""
    check_on_drift(on_drift)
    drifted = summary.filter(pl.col("drifted"))
    if on_drift == "ignore" or drifted.is_empty():
        return
    lines = [f"  - column {c!r}: {reason}" for c, reason in drifted.select("column", "reason").iter_rows()]
    message = f"the data drifted from the training data in {drifted.height} column(s):\n" + "\n".join(lines)
    if on_drift == "fail":
        raise DriftError(
            message,
            hint="re-fit the model on recent data, fix the upstream source, or pass --on-drift warn to go on",
        )
    log.warning("%s", message)


def merge_drift(parts: list[pl.DataFrame], tolerance: float) -> pl.DataFrame:
    """One drift summary from per-batch summaries: rates weighted by rows and observed values."""
    stacked = pl.concat(parts).with_columns(observed=pl.col("rows") * (1.0 - pl.col("missing_rate")))
    merged = stacked.group_by("column", "kind", maintain_order=True).agg(
        pl.col("rows").sum(),
        pl.col("missing_rate_train").first(),
        ((pl.col("missing_rate") * pl.col("rows")).sum() / pl.col("rows").sum()).alias("missing_rate"),
        *[
            pl.when(pl.col(rate).is_null().all())
            .then(None)
            .otherwise((pl.col(rate) * pl.col("observed")).sum() / pl.col("observed").sum().clip(1e-12))
            .alias(rate)
            for rate in ("unseen_rate", "out_of_range_rate")
        ],
    )
    records = merged.to_dicts()
    for record in records:
        record["reason"] = _reason(record, tolerance)
        record["drifted"] = record["reason"] is not None
    return pl.DataFrame(records, schema=SUMMARY_SCHEMA)


def _missing(spec: ColumnSpec, dtype: pl.DataType) -> pl.Expr:
    column = pl.col(spec.name)
    return column.is_null() | column.is_nan() if dtype.is_float() else column.is_null()


def _rate_exprs(spec: ColumnSpec, stats: dict[str, Any], dtype: pl.DataType) -> list[pl.Expr]:
    missing = _missing(spec, dtype)
    observed = (~missing).sum().cast(pl.Float64)
    exprs = [missing.mean().alias(f"{spec.name}\0missing")]
    values = spec.drift_values(
        pl.col(spec.name)
    )  # None for types without a range (they may count unseen values)
    if values is not None and stats.get("low") is not None:
        outside = ((values < stats["low"]) | (values > stats["high"])).fill_null(False).sum()
        exprs.append((outside / observed).alias(f"{spec.name}\0range"))
    return exprs


def _rate(row: dict[str, Any], spec: ColumnSpec, name: str) -> float:
    value = row.get(f"{spec.name}\0{name}")
    return float(value) if value is not None and value == value else 0.0  # NaN when nothing observed


def _reason(record: dict[str, Any], tolerance: float) -> str | None:
    reasons = []
    train_missing = record["missing_rate_train"]
    if train_missing is not None and record["missing_rate"] > train_missing + tolerance:
        reasons.append(f"{record['missing_rate']:.1%} missing (training: {train_missing:.1%})")
    if (record["unseen_rate"] or 0.0) > tolerance:
        reasons.append(f"{record['unseen_rate']:.1%} of values are categories unseen in training")
    if (record["out_of_range_rate"] or 0.0) > tolerance:
        reasons.append(f"{record['out_of_range_rate']:.1%} of values are outside the training range")
    return "; ".join(reasons) if reasons else None
