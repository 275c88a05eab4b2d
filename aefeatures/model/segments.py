"""Per-segment thresholds, percentiles and drift statistics (``fit --segment-by COL``).

Stores, countries or customer tiers differ in how unusual their rows look; one threshold for all
flags the odd segment's every row. With ``segment_by`` fit calibrates ``ae_error_pct`` and
``ae_outlier`` on each segment's own training rows and stores each segment's drift statistics.
A segment with fewer than :data:`MIN_SEGMENT_ROWS` training rows and a segment unseen at fit use
the global ones (a column with no segment that large is refused before training:
:func:`check_segment_by`); missing values form the segment :data:`MISSING`; drift is tested over
all rows and per segment (:func:`segmented_summary`), and the rows of unseen segment values are
counted. Kept in ``aefeatures.json`` under ``"segments"``:
``{"column", "min_rows", "values": {value: {"rows", "threshold", "quantiles", "drift"}},
"small": [values]}``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import polars as pl

from aefeatures.errors import ConfigError
from aefeatures.features.types import ColumnSpec
from aefeatures.model.scoring import Calibration
from aefeatures.schema.drift import DriftCounts, count_batch, error_statistics, summarize, training_statistics

log = logging.getLogger("aefeatures")

MIN_SEGMENT_ROWS = 100  # training rows a segment needs for its own threshold, percentiles and drift
MISSING = "(missing)"  # the segment of rows whose segment value is missing
TEXT = " (the text)"  # appended to a value that reads like MISSING, so null and text stay apart
_LIKE_MISSING = r"^\(missing\)( \(the text\))*$"  # MISSING and what TEXT makes of it


def segment_values(series: pl.Series) -> pl.Series:
    """The segment of each row, as text: missing values are :data:`MISSING`, and a value that
    reads like it gets :data:`TEXT` appended (one more time for each time it already has it).

    Examples
    --------
    >>> segment_values(pl.Series(["A", None, "(missing)"])).to_list()
    ['A', '(missing)', '(missing) (the text)']
    """
    text = series.cast(pl.String)
    escaped = pl.when(text.str.contains(_LIKE_MISSING)).then(text + TEXT).otherwise(text)
    return pl.select(escaped.fill_null(MISSING)).to_series().alias(series.name)


def check_segment_by(name: str, columns: Sequence[str], rows: pl.DataFrame) -> None:
    """``segment_by`` names a feature column (the model reads it at transform) whose values in
    ``rows`` (the calibration rows) form at least one segment of :data:`MIN_SEGMENT_ROWS` rows."""
    if name not in columns:
        raise ConfigError(
            f"segment_by={name!r} is not one of the feature columns.",
            hint=f"pick a feature column (one of {', '.join(columns[:8])}), or include it with --columns",
        )
    sizes = segment_values(rows[name]).value_counts()["count"]
    largest = int(sizes.max() or 0)  # type: ignore[arg-type]
    if largest < MIN_SEGMENT_ROWS:
        raise ConfigError(
            f"segment_by={name!r}: no segment reaches {MIN_SEGMENT_ROWS} training rows, the least that "
            f"gets its own threshold (the column has {sizes.len():,} distinct values in {rows.height:,} "
            f"rows; the largest segment has {largest}): every row would use the global threshold.",
            hint=_segment_hint(name, rows.height),
        )


def _segment_hint(name: str, rows: int) -> str:
    """How to segment ``rows`` rows that ``name`` splits too finely."""
    bins = min(int(rows / (1.1 * MIN_SEGMENT_ROWS)), 10)  # a tenth to spare: quantile bins are uneven
    if bins < 2:
        return f"segments need {MIN_SEGMENT_ROWS} rows each: fit on more rows, or leave --segment-by out"
    cut = f"bin_quantiles({bins}, labels=False)" if hasattr(pl.Expr, "bin_quantiles") else f"qcut({bins})"
    return (
        "segment by a column of few values (a store, a country), or bin this one first: "
        f"df.with_columns(pl.col({name!r}).{cut}.alias({name + '_bin'!r})) gives {bins} "
        f"segments of about {rows // bins} rows"
    )


@dataclass(frozen=True)
class Segments:
    """Each segment's calibration and drift statistics; the global ones serve the others."""

    column: str
    calibrations: dict[str, Calibration]
    drift: dict[str, dict[str, Any]]
    rows: dict[str, int]
    small: tuple[str, ...]

    @classmethod
    def learn(
        cls,
        column: str,
        features: pl.DataFrame,
        specs: Sequence[ColumnSpec],
        errors: np.ndarray,
        contamination: float,
        holdout: np.ndarray | None,
    ) -> Segments:
        """Calibrate every segment of at least :data:`MIN_SEGMENT_ROWS` calibration rows."""
        values = segment_values(features[column]).to_numpy()
        held = np.zeros(features.height, bool)
        if holdout is not None:
            held[holdout] = True
        calibrations, drift, rows, small = {}, {}, {}, []
        for value in sorted(set(values.tolist())):
            mask = values == value
            if mask.sum() < MIN_SEGMENT_ROWS:
                small.append(value)
                continue
            calibrations[value] = Calibration.from_errors(errors[mask], contamination)
            stats = training_statistics(features.filter(pl.Series(mask)), specs)
            reference = error_statistics(errors[mask & held]) if holdout is not None else None
            if reference is not None:
                stats["errors"] = reference
            drift[value], rows[value] = stats, int(mask.sum())
        return cls(column, calibrations, drift, rows, tuple(small))

    def percentiles_and_flags(
        self, values: pl.Series, errors: np.ndarray, overall: Calibration
    ) -> tuple[np.ndarray, np.ndarray]:
        """``ae_error_pct`` and ``ae_outlier`` of each row from its segment's calibration (or the global)."""
        percentiles, flags = overall.percentile(errors), errors > overall.threshold
        segments = segment_values(values).to_numpy()
        for value, calibration in self.calibrations.items():
            rows = np.flatnonzero(segments == value)
            if rows.size:
                percentiles[rows] = calibration.percentile(errors[rows])
                flags[rows] = errors[rows] > calibration.threshold
        return percentiles, flags

    def count(
        self, features: pl.DataFrame, specs: Sequence[ColumnSpec], errors: np.ndarray | None
    ) -> tuple[dict[str, DriftCounts], dict[str, int]]:
        """Drift counts per calibrated segment, and the rows of each value unseen at fit (values
        seen with too few rows use the global calibration as documented, and are not listed)."""
        segments = segment_values(features[self.column])
        counts: dict[str, DriftCounts] = {}
        others: dict[str, int] = {}
        for value, index in _groups(segments).items():
            if value in self.drift:
                part = features[index]
                counts[value] = count_batch(
                    part, specs, self.drift[value], None if errors is None else errors[index]
                )
            elif value not in self.small:
                others[value] = int(index.size)
        return counts, others

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (``metadata["segments"]``)."""
        return {
            "column": self.column,
            "min_rows": MIN_SEGMENT_ROWS,
            "values": {
                value: {
                    "rows": self.rows[value],
                    "threshold": calibration.threshold,
                    "quantiles": list(calibration.quantiles),
                    "drift": self.drift[value],
                }
                for value, calibration in self.calibrations.items()
            },
            "small": list(self.small),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Segments:
        """Rebuild from :meth:`to_dict` output (checked at load by the manifest)."""
        values = data["values"]
        return cls(
            column=data["column"],
            calibrations={
                v: Calibration(threshold=s["threshold"], quantiles=tuple(s["quantiles"]))
                for v, s in values.items()
            },
            drift={v: s["drift"] for v, s in values.items()},
            rows={v: int(s["rows"]) for v, s in values.items()},
            small=tuple(data.get("small", ())),
        )


def _groups(segments: pl.Series) -> dict[str, np.ndarray]:
    """Row indices of each segment value."""
    frame = pl.DataFrame({"segment": segments, "row": np.arange(segments.len())})
    grouped = frame.group_by("segment", maintain_order=True).agg(pl.col("row"))
    return {value: np.asarray(rows, np.int64) for value, rows in grouped.iter_rows()}


@dataclass
class SegmentedCounts:
    """A batch's drift counts over all rows and per calibrated segment, and the rows of each
    segment value unseen at fit (it uses the global calibration)."""

    overall: DriftCounts
    segments: dict[str, DriftCounts]
    unseen: dict[str, int]

    def add(self, other: SegmentedCounts) -> None:
        """Add another batch's counts."""
        self.overall.add(other.overall)
        for value, counts in other.segments.items():
            self.segments.setdefault(value, DriftCounts()).add(counts)
        for value, rows in other.unseen.items():
            self.unseen[value] = self.unseen.get(value, 0) + rows


