"""Exact coercion: which casts a schema may make without changing a value.

Integers become floats only when exactly representable, decimals only when the float reads back
as the same decimal, floats become integers only when whole and in range, booleans come only from
0/1 (or booleans), datetimes only from datetimes and dates in the same time zone (compared by
meaning: ``Etc/UTC`` is ``UTC``), text only from text, categorical or enum columns; text is never
parsed as dates or timestamps. Anything else is a failure record naming the
column, both types and the first value that would change.

Examples
--------
>>> inexact_conversion(pl.Series("n", [1.0, 1.7]), pl.Int64())["failure_case"]
1.7
"""

from __future__ import annotations

from typing import Any

import pandera.polars as pa
import polars as pl

from aefeatures.schema.zones import same_zone

# Significant decimal digits a float keeps whatever the value (DBL_DIG, FLT_DIG).
FLOAT_DIGITS: dict[Any, int] = {pl.Float64: 15, pl.Float32: 6}


def inexact_coercions(frame: pl.DataFrame, schema: pa.DataFrameSchema) -> list[dict[str, Any]]:
    """One failure record per column that the schema would coerce with a loss (see the module doc)."""
    failures, present = [], set(frame.columns)  # frame.columns is a new list on every call
    for name, column in schema.columns.items():
        if name not in present or column.dtype is None or not (schema.coerce or column.coerce):
            continue
        target = _polars_dtype(column.dtype.type)
        failure = None if target is None else inexact_conversion(frame[name], target)
        if failure is not None:
            failures.append(failure)
    return failures


def inexact_conversion(values: pl.Series, target: pl.DataType) -> dict[str, Any] | None:
    """A failure record when casting ``values`` to ``target`` would change a value; ``None`` if exact.

    Values that cannot be converted at all (text that is not a number, say) are left to the
    schema's own checks, which report them as values that cannot be converted.
    """
    source = values.dtype
    if source == target or source == pl.Null:
        return None
    rule, reason = _conversion_rule(source, target, values.name)
    if rule == "exact":
        return None
    try:
        bad = values.is_not_null() if rule == "refuse" else _changed_by(values, target)
    except pl.exceptions.PolarsError:  # polars cannot cast at all: the schema's checks say so
        return None
    positions = bad.arg_true()
    if not len(positions):
        return None
    first = int(positions[0])
    return {
        "column": values.name,
        "check": f"exact_coerce({source} -> {target})",
        "failure_case": values[first],
        "index": first,
        "count": len(positions),
        "reason": f"expected {target}, found {source}: {reason}",
    }


def _conversion_rule(source: pl.DataType, target: pl.DataType, name: str = "c") -> tuple[str, str]:
    """How casting ``source`` to ``target`` is checked: ``"exact"`` (nothing can change),
    ``"values"`` (each value must survive the cast) or ``"refuse"`` (no value may be cast)."""
    if source == pl.Object:
        return (
            "refuse",
            "an Object column holds Python objects, which are never converted; build the column "
            f"with a real type (e.g. pl.Series(name, values, dtype=pl.{target.base_type()!r}))",
        )
    number = source.is_numeric()
    if _is_text(target):
        if _is_text(source):
            return "exact", ""
        return (
            "refuse",
            "only text, categorical or enum columns are read as text (this would store their printed form)",
        )
    if target.is_integer():
        if number:
            return (
                "values",
                f"only whole numbers within the {target} range convert (others would be truncated or wrap)",
            )
        return (
            ("exact", "") if source in (pl.Boolean, pl.String) else ("refuse", "these values are not numbers")
        )
    if target.is_float():
        if source.is_float():
            return "values", f"values beyond the {target} range would become infinite"
        if isinstance(source, pl.Decimal):
            digits = FLOAT_DIGITS[target.base_type()]
            return "values", (
                f"{target} holds about {digits} significant digits and these decimals have more: "
                f"precision would be lost; if that is acceptable, cast the column yourself "
                f"(pl.col({name!r}).cast(pl.{target}))"
            )
        if number:
            return "values", f"integers this large are not exactly representable as {target}"
        return (
            ("exact", "") if source in (pl.Boolean, pl.String) else ("refuse", "these values are not numbers")
        )
    if target == pl.Boolean:
        if number:
            return "values", "only 0 and 1 are read as booleans"
        return ("exact", "") if source == pl.String else ("refuse", "these values are not booleans")
    if isinstance(target, pl.Datetime):
        zone = _zone_change(source, target, name)
        if zone:
            return "refuse", zone
        if isinstance(source, pl.Datetime):
            return "values", "the values would lose precision"
        if source == pl.Date:
            return "exact", ""
        if _is_text(source):
            return "refuse", _unparsed_text(name, "timestamps", _to_datetime(name, target))
        return "refuse", "numbers are not read as timestamps (they would be taken as time units since 1970)"
    if target == pl.Date:
        if isinstance(source, pl.Datetime):
            return "values", "the time of day would be dropped"
        if _is_text(source):
            return "refuse", _unparsed_text(name, "dates", f"pl.col({name!r}).str.to_date()")
        return "refuse", "only dates and datetimes are read as dates"
    if type(source) is type(target) or (number and target.is_numeric()):
        return "values", "converting would change these values"
    return "refuse", f"{source} values cannot become {target} without changing them"


