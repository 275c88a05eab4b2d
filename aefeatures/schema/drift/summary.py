"""The drift summary: the tests of a batch's counts, one row per column and one for the rows.

:func:`summarize` tests :class:`~aefeatures.schema.drift.counts.DriftCounts` against the
training statistics, adjusts every p-value of the batch together (Holm) and flags a column
when a test rejects at ``level`` and its effect reaches ``tolerance`` (the rate moved, or the
PSI). :func:`check_drift` then warns or raises. A model fitted before the statistics were
stored gets the old check (rates against ``tolerance``) and a note to re-fit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from aefeatures.defaults import check_on_drift
from aefeatures.errors import DriftError
from aefeatures.features.types import ColumnSpec
from aefeatures.schema.drift.counts import ColumnCounts, DriftCounts
from aefeatures.schema.drift.significance import (
    grouped,
    holm,
    js_distance,
    merged_groups,
    mix_p_value,
    psi,
    rate_p_value,
    rise_p_value,
)

log = logging.getLogger("aefeatures")

ROWS = "(rows)"  # the summary's line for the rows as a whole (ae_error)
REFIT = "re-fit the model to get the statistical tests"
SUMMARY_SCHEMA = pl.Schema(
    {
        "segment": pl.String(),  # null: all rows; else the segment value (fit --segment-by)
        "column": pl.String(),
        "kind": pl.String(),
        "rows": pl.Int64(),
        "missing_rate_train": pl.Float64(),
        "missing_rate": pl.Float64(),
        "unseen_rate": pl.Float64(),
        "out_of_range_rate": pl.Float64(),
        "psi": pl.Float64(),
        "js_distance": pl.Float64(),
        "p_value": pl.Float64(),
        "status": pl.String(),
        "drifted": pl.Boolean(),
        "reason": pl.String(),
    }
)


@dataclass
class _Test:
    """One test of one line: its p-value, effect, and what it says when it rejects."""

    line: int
    p_value: float
    effect: float
    says: str


def summarize(
    counts: DriftCounts,
    specs: Sequence[ColumnSpec],
    statistics: dict[str, Any] | None,
    *,
    tolerance: float,
    level: float,
    segment: str | None = None,
    missing_drifts: bool = True,
) -> pl.DataFrame:
    """One row per feature column, then one for the rows as a whole: rates, effect sizes, the
    Holm-adjusted p-value, ``status`` (``ok``, ``drifted``, ``too small to tell``,
    ``not tested``, ``old model``) and why it drifted (``segment``: the segment they are of).
    ``missing_drifts=False`` (``impute``, whose input has holes by design) does not test the
    missing rates; they are still reported."""
    statistics = statistics or {}
    trained = statistics.get("columns", {})
    tested = "rows" in statistics  # models fitted before the tests stored no row count
    records: list[dict[str, Any]] = []
    tests: list[_Test] = []
    small: set[int] = set()
    for spec in specs:
        column = counts.columns.get(spec.name, ColumnCounts(rows=counts.rows))
        stats = trained.get(spec.name)
        record = _rates(spec, column, stats)
        records.append(record)
        if not tested or stats is None:
            record["status"] = "old model"
            record["reason"] = _old_reason(record, tolerance, missing_drifts)
            continue
        line = len(records) - 1
        train_rows = int(statistics["rows"])
        train_missing = round(float(stats["missing_rate"]) * train_rows)
        if missing_drifts:
            tests.append(
                _Test(
                    line,
                    rate_p_value(train_missing, train_rows, column.missing, column.rows),
                    abs(record["missing_rate"] - record["missing_rate_train"]),
                    f"{record['missing_rate']:.1%} missing (training: {record['missing_rate_train']:.1%})",
                )
            )
        train_bins = _training_bins(spec, stats)
        if train_bins is None or column.bins is None or train_bins.size != column.bins.size:
            continue
        ordered = spec.drift_values(pl.col(spec.name)) is not None
        mix = _mix(train_bins, column.bins, ordered)
        if mix is None:
            small.add(line)
            continue
        p_value, record["psi"], record["js_distance"] = mix
        tests.append(_Test(line, p_value, record["psi"], _mix_says(record)))
    records.append(_rows_record(counts, statistics, tests, small, len(records)))
    adjusted = holm([test.p_value for test in tests])
    reasons: dict[int, list[str]] = {}
    for test, p_value in zip(tests, adjusted, strict=True):
        record = records[test.line]
        record["p_value"] = min(record["p_value"] if record["p_value"] is not None else 1.0, float(p_value))
        if p_value <= level and test.effect >= tolerance:
            reasons.setdefault(test.line, []).append(f"{test.says}, p={p_value:.2g}")
    for line, record in enumerate(records):
        if record["status"] == "old model":
            continue
        if line in reasons:
            record["status"], record["reason"] = "drifted", "; ".join(reasons[line])
        elif record["status"] is None:
            record["status"] = "too small to tell" if line in small else "ok"
    for record in records:
        record["drifted"] = record["reason"] is not None
        record["segment"] = segment
    return pl.DataFrame(records, schema=SUMMARY_SCHEMA)


def _rates(spec: ColumnSpec, column: ColumnCounts, stats: dict[str, Any] | None) -> dict[str, Any]:
    """The line of a column with its rates; tests fill in the rest."""
    observed = column.rows - column.missing
    unseen = spec.drift_unseen(column.bins) if column.bins is not None else None
    ranged = column.bins is not None and spec.drift_values(pl.col(spec.name)) is not None
    return {
        "segment": None,
        "column": spec.name,
        "kind": spec.kind,
        "rows": column.rows,
        "missing_rate_train": None if stats is None else float(stats["missing_rate"]),
        "missing_rate": column.missing / column.rows if column.rows else 0.0,
        "unseen_rate": None if unseen is None else (min(1.0, unseen / observed) if observed else 0.0),
        "out_of_range_rate": (
            (float(column.bins[0] + column.bins[-1]) / observed if observed else 0.0)
            if ranged and column.bins is not None
            else None
        ),
        "psi": None,
        "js_distance": None,
        "p_value": None,
        "status": None,
        "reason": None,
    }


def _training_bins(spec: ColumnSpec, stats: dict[str, Any]) -> np.ndarray | None:
    """The training counts in the batch's layout (ordered numbers: empty bins below and above)."""
    counts = stats.get("counts")
    if not counts:
        return None
    if spec.drift_values(pl.col(spec.name)) is not None:
        return np.array([0, *counts, 0], np.int64)
    return np.asarray(counts, np.int64)


