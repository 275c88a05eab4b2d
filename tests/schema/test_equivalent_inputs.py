"""Equivalent inputs are accepted as the same: a time zone under another name, a decimal a float
holds, integers of another width, text as categorical; what is refused says the real reason."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

import aefeatures as aef
from aefeatures.errors import SchemaValidationError
from aefeatures.schema.schemas import infer_schema, validate
from aefeatures.schema.zones import same_zone
from tests.helpers import run_cli

ROWS = 60


def _frame(zone: str | None = "UTC") -> pl.DataFrame:
    start = dt.datetime(2024, 3, 30)
    return pl.DataFrame(
        {
            "t": pl.datetime_range(
                start, start + dt.timedelta(hours=ROWS - 1), "1h", eager=True, time_zone=zone
            ),
            "x": [i / 8 for i in range(ROWS)],
            "f": pl.Series([i / 4 for i in range(ROWS)], dtype=pl.Float32),
            "k": [i % 9 for i in range(ROWS)],
            "s": [["a", "b", "c"][i % 3] for i in range(ROWS)],
            "d": [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(ROWS)],
        }
    )


SCHEMA = infer_schema(_frame())


def _refused(frame: pl.DataFrame) -> str:
    with pytest.raises(SchemaValidationError) as raised:
        validate(frame, SCHEMA)
    return str(raised.value)


@pytest.mark.parametrize("zone", ["Etc/UTC", "Etc/GMT", "GMT", "Zulu", "Etc/Universal", "Etc/GMT+0", "UCT"])
def test_the_same_time_zone_under_another_name_is_accepted(zone: str) -> None:
    frame = _frame().with_columns(pl.col("t").dt.convert_time_zone(zone))
    checked = validate(frame, SCHEMA)
    assert checked["t"].dtype == pl.Datetime("us", "UTC")
    assert checked["t"].to_list() == _frame()["t"].to_list()  # the same instants


@pytest.mark.parametrize("zone", ["Europe/London", "Etc/GMT-1", "America/New_York"])
def test_another_time_zone_is_refused_with_the_conversion(zone: str) -> None:
    message = _refused(_frame().with_columns(pl.col("t").dt.convert_time_zone(zone)))
    assert "column 't'" in message and "the time zones differ" in message and repr(zone) in message
    assert "convert_time_zone('UTC')" in message


def test_zones_are_compared_by_their_offsets_and_rules() -> None:
    assert same_zone("US/Eastern", "America/New_York") and same_zone("Asia/Calcutta", "Asia/Kolkata")
    assert not same_zone("America/New_York", "America/Toronto")  # same rule today, not in 1945
    assert not same_zone("UTC", None) and same_zone(None, None)
    for hostile in ("../../etc/passwd", "/usr/share/zoneinfo/UTC", "No/Such_Zone", "", "UTC\0"):
        assert not same_zone("UTC", hostile)


def test_a_model_fitted_in_one_name_of_a_zone_transforms_data_in_another(tmp_path: Path) -> None:
    model = aef.fit(_frame("Etc/UTC"), epochs=1, threads=1, seed=0)
    model.save(tmp_path / "m")
    data = tmp_path / "utc.parquet"
    _frame("UTC").write_parquet(data)
    done = run_cli("transform", data, "--model", tmp_path / "m", "--output", tmp_path / "out.parquet")
    assert done.returncode == 0, done.stderr
    written = pl.read_parquet(tmp_path / "out.parquet")
    assert written.height == ROWS and written["t"].dtype == pl.Datetime("us", "UTC")
    pandas = _frame("UTC").to_pandas()
    pandas["t"] = pandas["t"].dt.tz_convert("Etc/UTC")
    assert len(model.transform(pandas)) == ROWS  # a pandas frame in, a pandas frame out


def test_decimals_a_float_holds_are_accepted_as_they_are() -> None:
    frame = _frame().with_columns(pl.col("x").cast(pl.Decimal(12, 4)), pl.col("f").cast(pl.Decimal(10, 2)))
    checked = validate(frame, SCHEMA)
    assert checked["x"].to_list() == _frame()["x"].to_list()
    assert checked["f"].to_list() == _frame()["f"].to_list()
    table = _frame().to_arrow()
    table = table.set_column(1, "x", table.column("x").cast(pa.decimal128(20, 5)))
    assert validate(pl.from_arrow(table), SCHEMA)["x"].to_list() == _frame()["x"].to_list()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("column", "value", "dtype", "digits"),
    [
        ("x", "0.1234567890123456789", pl.Decimal(38, 19), "15"),
        ("x", "12345678901234567.25", pl.Decimal(38, 2), "15"),
        ("f", "0.123456789", pl.Decimal(20, 9), "6"),
    ],
)
def test_decimals_with_more_digits_than_the_float_are_refused_for_precision(
    column: str, value: str, dtype: pl.Decimal, digits: str
) -> None:
    frame = _frame().with_columns(pl.Series(column, [Decimal(value)] * ROWS, dtype=dtype))
    message = _refused(frame)
    assert f"column {column!r}" in message and f"about {digits} significant digits" in message
    assert "precision would be lost" in message and "integers" not in message
    target = pl.Float64 if column == "x" else pl.Float32
    assert (
        f"pl.col({column!r}).cast(pl.{target}())" in message
        or f"pl.col({column!r}).cast(pl.{target})" in message
    )
    validate(frame.with_columns(pl.col(column).cast(target)), SCHEMA)  # the hint, followed, works


PARSES = {
    "pl.col('t').str.to_datetime(time_unit='us', time_zone='UTC')": pl.col("t").str.to_datetime(
        time_unit="us", time_zone="UTC"
    ),
    "pl.col('d').str.to_date()": pl.col("d").str.to_date(),
}


@pytest.mark.parametrize(
    ("column", "text", "what", "parse"),
    [
        (
            "t",
            "%Y-%m-%dT%H:%M:%SZ",
            "timestamps",
            "pl.col('t').str.to_datetime(time_unit='us', time_zone='UTC')",
        ),
        ("d", "%Y-%m-%d", "dates", "pl.col('d').str.to_date()"),
    ],
)
def test_iso_text_for_a_temporal_column_is_refused_with_the_parse_to_use(
    column: str, text: str, what: str, parse: str
) -> None:
    for strings in (pl.col(column).dt.strftime(text), pl.col(column).dt.strftime(text).cast(pl.Categorical)):
        frame = _frame().with_columns(strings)
        message = _refused(frame)
        assert f"column {column!r}" in message and f"text is not parsed as {what}" in message
        assert parse in message and "cannot be converted" not in message
    fixed = _frame().with_columns(pl.col(column).dt.strftime(text)).with_columns(PARSES[parse])
    assert validate(fixed, SCHEMA)[column].to_list() == _frame()[column].to_list()  # the hint works


def test_integers_of_other_widths_text_types_and_dates_are_the_same_inputs() -> None:
    base = _frame()
    for dtype in (pl.Int8, pl.Int16, pl.Int32, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64):
        assert (
            validate(base.with_columns(pl.col("k").cast(dtype)), SCHEMA)["k"].to_list() == base["k"].to_list()
        )
    for dtype in (pl.Categorical, pl.Enum(["a", "b", "c"])):
        assert (
            validate(base.with_columns(pl.col("s").cast(dtype)), SCHEMA)["s"].to_list() == base["s"].to_list()
        )
    table = base.to_arrow()
    table = table.set_column(4, "s", table.column("s").cast(pa.large_string()))
    assert validate(pl.from_arrow(table), SCHEMA)["s"].to_list() == base["s"].to_list()  # type: ignore[arg-type]
    as_datetime = base.with_columns(pl.col("d").cast(pl.Datetime("us")))
    assert validate(as_datetime, SCHEMA)["d"].to_list() == base["d"].to_list()
    as_ms = base.with_columns(pl.col("t").cast(pl.Datetime("ms", "UTC")))
    assert validate(as_ms, SCHEMA)["t"].to_list() == base["t"].to_list()
    assert validate(pl.from_pandas(base.to_pandas()), SCHEMA).equals(validate(base, SCHEMA))
