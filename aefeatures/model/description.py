"""What ``aefeatures info`` says of a model: its schema's checks and its segments' thresholds.

Examples
--------
>>> import aefeatures as aef, polars as pl
>>> df = pl.DataFrame({"a": [float(i % 9) for i in range(200)], "b": [float(i % 7) for i in range(200)]})
>>> schema_description(aef.fit(df, epochs=2, threads=1).schema)["a"]
{'dtype': 'Float64', 'nullable': True, 'checks': []}
"""

from __future__ import annotations

from typing import Any

import pandera.polars as pa

from aefeatures.model.segments import Segments


def schema_description(schema: pa.DataFrameSchema) -> dict[str, dict[str, Any]]:
    """Each column the schema checks: its dtype, whether it may be missing, its value checks."""
    return {
        name: {
            "dtype": str(column.dtype),
            "nullable": bool(column.nullable),
            "checks": [_check_text(check) for check in column.checks],
        }
        for name, column in schema.columns.items()
    }


def segments_description(segments: Segments | None) -> dict[str, Any] | None:
    """The ``--segment-by`` column, each segment's rows and outlier threshold, and the segments
    too small for their own (they use the global threshold); ``None`` without segments."""
    if segments is None:
        return None
    return {
        "column": segments.column,
        "thresholds": {value: float(c.threshold) for value, c in segments.calibrations.items()},
        "rows": dict(segments.rows),
        "too_small": list(segments.small),
    }


def _check_text(check: Any) -> str:
    """``in_range(min_value=0, max_value=10)``: a check's name and its arguments."""
    arguments = ", ".join(f"{key}={value!r}" for key, value in (check.statistics or {}).items())
    return f"{check.name}({arguments})"