def _zone_change(source: pl.DataType, target: pl.Datetime, name: str) -> str:
    """Why a cast to ``target`` would re-read the clock times of ``source``; empty when it would not.

    A different time zone, or naive against aware, is never converted: whether 09:00 naive is
    09:00 UTC or 09:00 in Paris is not in the data (and polars would silently pick one).
    """
    wanted = target.time_zone
    if isinstance(source, pl.Datetime):
        found = source.time_zone
    elif source == pl.Date:
        found = None
    else:
        return ""
    if same_zone(found, wanted):  # the same zone under another name (Etc/UTC for UTC) is no change
        return ""
    describe: dict[str | None, str] = {None: "no time zone (naive)"}
    column = f"pl.col({name!r})" + (".cast(pl.Datetime)" if source == pl.Date else "")
    fix = (
        f"{column}.dt.replace_time_zone({wanted!r}) if the clock times are {wanted}"
        if found is None
        else (
            f"{column}.dt.replace_time_zone(None) if the model's clock times are naive"
            if wanted is None
            else f"{column}.dt.convert_time_zone({wanted!r})"
        )
    )
    return (
        f"the time zones differ: the model's column has {describe.get(wanted, repr(wanted))}, "
        f"the data {describe.get(found, repr(found))}; convert it yourself ({fix})"
    )


def _changed_by(values: pl.Series, target: pl.DataType) -> pl.Series:
    """Where casting to ``target`` loses or changes a non-null value (checked by casting back)."""
    converted = values.cast(target, strict=False)
    present = values.is_not_null()
    if values.dtype.is_float() and target.is_float():  # narrowing only rounds, unless out of range
        return present & values.is_finite() & ~converted.is_finite().fill_null(False)
    if isinstance(values.dtype, pl.Decimal) and target.is_float():
        # The float holds the decimal when its shortest printed form reads back as the same decimal
        # (0.1 does; 0.1234567890123456789 does not: Float64 keeps about 15 significant digits).
        back = converted.cast(pl.String).cast(values.dtype, strict=False)
        return present & (converted.is_null() | back.ne_missing(values))
    back = converted.cast(values.dtype, strict=False)
    return present & (converted.is_null() | back.ne_missing(values))


def _unparsed_text(name: str, what: str, parse: str) -> str:
    """Why text is refused for a temporal column: its format and zone are the user's to say."""
    return (
        f"text is not parsed as {what} (its format and time zone would be guessed): "
        f"parse it yourself, e.g. {parse}"
    )


def _to_datetime(name: str, target: pl.Datetime) -> str:
    """``pl.col('t').str.to_datetime(time_unit='us', time_zone='UTC')`` for ``target``."""
    zone = f", time_zone={target.time_zone!r}" if target.time_zone else ""
    return f"pl.col({name!r}).str.to_datetime(time_unit={target.time_unit!r}{zone})"


def _is_text(dtype: pl.DataType) -> bool:
    return dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum))


def _polars_dtype(dtype: Any) -> pl.DataType | None:
    """The schema's dtype as a polars dtype instance; ``None`` when it is not one (nothing to check)."""
    try:
        instance = dtype() if isinstance(dtype, type) else dtype
    except TypeError:  # a class that needs parameters, such as Enum without categories
        return None
    return instance if isinstance(instance, pl.DataType) else None
