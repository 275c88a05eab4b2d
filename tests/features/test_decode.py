"""Decoding network outputs back into values: dtypes kept, encodings of clean values given back.

The property tests decode the *encoding* of generated values, fed in as if the network had
reconstructed it perfectly. ``decode`` reads binary cross-entropy positions as logits (true
above 0), so :func:`as_output` maps each encoded 0/1 of a boolean or missingness indicator to
the logit ``2x - 1`` (-1 / +1); one-hot blocks are already valid logits (argmax = the level) and
squared-error positions are scaled values, used as they are.

What comes back: categoricals (kept levels), booleans and the missing cells exactly; integers
exactly while their distance from the column's median stays below 2**22 (float32 carries 24
bits, so the scaled value is off by under one half); floats within float32 rounding; dates
exactly and datetimes within float32 rounding of the scaled epoch plus one tick. Values the
encoding clips (beyond ``SCALED_LIMIT`` scaled units) are left out of the comparison.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aefeatures.features.preprocessor import Preprocessor
from aefeatures.features.types.base import SCALED_LIMIT
from aefeatures.features.types.categorical import CategoricalSpec
from aefeatures.features.types.registry import spec_from_dict

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EPS32 = float(np.finfo(np.float32).eps)
LEVELS = ["a", "b", "c", "dé", "", "long level"]
INTEGERS = {
    pl.Int8: st.integers(-128, 127),
    pl.Int16: st.integers(-(2**15), 2**15 - 1),
    pl.UInt8: st.integers(0, 255),
    pl.UInt16: st.integers(0, 2**16 - 1),
    pl.Int32: st.integers(-(2**21), 2**21),
    pl.Int64: st.integers(-(2**21), 2**21),
    pl.UInt32: st.integers(0, 2**22),
    pl.UInt64: st.integers(0, 2**22),
}


def as_output(pre: Preprocessor, inputs: np.ndarray) -> np.ndarray:
    """Encoded inputs as a perfect network output: 0/1 of cross-entropy positions as logits -1/+1."""
    recon = inputs.copy()
    for term in pre.terms:
        if term.loss == "bce":
            recon[:, term.start] = 2.0 * inputs[:, term.start] - 1.0
    return recon


def round_trip(series: pl.Series) -> tuple[pl.DataFrame, Preprocessor, np.ndarray]:
    """Fit on the column, decode its encoding (missing cells from the indicator's logit)."""
    frame = series.to_frame()
    pre = Preprocessor.fit(frame, max_levels=64, min_level_count=1)
    recon = as_output(pre, pre.encode(frame).inputs)
    decoded = pre.decode(recon, pre.missing_logits(recon) > 0)
    assert decoded.schema == frame.schema
    assert decoded["v"].is_null().to_list() == series.is_null().to_list()
    return decoded, pre, recon


def values_of(draw: st.DrawFn, strategy: st.SearchStrategy[object], min_size: int = 2) -> list[object | None]:
    values = draw(st.lists(st.one_of(st.none(), strategy), min_size=min_size, max_size=30))
    if all(v is None for v in values):
        values[0] = draw(strategy)
    return values


@pytest.mark.parametrize("dtype", list(INTEGERS), ids=str)
@SETTINGS
@given(data=st.data())
def test_integers_come_back_exactly(dtype: pl.DataType, data: st.DataObject) -> None:
    series = pl.Series("v", values_of(data.draw, INTEGERS[dtype]), dtype=dtype)
    decoded, pre, recon = round_trip(series)
    kept = np.abs(recon[:, 0]) < SCALED_LIMIT
    assert decoded["v"].filter(kept).to_list() == series.filter(kept).to_list()


@pytest.mark.parametrize("dtype", [pl.Float32, pl.Float64], ids=str)
@SETTINGS
@given(data=st.data())
def test_floats_come_back_within_float32(dtype: pl.DataType, data: st.DataObject) -> None:
    width = 32 if dtype == pl.Float32 else 64
    floats = st.floats(-(2.0**100), 2.0**100, allow_nan=False, width=width)
    series = pl.Series("v", values_of(data.draw, floats), dtype=dtype)
    decoded, pre, recon = round_trip(series)
    center, scale = pre.specs[0].center, pre.specs[0].scale  # type: ignore[attr-defined]
    kept = (np.abs(recon[:, 0]) < SCALED_LIMIT) & series.is_not_null().to_numpy()
    x = series.cast(pl.Float64).to_numpy()[kept]
    got = decoded["v"].cast(pl.Float64).to_numpy()[kept]
    subnormal = float(np.finfo(np.float32).smallest_subnormal)  # the scaled value's absolute precision
    tolerance = 4 * EPS32 * (np.abs(x - center) + np.abs(x) + abs(center)) + 2 * subnormal * (scale + 1)
    assert np.all(np.abs(got - x) <= tolerance)


@SETTINGS
@given(data=st.data())
def test_booleans_come_back_exactly(data: st.DataObject) -> None:
    series = pl.Series("v", values_of(data.draw, st.booleans()), dtype=pl.Boolean)
    assert round_trip(series)[0]["v"].to_list() == series.to_list()


@pytest.mark.parametrize("dtype", [pl.String, pl.Categorical, pl.Enum(LEVELS)], ids=str)
@SETTINGS
@given(data=st.data())
def test_kept_levels_come_back_exactly(dtype: pl.DataType, data: st.DataObject) -> None:
    series = pl.Series("v", values_of(data.draw, st.sampled_from(LEVELS)), dtype=dtype)
    assert round_trip(series)[0]["v"].to_list() == series.to_list()


@SETTINGS
@given(data=st.data())
def test_dates_come_back_exactly(data: st.DataObject) -> None:
    days = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1))
    series = pl.Series("v", values_of(data.draw, days), dtype=pl.Date)
    assert round_trip(series)[0]["v"].to_list() == series.to_list()


