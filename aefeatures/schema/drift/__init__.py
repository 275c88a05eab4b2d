"""Drift of new data against the training data: statistical tests sized by the batch.

An inferred schema enforces names, dtypes and nullability only; how the values moved is a
drift signal, reported per column and for the rows as a whole. ``fit`` stores the training
statistics (:mod:`~aefeatures.schema.drift.counts`); a batch is counted the same way
(:func:`count_batch`, counts of batches add up), and :func:`summarize` tests the counts
(:mod:`~aefeatures.schema.drift.significance`):

=================  =========================================================================
test               against
=================  =========================================================================
missing values     the training missing count (Fisher's exact test)
distribution       numeric and datetime values: the training quantile bins plus bins below
                   the minimum and above the maximum; categorical: the training count of
                   each level, ``rare`` and ``unseen``; boolean: false and true (chi-square
                   of the two samples, sparse bins merged)
rows (ae_error)    the validation rows' errors (one-sided rank test: errors rose)
=================  =========================================================================

All p-values of a batch are adjusted together (Holm), so a batch without drift raises an
alarm with probability at most ``level`` (default 1%) whatever its size and number of
columns. A line drifts when one of its tests rejects and its effect is at least ``tolerance``
(the missing rate moved by that much, or the PSI that large): with huge batches, differences
too small to matter are significant. A batch too small to form two bins of values is
``too small to tell``. :func:`check_drift` then logs a warning (``on_drift="warn"``) or raises
:class:`~aefeatures.errors.DriftError` (``"fail"``).

Examples
--------
>>> import polars as pl
>>> from aefeatures.features.preprocessor import Preprocessor
>>> train = pl.DataFrame({"x": [float(i % 50) for i in range(1000)]})
>>> specs = Preprocessor.fit(train, max_levels=64, min_level_count=5).specs
>>> stats = training_statistics(train, specs)
>>> drift_summary(train.head(500), specs, stats)["status"].to_list()
['ok', 'not tested']
>>> drift_summary(train.head(500) + 25.0, specs, stats)["drifted"].to_list()
[True, False]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from aefeatures.defaults import DEFAULT_DRIFT_LEVEL, DEFAULT_DRIFT_TOLERANCE, check_level, check_tolerance
from aefeatures.defaults import DEFAULT_ON_DRIFT as DEFAULT_ON_DRIFT  # re-exported; defined once there
from aefeatures.defaults import ON_DRIFT as ON_DRIFT
from aefeatures.features.types import ColumnSpec
from aefeatures.schema.drift.counts import (
    DriftCounts,
    count_batch,
    count_errors,
    error_statistics,
    training_statistics,
)
from aefeatures.schema.drift.summary import ROWS, SUMMARY_SCHEMA, check_drift, summarize, summary_json

__all__ = [
    "DEFAULT_ON_DRIFT",
    "ON_DRIFT",
    "ROWS",
    "SUMMARY_SCHEMA",
    "DriftCounts",
    "check_drift",
    "count_batch",
    "count_errors",
    "drift_summary",
    "error_statistics",
    "summarize",
    "summary_json",
    "training_statistics",
]


def drift_summary(
    features: pl.DataFrame,
    specs: Sequence[ColumnSpec],
    statistics: dict[str, Any] | None,
    *,
    errors: np.ndarray | None = None,
    tolerance: float = DEFAULT_DRIFT_TOLERANCE,
    level: float = DEFAULT_DRIFT_LEVEL,
) -> pl.DataFrame:
    """:func:`count_batch` then :func:`summarize`: the drift summary of one frame of validated
    feature columns (and its ``ae_error``, for the rows' line)."""
    check_tolerance(tolerance)
    check_level(level)
    counts = count_batch(features, specs, statistics, errors)
    return summarize(counts, specs, statistics, tolerance=tolerance, level=level)
