"""Inferred schemas enforce names, dtypes and nullability; every failure is reported at once."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from aefeatures.errors import DataError, SchemaValidationError
from aefeatures.schema.schemas import (
    infer_schema,
    load_schema_file,
    schema_from_yaml,
    schema_to_yaml,
    validate,
)
from tests.helpers import make_mixed


def test_inferred_schema_has_types_and_records_nulls_but_no_value_checks() -> None:
    frame = make_mixed(100)
    schema = infer_schema(frame, ["x", "income", "segment", "seen"])
    assert list(schema.columns) == ["x", "income", "segment", "seen"]
    assert all(column.nullable for column in schema.columns.values())  # nulls are drift, not errors
    assert schema.columns["income"].description == "missing values at fit"
    assert schema.columns["x"].description == "no missing values at fit"
    assert all(not column.checks for column in schema.columns.values())
    assert schema.coerce and not schema.strict


def test_inferred_schema_round_trips_through_yaml() -> None:
    frame = make_mixed(50).with_columns(pl.col("segment").cast(pl.Enum(["bronze", "gold", "silver"])))
    schema = infer_schema(frame)
    again = schema_from_yaml(schema_to_yaml(schema))
    assert list(again.columns) == list(schema.columns)
    assert str(again.columns["segment"].dtype) == "Categorical"  # unseen levels are drift, not errors
    validate(frame.with_columns(pl.col("segment").cast(pl.String).str.replace("gold", "platinum")), again)


def test_safe_coercion_is_applied_and_unsafe_values_fail() -> None:
    schema = infer_schema(pl.DataFrame({"n": [1.0, 2.0]}))
    coerced = validate(pl.DataFrame({"n": [1, 2]}), schema)
    assert coerced.schema["n"] == pl.Float64
    with pytest.raises(SchemaValidationError, match="'n'"):
        validate(pl.DataFrame({"n": ["1.5", "oops"]}), schema)


def test_only_the_column_that_cannot_be_converted_is_reported() -> None:
    schema = infer_schema(pl.DataFrame({"a": [1.0, 2.0], "b": [1.0, 2.0], "c": [1, 2]}))
    text = pl.DataFrame({"a": ["1.5", "x"], "b": ["0.5", "2"], "c": [1, 2]})  # b converts, a does not
    with pytest.raises(SchemaValidationError) as caught:
        validate(text, schema)
    assert [(f["column"], f["check"]) for f in caught.value.failures] == [("a", "coerce_dtype('Float64')")]
    assert "'b'" not in str(caught.value) and "e.g. x" in str(caught.value)


def test_all_failures_are_listed_together() -> None:
    schema = infer_schema(make_mixed(50), ["x", "y", "active"])
    broken = pl.DataFrame({"x": ["a", "b"], "active": ["yes", "no"]})
    with pytest.raises(SchemaValidationError) as caught:
        validate(broken, schema)
    columns = {failure["column"] for failure in caught.value.failures}
    assert columns >= {"x", "y", "active"}
    assert "Hint:" in str(caught.value)


def test_schema_files_yaml_and_python_models(tmp_path: Path) -> None:
    yaml_path = tmp_path / "s.yaml"
    yaml_path.write_text(schema_to_yaml(infer_schema(pl.DataFrame({"a": [1.0]}))))
    assert list(load_schema_file(yaml_path).columns) == ["a"]
    py_path = tmp_path / "model_schema.py"
    py_path.write_text(
        "import pandera.polars as pa\n\n"
        "class Points(pa.DataFrameModel):\n"
        "    a: float = pa.Field(ge=0)\n\n"
        "    class Config:\n        coerce = True\n"
    )
    schema = load_schema_file(py_path)
    assert list(schema.columns) == ["a"]
    with pytest.raises(SchemaValidationError, match="'a'"):
        validate(pl.DataFrame({"a": [-1.0]}), schema)  # a user-written check is enforced as written
    assert list(load_schema_file(f"{py_path}:Points").columns) == ["a"]
    with pytest.raises(DataError, match="does not exist"):
        load_schema_file(tmp_path / "missing.yaml")
