"""Property-based tests over generated mixed-type frames (hypothesis).

Fit never crashes on a valid frame (at least two rows, every column observed somewhere), and
transform keeps the row count, the row order and every input column, appending the contract's
columns with the contract's dtypes.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import polars as pl
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import aefeatures as aef
from tests.helpers import make_mixed

DTYPES: dict[str, pl.DataType] = {
    "float": pl.Float64(),
    "float32": pl.Float32(),
    "int": pl.Int64(),
    "bool": pl.Boolean(),
    "string": pl.String(),
    "datetime": pl.Datetime("us"),
    "date": pl.Date(),
}
VALUES = {
    "float": st.floats(allow_infinity=False, width=64),  # NaN counts as missing
    "float32": st.floats(allow_infinity=False, width=32),
    "int": st.integers(-(2**53), 2**53),
    "bool": st.booleans(),
    "string": st.sampled_from(["a", "b", "c", "dé", " ", "", "long level name"]),
    "datetime": st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    "date": st.dates(),
}
NAMES = st.text(st.characters(categories=("L", "N", "Zs", "Pd")), min_size=1, max_size=8).filter(
    lambda n: not n.startswith("ae_")
)
SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@st.composite
def mixed_frames(draw: st.DrawFn, min_rows: int = 2, max_rows: int = 40) -> pl.DataFrame:
    """Frames of 1-5 columns of any feature type, with missing values, odd names and extremes."""
    n_rows = draw(st.integers(min_rows, max_rows))
    kinds = draw(st.lists(st.sampled_from(sorted(DTYPES)), min_size=1, max_size=5))
    names = draw(st.lists(NAMES, min_size=len(kinds), max_size=len(kinds), unique=True))
    columns = []
    for name, kind in zip(names, kinds, strict=True):
        values = draw(st.lists(st.one_of(st.none(), VALUES[kind]), min_size=n_rows, max_size=n_rows))
        if all(v is None or v != v for v in values):  # a column needs one observed value to learn from
            values[draw(st.integers(0, n_rows - 1))] = draw(VALUES[kind].filter(lambda v: v == v))
        columns.append(pl.Series(name, values, dtype=DTYPES[kind]))
    return pl.DataFrame(columns)


def check_transform(model: aef.AutoencoderModel, frame: pl.DataFrame) -> None:
    out = model.transform(frame)
    assert out.height == frame.height
    assert out.columns == frame.columns + model.output_names()
    assert out.select(frame.columns).equals(frame)  # same values, same order
    k = model.latent_dim
    expected = [pl.Float32] * k + [pl.Float64, pl.Float64, pl.Boolean]
    assert [out.schema[name] for name in model.output_names()] == expected
    errors = out["ae_error"].to_numpy()
    assert np.isfinite(errors).all() and (errors >= 0).all()
    assert out["ae_error_pct"].is_between(0.0, 100.0).all()
    assert (out["ae_outlier"].to_numpy() == (errors > model.threshold)).all()
    assert np.isfinite(out.select(model.output_names()[:k]).to_numpy()).all()


# Dates of the first centuries: the report's expected value lay before the year 1 (a crash)
EARLY_DATES = pl.DataFrame(
    {
        "0": [datetime(2000, 1, 1, 0, 0, 1)] + [None] * 33,
        "00": [None] * 31 + [date(2000, 1, 1), date(261, 1, 1), date(169, 2, 1)],
    }
)


@SETTINGS
@given(frame=mixed_frames())
@example(frame=EARLY_DATES)
def test_fit_never_crashes_and_transform_keeps_rows_order_and_columns(frame: pl.DataFrame) -> None:
    torch.set_num_threads(1)
    model = aef.fit(frame, epochs=2, threads=1, seed=0)
    assert model.columns == frame.columns
    check_transform(model, frame)


@pytest.fixture(scope="module")
def mixed_model() -> aef.AutoencoderModel:
    torch.set_num_threads(1)
    return aef.fit(make_mixed(300, seed=9), exclude=["id", "label"], epochs=3, threads=1)


@st.composite
def conforming_frames(draw: st.DrawFn) -> pl.DataFrame:
    """Frames with the training columns: new values, unseen levels, extremes, nulls where allowed."""
    n_rows = draw(st.integers(0, 30))
    finite = st.floats(allow_nan=False, allow_infinity=False)

    def column(values: st.SearchStrategy[object], nullable: bool = False) -> list[object]:
        return draw(
            st.lists(st.one_of(st.none(), values) if nullable else values, min_size=n_rows, max_size=n_rows)
        )

    return pl.DataFrame(
        {
            "id": column(st.integers(0, 10**9)),
            "x": column(finite),
            "y": column(finite),
            "count": column(st.integers(-(2**62), 2**62)),
            "income": column(finite, nullable=True),
            "segment": column(st.text(max_size=6)),
            "active": column(st.booleans()),
            "seen": column(st.datetimes(min_value=datetime(1800, 1, 1), max_value=datetime(2300, 1, 1))),
            "label": column(st.booleans()),
        },
        schema={
            "id": pl.Int64,
            "x": pl.Float64,
            "y": pl.Float64,
            "count": pl.Int64,
            "income": pl.Float64,
            "segment": pl.String,
            "active": pl.Boolean,
            "seen": pl.Datetime("us"),
            "label": pl.Boolean,
        },
    )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frame=conforming_frames())
def test_transform_of_any_conforming_frame_keeps_the_contract(
    mixed_model: aef.AutoencoderModel, frame: pl.DataFrame
) -> None:
    check_transform(mixed_model, frame)
