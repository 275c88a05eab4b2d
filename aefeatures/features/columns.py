"""A column's type, chosen by its dtype: learning its spec, and checking frames against specs.

The types (what each learns, its inputs, loss terms and decoding) are the modules of
:mod:`aefeatures.features.types`, asked in registry order; ``docs/features.md`` tables them.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from aefeatures.errors import DataError, leave_out
from aefeatures.features.types import ColumnSpec, LearnOptions, type_of
from aefeatures.features.types.numeric import WIDE_INTEGERS


def learn_spec(series: pl.Series, *, max_levels: int, min_level_count: int) -> ColumnSpec:
    """Learn one column's preprocessing from its training values.

    Examples
    --------
    >>> learn_spec(pl.Series("flag", [True, False]), max_levels=64, min_level_count=5).kind
    'boolean'
    """
    kind = type_of(series.dtype)
    if kind is None:
        raise DataError(
            f"column {series.name!r} cannot be a feature: {unsupported_reason(series.dtype)}.",
            hint=f"leave it out: {leave_out(series.name)}",
        )
    return kind.learn(series, LearnOptions(max_levels=max_levels, min_level_count=min_level_count))


def unsupported_reason(dtype: pl.DataType) -> str:
    """Why a column of ``dtype`` cannot be a feature, and what to do instead.

    Examples
    --------
    >>> unsupported_reason(pl.Null)
    'it has type Null: every value is missing'
    """
    if dtype in WIDE_INTEGERS:
        return f"{dtype} (128-bit integers) cannot be validated or scaled exactly; cast it to Int64 if the values fit"
    if dtype.is_nested():
        return (
            f"{dtype} holds nested values, which have no encoding; unnest or aggregate it into plain columns"
        )
    if dtype == pl.Null:
        return "it has type Null: every value is missing"
    if dtype == pl.Object:
        return "it holds Python objects (type Object); build it with a real type (number, text, date)"
    if dtype == pl.Time or isinstance(dtype, pl.Duration):
        return f"{dtype} values have no encoding; convert them to a number first (e.g. .dt.total_seconds())"
    if dtype == pl.Binary:
        return "binary values have no encoding; decode them to text (.cast(pl.String)) first"
    return f"{dtype} values have no encoding"


def check_feature_types(schema: pl.Schema, specs: Sequence[ColumnSpec]) -> None:
    """Refuse feature columns whose type is not of the kind the model learnt.

    Validation against the model's schema normally guarantees it; a model fitted with a schema
    that had no rule for a feature (older versions allowed it) gets here unchecked, and would
    otherwise fail deep in the encoding with a message naming no column.
    """
    for spec in specs:
        found = schema.get(spec.name)
        if found is None:
            raise DataError(
                f"column {spec.name!r} is missing: the model reads it.",
                hint=f"add the column, or re-fit the model without it ({leave_out(spec.name)})",
            )
        if type_of(found) is not type(spec):
            raise DataError(
                f"column {spec.name!r} is {found}, but the model reads it as a {spec.kind} column "
                f"(fitted on {spec.dtype}) and its schema has no rule for the column, so nothing converted it.",
                hint=f"convert the column to {spec.dtype} first, or re-fit with a schema that covers every feature",
            )
