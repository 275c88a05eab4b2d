"""Fit refuses what transform could never take, names unsupported types with the fix, and fits
and transforms hostile but valid data (extremes, odd names, rare types) without losing a row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

import aefeatures as aef
from aefeatures.cli import main
from aefeatures.errors import DataError
from aefeatures.features.preprocessor import output_name_clashes
from aefeatures.transform.streaming import transform_path

FIT: dict[str, Any] = {"epochs": 1, "threads": 1, "seed": 0}
ROWS = 120


def numbers(rows: int = ROWS, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame({"x": rng.normal(size=rows), "y": rng.normal(size=rows)})


# --- names transform could never take --------------------------------------------------------------


@pytest.mark.parametrize("name", ["ae_error", "ae_error_pct", "ae_outlier", "ae_z0", "ae_z17", "ae_error__x"])
@pytest.mark.parametrize("stream", [False, True])
def test_a_feature_named_like_an_output_column_is_refused(tmp_path: Path, name: str, stream: bool) -> None:
    numbers().with_columns(pl.col("x").alias(name)).write_parquet(tmp_path / "d.parquet")
    with pytest.raises(DataError, match=f"column '{name}' is named like a column the model appends") as info:
        aef.fit(tmp_path / "d.parquet", stream=stream, **FIT)
    assert "--prefix ae2_" in str(info.value) and "--exclude" not in str(info.value)
    with pytest.raises(DataError, match="named like a column the model appends"):  # not a way out:
        aef.fit(tmp_path / "d.parquet", exclude=[name], **FIT)  # transform would still refuse the data
    model = aef.fit(tmp_path / "d.parquet", prefix="ae2_", **FIT)  # the hint, followed
    assert model.transform(tmp_path / "d.parquet").columns[-1] == "ae2_outlier"


def test_only_the_names_the_model_appends_clash() -> None:
    names = ["ae_z0", "ae_z01", "ae_zeta", "ae_errors", "AE_error", "ae_error__y", "ae_error__nope", "y"]
    assert output_name_clashes(names, "ae_") == ["ae_z0", "ae_error__y"]
    assert output_name_clashes(["ae_error", "f_error", "f_z3"], "f_") == ["f_error", "f_z3"]


def test_another_prefix_is_the_fix() -> None:
    data = numbers().with_columns(ae_error=pl.col("x") * 2)
    model = aef.fit(data, prefix="f_", **FIT)
    assert "ae_error" in model.columns
    assert model.transform(data).columns[-1] == "f_outlier"


def test_yesterdays_transform_output_fed_back_is_refused_with_a_prefix_that_works() -> None:
    model = aef.fit(numbers(), **FIT)
    scored = model.transform(numbers(seed=1))
    with pytest.raises(DataError, match="looks like the output of an earlier transform") as info:
        aef.fit(scored, **FIT)
    for name in model.output_names()[:5]:
        assert repr(name) in str(info.value)
    assert "prefix='ae2_'" in str(info.value)
    refit = aef.fit(scored, prefix="ae2_", **FIT)
    assert refit.transform(scored).columns[-1] == "ae2_outlier"


def test_the_cli_exits_1_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    numbers().with_columns(ae_z0=pl.col("x")).write_parquet(tmp_path / "d.parquet")
    code = main(["fit", str(tmp_path / "d.parquet"), "--model", str(tmp_path / "m"), "--epochs", "1"])
    assert code == 1 and "'ae_z0'" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.parquet"]


def test_an_empty_column_name_cannot_be_a_feature() -> None:
    data = numbers().with_columns(pl.col("x").alias(""))
    with pytest.raises(DataError, match="feature column 2 has an empty name"):
        aef.fit(data, **FIT)
    model = aef.fit(data, exclude=[""], **FIT)
    assert model.transform(data).columns[:3] == ["x", "y", ""]


# --- types that cannot be features -----------------------------------------------------------------


UNSUPPORTED: dict[str, tuple[pl.Series, str]] = {
    "list": (pl.Series([[1.0, 2.0]] * ROWS), "nested values"),
    "struct": (pl.Series([{"a": 1.0}] * ROWS), "nested values"),
    "int128": (pl.Series(range(ROWS), dtype=pl.Int128), "128-bit integers"),
    "time": (pl.Series([time(1, 2)] * ROWS), "convert them to a number"),
    "duration": (pl.Series([timedelta(seconds=i) for i in range(ROWS)]), "convert them to a number"),
    "binary": (pl.Series([b"ab"] * ROWS), "decode them to text"),
    "null": (pl.Series([None] * ROWS), "every value is missing"),
}


@pytest.mark.parametrize("name", list(UNSUPPORTED))
def test_an_unsupported_type_is_named_with_the_fix(name: str, caplog: pytest.LogCaptureFixture) -> None:
    series, says = UNSUPPORTED[name]
    data = numbers().with_columns(series.alias(name))
    with pytest.raises(DataError, match=f"column '{name}' has type .*{says}"):
        aef.fit(data, columns=["x", name], **FIT)
    with caplog.at_level("WARNING", logger="aefeatures"):
        assert aef.fit(data, **FIT).columns == ["x", "y"]
    assert f"'{name}'" in caplog.text and says in caplog.text


def test_a_categorical_column_with_only_nulls_is_named() -> None:
    data = numbers().with_columns(c=pl.Series([None] * ROWS, dtype=pl.Categorical))
    with pytest.raises(DataError, match="column 'c' has no values in the training data"):
        aef.fit(data, **FIT)


# --- hostile but valid data ------------------------------------------------------------------------

rows = pl.int_range(ROWS)
HOSTILE: dict[str, Callable[[pl.DataFrame], pl.DataFrame]] = {
    "negative-zero": lambda d: d.with_columns(z=pl.when(rows % 2 == 0).then(-0.0).otherwise(0.0)),
    "constant-but-one-nan": lambda d: d.with_columns(c=pl.when(rows == 5).then(float("nan")).otherwise(1.0)),
    # values repeat: distinct integers in order would be left out as a row number
    "ints-near-2**63": lambda d: d.with_columns(big=pl.Series([2**63 - 1 - i % 97 for i in range(ROWS)])),
    "uint64-max": lambda d: d.with_columns(
        big=pl.Series([2**64 - 1 - i % 97 for i in range(ROWS)], dtype=pl.UInt64)
    ),
    "decimal": lambda d: d.with_columns(
        money=pl.Series([Decimal(f"{v:.2f}") for v in d["x"]], dtype=pl.Decimal(10, 2))
    ),
    "dates-before-1970-and-year-1": lambda d: d.with_columns(
        born=pl.Series([date(1, 1, 1) + timedelta(days=200 * i) for i in range(ROWS)])
    ),
    "datetimes-after-2262": lambda d: d.with_columns(
        when=pl.Series([datetime(9999, 1, 1) - timedelta(days=i) for i in range(ROWS)])
    ),
    "odd-names": lambda d: d.rename({"x": "a b", "y": "ünï ✓"}).with_columns(
        pl.col("a b").alias("new\nline"), pl.col("a b").alias("tab\there")
    ),
    "empty-strings": lambda d: d.with_columns(
        s=pl.when(rows % 3 == 0).then(pl.lit("")).otherwise(pl.lit("b"))
    ),
    "enum-with-unused-level": lambda d: d.with_columns(
        e=pl.Series(["a", "b"] * (ROWS // 2), dtype=pl.Enum(["a", "b", "c"]))
    ),
    "float16": lambda d: d.with_columns(h=pl.col("x").cast(pl.Float16)),
    "boolean-with-nulls": lambda d: d.with_columns(flag=pl.Series([True, None, False] * (ROWS // 3))),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_but_valid_data_fits_and_transforms_every_row(tmp_path: Path, name: str) -> None:
    data = HOSTILE[name](numbers())
    model = aef.fit(data, **FIT)
    assert model.columns == data.columns
    out = model.transform(data)
    assert out.height == ROWS and out["ae_error"].is_finite().all()
    assert model.drift(data, on_drift="fail")["drifted"].sum() == 0  # its own data has not drifted
    data.write_parquet(tmp_path / "d.parquet")
    streamed = aef.fit(tmp_path / "d.parquet", stream=True, **FIT)
    summary = transform_path(streamed, tmp_path / "d.parquet", tmp_path / "o.parquet", on_drift="fail")
    assert summary.rows == ROWS
    assert (
        pl.read_parquet(tmp_path / "o.parquet").select(data.columns).equals(data)
    )  # inputs kept as they were