@pytest.mark.parametrize(
    "dtype",
    [
        pl.Datetime("us"),
        pl.Datetime("ms"),
        pl.Datetime("ns"),
        pl.Datetime("us", "UTC"),
        pl.Datetime("ms", "Asia/Kolkata"),
    ],
    ids=str,
)
@SETTINGS
@given(data=st.data())
def test_datetimes_come_back_within_float32_of_the_scaled_epoch(
    dtype: pl.Datetime, data: st.DataObject
) -> None:
    stamps = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1))
    naive = pl.Series("v", values_of(data.draw, stamps), dtype=pl.Datetime(dtype.time_unit))
    series = naive.dt.replace_time_zone(dtype.time_zone) if dtype.time_zone else naive
    decoded, pre, recon = round_trip(series)
    assert decoded["v"].dtype == dtype
    spec = pre.specs[0]
    kept = series.is_not_null().to_numpy() & (np.abs(recon[:, 0]) < SCALED_LIMIT)
    x = series.dt.epoch("ns").to_numpy()[kept] / 1e9
    got = decoded["v"].dt.epoch("ns").to_numpy()[kept] / 1e9
    tick = {"ms": 1e-3, "us": 1e-6, "ns": 1e-9}[dtype.time_unit]
    # float32 on the scaled value, plus float64 on the epoch seconds themselves (1e-6 s near 2100)
    float64 = 4 * np.finfo(np.float64).eps * np.abs(x)
    assert np.all(np.abs(got - x) <= 2 * EPS32 * np.abs(x - spec.center) + tick + float64 + 1e-6)  # type: ignore[attr-defined]


def test_every_dtype_comes_back_as_itself() -> None:
    frame = pl.DataFrame(
        {
            "i8": pl.Series([1, 2, 3], dtype=pl.Int8),
            "u64": pl.Series([1, 2, 3], dtype=pl.UInt64),
            "f32": pl.Series([1.5, 2.5, None], dtype=pl.Float32),
            "flag": [True, False, None],
            "text": ["a", "b", "a"],
            "cat": pl.Series(["a", "b", "a"], dtype=pl.Categorical),
            "enum": pl.Series(["x", "y", "x"], dtype=pl.Enum(["x", "y", "z"])),
            "day": [date(2024, 1, 1), date(2024, 2, 1), None],
            "at": pl.Series(
                [datetime(2024, 1, 1, 5), datetime(2024, 1, 2), datetime(2024, 1, 3)]
            ).dt.replace_time_zone("Europe/Paris"),
        }
    )
    pre = Preprocessor.fit(frame, max_levels=64, min_level_count=1)
    recon = as_output(pre, pre.encode(frame).inputs)
    decoded = pre.decode(recon, pre.missing_logits(recon) > 0)
    assert decoded.schema == frame.schema
    assert decoded.drop("f32", "at").equals(frame.drop("f32", "at"))
    np.testing.assert_allclose(decoded["f32"].to_numpy(), frame["f32"].to_numpy(), rtol=1e-6)
    drift = (decoded["at"].dt.epoch("us") - frame["at"].dt.epoch("us")).abs().max()
    assert isinstance(drift, int) and drift < 10_000  # float32 of a scaled epoch: milliseconds