def _mix(train: np.ndarray, batch: np.ndarray, ordered: bool) -> tuple[float, float, float] | None:
    """p-value, PSI and JS distance of the batch's bins against training's; ``None`` when the
    batch is too small to form two groups of bins that hold values."""
    pooled = train + batch
    order = None if ordered else np.argsort(-pooled, kind="stable")
    groups = merged_groups(train, batch, order)
    a, b = grouped(train, groups), grouped(batch, groups)
    if (a + b > 0).sum() < 2:
        return None if (pooled > 0).sum() >= 2 else (1.0, 0.0, 0.0)
    return mix_p_value(a, b), psi(a, b), js_distance(a, b)


def _mix_says(record: dict[str, Any]) -> str:
    parts = [f"distribution moved (PSI {record['psi']:.3f}, JS distance {record['js_distance']:.3f})"]
    if record["unseen_rate"]:
        parts.append(f"{record['unseen_rate']:.1%} of values are categories unseen in training")
    if record["out_of_range_rate"]:
        parts.append(f"{record['out_of_range_rate']:.1%} of values are outside the training range")
    return "; ".join(parts)


def _rows_record(
    counts: DriftCounts, statistics: dict[str, Any], tests: list[_Test], small: set[int], line: int
) -> dict[str, Any]:
    """The line of the rows as a whole: ``ae_error`` against the validation rows' errors."""
    record: dict[str, Any] = dict.fromkeys(SUMMARY_SCHEMA.names())
    record.update(column=ROWS, kind="ae_error", rows=counts.rows)
    reference = statistics.get("errors")
    if reference is None or counts.errors is None:
        record["status"] = "not tested"
        return record
    train = np.asarray(reference["counts"], np.int64)
    if train.size != counts.errors.size:
        record["status"] = "not tested"
        return record
    groups = merged_groups(train, counts.errors)
    a, b = grouped(train, groups), grouped(counts.errors, groups)
    if a.size < 2:
        small.add(line)
        return record
    record["psi"], record["js_distance"] = psi(a, b), js_distance(a, b)
    says = f"ae_error rose above the validation rows' (PSI {record['psi']:.3f})"
    tests.append(_Test(line, rise_p_value(train, counts.errors), record["psi"], says))
    return record