def count_segmented(
    features: pl.DataFrame,
    specs: Sequence[ColumnSpec],
    statistics: dict[str, Any] | None,
    segments: Segments | None,
    errors: np.ndarray | None,
) -> SegmentedCounts:
    """Count a batch for drift: all rows, and each segment when the model has segments."""
    overall = count_batch(features, specs, statistics, errors)
    if segments is None:
        return SegmentedCounts(overall, {}, {})
    per_segment, others = segments.count(features, specs, errors)
    return SegmentedCounts(overall, per_segment, others)


def needs_errors(statistics: dict[str, Any] | None, segments: Segments | None) -> bool:
    """Whether drift compares a batch's ``ae_error`` with stored validation errors."""
    stored = [statistics or {}, *(segments.drift.values() if segments is not None else ())]
    return any(stats.get("errors") is not None for stats in stored)


def warn_unseen(unseen: dict[str, int]) -> None:
    """Log the segment values unseen at fit, with their rows."""
    if unseen:
        named = ", ".join(f"{value!r} ({rows} rows)" for value, rows in sorted(unseen.items()))
        log.warning(
            "segment values unseen at fit (the global threshold, percentiles and drift serve them): %s", named
        )


def segmented_summary(
    counts: SegmentedCounts,
    specs: Sequence[ColumnSpec],
    statistics: dict[str, Any] | None,
    segments: Segments | None,
    *,
    tolerance: float,
    level: float,
    missing_drifts: bool = True,
) -> pl.DataFrame:
    """The drift summary of all rows, then of each segment present. With segments the level is
    split evenly between all rows and every calibrated segment, so a batch without drift is
    still flagged with probability at most ``level``. ``missing_drifts``: see :func:`summarize`."""
    test = partial(summarize, specs=specs, tolerance=tolerance, missing_drifts=missing_drifts)
    if segments is None:
        return test(counts.overall, statistics=statistics, level=level)
    share = level / (1 + len(segments.drift))
    parts = [test(counts.overall, statistics=statistics, level=share)]
    for value in sorted(counts.segments):
        parts.append(
            test(counts.segments[value], statistics=segments.drift[value], level=share, segment=value)
        )
    return pl.concat(parts)