def test_numbers_are_clipped_into_their_dtype() -> None:
    frame = pl.DataFrame(
        {
            "i": pl.Series([0, 1, 2, 3], dtype=pl.UInt8),
            "f": pl.Series([0.0, 10.0, 20.0, 30.0], dtype=pl.Float32),
        }
    )
    pre = Preprocessor.fit(frame, max_levels=64, min_level_count=1)
    recon = np.array([[1e30, 3e38], [-1e30, -3e38], [0.3, 0.0]], dtype=np.float32)  # f: scale 11
    decoded = pre.decode(recon)
    assert decoded["i"].to_list()[:2] == [255, 0]
    assert decoded["f"].to_list()[:2] == [float(np.finfo(np.float32).max), -float(np.finfo(np.float32).max)]


def test_categories_decode_to_kept_levels_only() -> None:
    frame = pl.DataFrame({"c": ["a"] * 5 + ["b"] * 5 + ["rare"]})
    pre = Preprocessor.fit(frame, max_levels=64, min_level_count=5)
    spec = pre.specs[0]
    assert isinstance(spec, CategoricalSpec) and spec.levels == ("a", "b")
    recon = np.array(
        [[0.0, 1.0, 9.0, 9.0], [2.0, 1.0, 0.0, 50.0]], dtype=np.float32
    )  # rare / unknown highest
    assert pre.decode(recon)["c"].to_list() == ["b", "a"]


def test_a_column_without_kept_levels_decodes_to_its_most_frequent_level() -> None:
    frame = pl.DataFrame({"c": ["x", "y", "y", "z"]})
    spec = Preprocessor.fit(frame, max_levels=64, min_level_count=5).specs[0]
    assert isinstance(spec, CategoricalSpec) and spec.levels == () and spec.most_frequent == "y"
    assert spec.decode(np.zeros((2, 2), dtype=np.float32)).to_list() == ["y", "y"]
    old = {k: v for k, v in spec.to_dict().items() if k != "most_frequent"}  # written before it was stored
    assert spec_from_dict(old).decode(np.zeros((1, 2), dtype=np.float32)).to_list() == [
        "x"
    ]  # first rare level


def test_missing_logits_are_minus_infinity_without_an_indicator() -> None:
    frame = pl.DataFrame({"full": [1.0, 2.0, 3.0], "gappy": [1.0, None, 3.0], "c": ["a", None, "b"]})
    pre = Preprocessor.fit(frame, max_levels=64, min_level_count=1)
    recon = as_output(pre, pre.encode(frame).inputs)
    logits = pre.missing_logits(recon)
    assert logits.shape == (3, 3)
    assert np.isneginf(logits[:, 0]).all()
    assert logits[:, 1].tolist() == [-1.0, 1.0, -1.0] and logits[:, 2].tolist() == [-1.0, 1.0, -1.0]
    decoded = pre.decode(recon, logits > 0)
    assert decoded["c"].to_list() == ["a", None, "b"] and decoded["gappy"].is_null().to_list() == [
        False,
        True,
        False,
    ]


@pytest.mark.parametrize("dtype", [pl.Date, pl.Datetime("us"), pl.Datetime("ms", "UTC")], ids=str)
def test_times_far_outside_the_data_decode_within_the_years_python_holds(dtype: pl.DataType) -> None:
    # An output far below or above the training times (the network extrapolating) still gives a
    # value that converts to Python: to_list, pandas and the report read it.
    series = pl.Series("v", [date(1, 5, 1), date(169, 2, 1), date(261, 1, 1), date(2000, 1, 1)]).cast(dtype)
    pre = Preprocessor.fit(series.to_frame(), max_levels=64, min_level_count=1)
    recon = np.zeros((2, pre.n_inputs), dtype=np.float32)
    recon[:, pre.terms[0].start] = [-1e6, 1e6]
    values = pre.decode(recon)["v"].to_list()
    assert [value.year for value in values] == [1, 9999]