def _old_reason(record: dict[str, Any], tolerance: float, missing_drifts: bool = True) -> str | None:
    """The check of models fitted before the tests: rates against ``tolerance``."""
    reasons = []
    train_missing = record["missing_rate_train"]
    if missing_drifts and train_missing is not None and record["missing_rate"] > train_missing + tolerance:
        reasons.append(f"{record['missing_rate']:.1%} missing (training: {train_missing:.1%})")
    if (record["unseen_rate"] or 0.0) > tolerance:
        reasons.append(f"{record['unseen_rate']:.1%} of values are categories unseen in training")
    if (record["out_of_range_rate"] or 0.0) > tolerance:
        reasons.append(f"{record['out_of_range_rate']:.1%} of values are outside the training range")
    return "; ".join(reasons) if reasons else None


def check_drift(summary: pl.DataFrame, on_drift: str) -> None:
    """Act on a drift summary: ``"ignore"``, ``"warn"`` (log a warning) or ``"fail"`` (raise)."""
    check_on_drift(on_drift)
    if on_drift == "ignore":
        return
    if (summary["status"] == "old model").any():
        log.info("this model was fitted before drift was tested statistically: %s", REFIT)
    drifted = summary.filter(pl.col("drifted"))
    if drifted.is_empty():
        return
    lines = [
        f"  - {_named(c, segment)}: {reason}"
        for segment, c, reason in drifted.select("segment", "column", "reason").iter_rows()
    ]
    message = f"the data drifted from the training data in {drifted.height} line(s):\n" + "\n".join(lines)
    if on_drift == "fail":
        raise DriftError(
            message,
            hint="re-fit the model on recent data, fix the upstream source, or pass --on-drift warn to go on",
        )
    log.warning("%s", message)


def summary_json(
    summary: pl.DataFrame, *, level: float, tolerance: float, unseen_segments: dict[str, int] | None = None
) -> dict[str, Any]:
    """The drift summary as the JSON ``validate --json`` and ``transform --json`` print.

    ``{"level", "tolerance", "rows", "drifted", "too_small_to_tell", "lines": [...]}``: one
    line per feature column, then the rows' line (``column`` ``"(rows)"``), each with the
    columns of :data:`SUMMARY_SCHEMA` (``null`` where a value does not apply); with segments,
    their lines follow (``segment`` set), and ``unseen_segments`` counts the rows of segment
    values that had no calibration of their own at fit.
    """
    overall = summary.filter(pl.col("segment").is_null())
    small = summary.filter(pl.col("status") == "too small to tell")
    result: dict[str, Any] = {
        "level": level,
        "tolerance": tolerance,
        "rows": int(overall["rows"].to_list()[-1]) if overall.height else 0,
        "drifted": bool(summary["drifted"].any()),
        "too_small_to_tell": [
            c if s is None else f"{c} in segment {s}"
            for s, c in small.select("segment", "column").iter_rows()
        ],
        "lines": summary.to_dicts(),
    }
    if unseen_segments is not None:
        result["unseen_segments"] = unseen_segments
    return result


def _named(column: str, segment: str | None) -> str:
    named = "the rows as a whole" if column == ROWS else f"column {column!r}"
    return named if segment is None else f"{named} in segment {segment!r}"
