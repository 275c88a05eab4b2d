"""Arrow column types that polars cannot hold, found before polars sees them.

Polars panics or fails deep inside on two kinds of Arrow columns that Parquet writers and pyarrow
produce: timestamps whose time zone is a fixed offset (``Z``, ``+05:30``) rather than a zone of
the time zone database, and 256-bit decimals (precision above 38). An in-memory table's ``Z`` or
``+00:00`` is UTC and is read as ``UTC``; everything else is refused naming the column and the
rewrite that fixes it.

>>> import datetime as dt
>>> table = pa.table({"t": pa.array([dt.datetime(2020, 1, 1)], pa.timestamp("us", tz="Z"))})
>>> polars_ready(table, "the pyarrow table").schema.field("t").type
TimestampType(timestamp[us, tz=UTC])
"""

from __future__ import annotations

import zoneinfo

import pyarrow as pa

from aefeatures.errors import DataError, shorten

_UTC_OFFSETS = frozenset({"Z", "z", "+00:00", "-00:00", "+0000", "-0000", "+00", "-00"})


def _zone_known(zone: str) -> bool:
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _problem(field: pa.Field, *, utc_offsets_read: bool) -> tuple[str, str] | None:
    """What polars cannot hold in ``field`` and the fix, or None when it can."""
    kind = field.type
    if pa.types.is_timestamp(kind) and kind.tz is not None:
        if kind.tz in _UTC_OFFSETS and utc_offsets_read:
            return None
        if not _zone_known(kind.tz):
            return (
                f"has time zone {shorten(repr(kind.tz), 40)}, a fixed offset polars cannot read",
                "store it as UTC (the same instants): with pyarrow, table = table.cast(pa.schema("
                f"[f.with_type(pa.timestamp({kind.unit!r}, tz='UTC')) if f.name == {field.name!r} else f "
                "for f in table.schema])) on the table, or on pyarrow.parquet.read_table(path) and write "
                "it back with pyarrow.parquet.write_table",
            )
    if isinstance(kind, pa.Decimal256Type) or (pa.types.is_decimal(kind) and kind.precision > 38):
        return (
            f"is a decimal of precision {kind.precision}, more than the 38 digits polars holds",
            f"cast it to float64 or to decimal128(38, {kind.scale}) before passing it",
        )
    return None


def check_arrow_schema(schema: pa.Schema, where: str) -> None:
    """Refuse columns of ``schema`` (a Parquet file's, say) that polars cannot read.

    >>> try:
    ...     check_arrow_schema(pa.schema([("d", pa.decimal256(40, 2))]), "'x.parquet'")
    ... except DataError as error:
    ...     print(error.args[0])
    column 'd' of 'x.parquet' is a decimal of precision 40, more than the 38 digits polars holds.
    """
    for field in schema:
        problem = _problem(field, utc_offsets_read=False)
        if problem is not None:
            raise DataError(f"column {shorten(repr(field.name))} of {where} {problem[0]}.", hint=problem[1])


def polars_ready(table: pa.Table | pa.RecordBatch, where: str) -> pa.Table | pa.RecordBatch:
    """``table`` with UTC written as an offset (``Z``, ``+00:00``) read as ``UTC``; columns polars
    cannot hold otherwise are refused as :func:`check_arrow_schema` does."""
    for field in table.schema:
        problem = _problem(field, utc_offsets_read=True)
        if problem is not None:
            raise DataError(f"column {shorten(repr(field.name))} of {where} {problem[0]}.", hint=problem[1])
    fields = [
        field.with_type(pa.timestamp(field.type.unit, tz="UTC"))
        if pa.types.is_timestamp(field.type) and field.type.tz in _UTC_OFFSETS
        else field
        for field in table.schema
    ]
    schema = pa.schema(fields, metadata=table.schema.metadata)
    return table if schema.equals(table.schema) else table.cast(schema)
