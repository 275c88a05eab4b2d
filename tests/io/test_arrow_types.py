"""Arrow columns polars cannot hold: UTC offsets read as UTC, the rest refused naming the column,
and the hint's rewrite followed to a file that fits."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aefeatures.errors import DataError
from aefeatures.io.sources import read_frame


def _table(tz: str) -> pa.Table:
    start = dt.datetime(2020, 1, 1)
    times = [start + dt.timedelta(hours=i) for i in range(40)]
    return pa.table({"t": pa.array(times, pa.timestamp("us", tz=tz)), "x": [float(i % 7) for i in range(40)]})


@pytest.mark.parametrize("tz", ["Z", "+00:00", "-00:00"])
def test_an_in_memory_utc_offset_is_read_as_utc(tz: str) -> None:
    frame = read_frame(_table(tz))
    assert frame.schema["t"] == pl.Datetime("us", "UTC")
    assert frame["t"][0] == dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize("tz", ["+05:30", "-08:00"])
def test_another_fixed_offset_is_refused_naming_the_column(tz: str) -> None:
    with pytest.raises(DataError, match=r"column 't' of the pyarrow table has time zone") as caught:
        read_frame(_table(tz))
    assert "tz='UTC'" in (caught.value.hint or "")


def test_a_decimal_wider_than_38_digits_is_refused_not_a_panic(tmp_path: Path) -> None:
    table = pa.table({"d": pa.array([1, 2], pa.int64()).cast(pa.decimal256(40, 2))})
    with pytest.raises(DataError, match=r"column 'd' of the pyarrow table is a decimal of precision 40"):
        read_frame(table)
    pq.write_table(table, tmp_path / "wide.parquet")
    with pytest.raises(DataError, match=r"column 'd' of .*wide.parquet' is a decimal of precision 40"):
        read_frame(tmp_path / "wide.parquet")


def test_a_file_with_a_z_zone_is_refused_and_the_hint_followed_fits(tmp_path: Path) -> None:
    data = tmp_path / "events.parquet"
    pq.write_table(_table("Z"), data)
    run = [
        sys.executable,
        "-m",
        "aefeatures",
        "fit",
        str(data),
        "--model",
        str(tmp_path / "m"),
        "--epochs",
        "2",
    ]
    refused = subprocess.run(run, capture_output=True, text=True, cwd=tmp_path)
    assert refused.returncode == 1 and "panic" not in refused.stderr.lower()
    assert "column 't' of" in refused.stderr and "fixed offset" in refused.stderr
    assert not (tmp_path / "m").exists()
    # the hint: cast the column to UTC and write the file back
    table = pq.read_table(data)
    table = table.cast(
        pa.schema([f.with_type(pa.timestamp("us", tz="UTC")) if f.name == "t" else f for f in table.schema])
    )
    pq.write_table(table, data)
    fitted = subprocess.run(run, capture_output=True, text=True, cwd=tmp_path)
    assert fitted.returncode == 0, fitted.stderr
    assert (tmp_path / "m" / "aefeatures.json").exists()
