"""Schema coercion is exact or refused: a value that a cast would change fails validation, naming the
column, the expected and found types and the value, instead of being truncated or reinterpreted."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pandera.polars as pa
import polars as pl
import pytest

import aefeatures as aef
from aefeatures.errors import SchemaValidationError
from aefeatures.schema.coercion import inexact_conversion
from aefeatures.schema.schemas import infer_schema, validate
from aefeatures.transform.streaming import transform_path
from tests.helpers import make_mixed

LOSSY = [
    # (name, training column, incoming column, expected dtype text, found dtype text, offending value)
    ("fraction-in-integer", pl.Series("n", [1, 2]), pl.Series("n", [1.0, 1.7, 2.0]), "Int64", "Float64", "1.7"),
    ("nan-in-integer", pl.Series("n", [1, 2]), pl.Series("n", [1.0, float("nan")]), "Int64", "Float64", "nan"),
    ("integer-out-of-range", pl.Series("n", [1], dtype=pl.Int8), pl.Series("n", [1, 300]), "Int8", "Int64", "300"),
    ("integer-as-timestamp", pl.Series("t", [datetime(2025, 1, 1)]), pl.Series("t", [5, 6]), "Datetime", "Int64", "5"),
    ("five-as-boolean", pl.Series("b", [True, False]), pl.Series("b", [1, 5, -1]), "Boolean", "Int64", "5"),
    ("half-as-boolean", pl.Series("b", [True, False]), pl.Series("b", [0.0, 0.5]), "Boolean", "Float64", "0.5"),
    ("struct-as-text", pl.Series("s", ["a", "b"]), pl.Series("s", [{"k": 1}, {"k": 2}]), "String", "Struct", "{'k': 1}"),
    ("number-as-text", pl.Series("s", ["a", "b"]), pl.Series("s", [1, 2]), "String", "Int64", "1"),
    ("huge-integer-as-float", pl.Series("f", [0.5]), pl.Series("f", [2**53 + 1]), "Float64", "Int64", str(2**53 + 1)),
    ("float-beyond-float32", pl.Series("f", [0.5], dtype=pl.Float32), pl.Series("f", [1e300]), "Float32", "Float64", "1e+300"),
    ("datetime-as-date", pl.Series("d", [date(2025, 1, 1)]), pl.Series("d", [datetime(2025, 1, 1, 6)]), "Date", "Datetime", "2025-01-01 06:00:00"),
    ("date-as-integer", pl.Series("n", [1]), pl.Series("n", [date(2025, 1, 1)]), "Int64", "Date", "2025-01-01"),
]  # fmt: skip


@pytest.mark.parametrize(
    "name, trained, incoming, expected, found, value", LOSSY, ids=[case[0] for case in LOSSY]
)
def test_lossy_coercion_fails_with_column_types_and_value(
    name: str, trained: pl.Series, incoming: pl.Series, expected: str, found: str, value: str
) -> None:
    schema = infer_schema(trained.to_frame())
    with pytest.raises(SchemaValidationError) as caught:
        validate(incoming.to_frame(), schema)
    message = str(caught.value)
    assert f"column {trained.name!r}" in message
    assert f"expected {expected}" in message and f"found {found}" in message
    assert value in message and "Hint:" in message and caught.value.hint
    (failure,) = caught.value.failures
    assert failure["column"] == trained.name and str(failure["check"]).startswith("exact_coerce(")
    first = failure["index"]
    assert isinstance(first, int) and str(incoming[first]) == value  # the first value that would change


EXACT = [
    ("whole-floats-to-integer", pl.Series("n", [1, 2]), pl.Series("n", [1.0, None, -3.0]), [1, None, -3]),
    ("integers-to-float", pl.Series("f", [0.5]), pl.Series("f", [1, 2**53]), [1.0, float(2**53)]),
    ("zero-one-to-boolean", pl.Series("b", [True]), pl.Series("b", [0, 1, None]), [False, True, None]),
    ("booleans-to-integer", pl.Series("n", [1]), pl.Series("n", [True, False]), [1, 0]),
    ("date-to-datetime", pl.Series("t", [datetime(2025, 1, 1)]), pl.Series("t", [date(2025, 2, 3)]), [datetime(2025, 2, 3)]),
    ("midnight-to-date", pl.Series("d", [date(2025, 1, 1)]), pl.Series("d", [datetime(2025, 2, 3)]), [date(2025, 2, 3)]),
    ("numbers-as-text-to-float", pl.Series("f", [0.5]), pl.Series("f", ["1.5", "-2"]), [1.5, -2.0]),
    ("categorical-to-text", pl.Series("s", ["a"]), pl.Series("s", ["x", "y"], dtype=pl.Categorical), ["x", "y"]),
    ("text-to-categorical", pl.Series("s", ["a"], dtype=pl.Categorical), pl.Series("s", ["x"]), ["x"]),
    ("float32-to-float64", pl.Series("f", [0.5]), pl.Series("f", [0.25], dtype=pl.Float32), [0.25]),
    ("all-null-column", pl.Series("t", [datetime(2025, 1, 1)]), pl.Series("t", [None, None], dtype=pl.Int64), [None, None]),
]  # fmt: skip


@pytest.mark.parametrize("name, trained, incoming, converted", EXACT, ids=[case[0] for case in EXACT])
def test_exact_coercion_still_converts(
    name: str, trained: pl.Series, incoming: pl.Series, converted: list[object]
) -> None:
    schema = pa.DataFrameSchema(
        {trained.name: pa.Column(trained.dtype, nullable=True)}, coerce=True
    )  # the inferred kind of schema, nullable so that nulls pass
    out = validate(incoming.to_frame(), schema)
    assert out.schema[trained.name] == trained.dtype and out[trained.name].to_list() == converted


def test_a_user_schema_declaring_int64_for_float_data_truncates_nothing() -> None:
    frame = pl.DataFrame({"amount": [10.25, 3.5, 7.0], "id": [1, 2, 3]})
    for schema in (
        pa.DataFrameSchema({"amount": pa.Column(pl.Int64), "id": pa.Column(pl.Int64)}, coerce=True),
        pa.DataFrameSchema({"amount": pa.Column(pl.Int64, coerce=True), "id": pa.Column(pl.Int64)}),
    ):  # the fast types-and-nulls path, and pandera's own column coercion
        with pytest.raises(SchemaValidationError, match="'amount': expected Int64, found Float64") as caught:
            validate(frame, schema)
        assert caught.value.failures[0]["count"] == 2  # 10.25 and 3.5; 7.0 is whole


def test_a_python_schema_model_is_checked_the_same_way(tmp_path: Path) -> None:
    from aefeatures.schema.schemas import load_schema_file

    source = tmp_path / "orders.py"
    source.write_text(
        "import pandera.polars as pa\n\n"
        "class Orders(pa.DataFrameModel):\n"
        "    quantity: int\n\n"
        "    class Config:\n        coerce = True\n"
    )
    with pytest.raises(SchemaValidationError, match="'quantity'.*e.g. 2.5"):
        validate(pl.DataFrame({"quantity": [1.0, 2.5]}), load_schema_file(source))


def test_inexact_columns_are_listed_with_every_other_failure() -> None:
    schema = infer_schema(make_mixed(50), ["x", "count", "active", "seen"])
    broken = pl.DataFrame({"x": [None, 1.0], "count": [1.5, 2.0], "active": [2, 0]})
    with pytest.raises(SchemaValidationError) as caught:
        validate(broken, schema)
    checks = {(f["column"], str(f["check"]).split("(")[0]) for f in caught.value.failures}
    assert {("count", "exact_coerce"), ("active", "exact_coerce"), ("seen", "column_in_dataframe")} <= checks
    assert not any(column == "x" for column, _ in checks)  # a null is accepted: filled, reported as drift


def test_inexact_conversion_is_none_for_unchanged_types() -> None:
    assert inexact_conversion(pl.Series("a", [1.7]), pl.Float64()) is None
    assert inexact_conversion(pl.Series("a", [None, None]), pl.Int64()) is None


def test_transform_refuses_fractional_values_in_an_integer_feature(
    quick_model: aef.AutoencoderModel, tmp_path: Path
) -> None:
    frame = make_mixed(100, seed=5)
    whole = frame.with_columns(pl.col("count").cast(pl.Float64))
    assert quick_model.transform(whole)["ae_error"].equals(quick_model.transform(frame)["ae_error"])
    fractional = frame.with_columns((pl.col("count") + 0.7).alias("count"))
    with pytest.raises(SchemaValidationError, match="'count': expected Int64, found Float64"):
        quick_model.transform(fractional)
    fractional.write_parquet(tmp_path / "in.parquet")
    with pytest.raises(SchemaValidationError, match=r"(?s)in\.parquet.*'count'") as caught:
        transform_path(quick_model, tmp_path / "in.parquet", tmp_path / "out.parquet")
    assert caught.value.failures[0]["index"] == 0
    assert not (tmp_path / "out.parquet").exists()
    as_timestamps = frame.with_columns(pl.col("seen").dt.epoch("us"))
    with pytest.raises(SchemaValidationError, match="'seen'.*numbers are not read as timestamps"):
        quick_model.transform(as_timestamps)
    as_flags = frame.with_columns(pl.col("active").cast(pl.Int64) * 5 - 1)
    with pytest.raises(SchemaValidationError, match="'active'.*only 0 and 1"):
        quick_model.transform(as_flags)
