"""pandera schemas as files: `schema infer`, the shipped schemas/customers.{yaml,py}, `validate` tables."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import aefeatures as aef
from aefeatures.errors import SchemaValidationError
from aefeatures.explore.demo import make_customers
from aefeatures.schema.schemas import load_schema_file
from tests.helpers import REPO, run_cli

SCHEMAS = REPO / "schemas"


@pytest.fixture(scope="module")
def customers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("customers") / "customers.parquet"
    make_customers(rows=400, seed=2).write_parquet(path)
    return path


@pytest.fixture(scope="module")
def bad_customers(customers: Path) -> Path:
    """Three rows with an undeclared plan, two with negative spend, and no 'region' column."""
    frame = pl.read_parquet(customers).with_row_index("row")
    bad = frame.with_columns(
        pl.when(pl.col("row") < 3)
        .then(pl.lit("gold"))
        .otherwise(pl.col("plan").cast(pl.String))
        .alias("plan"),
        pl.when(pl.col("row").is_between(10, 11))
        .then(-5.0)
        .otherwise(pl.col("monthly_spend"))
        .alias("monthly_spend"),
    ).drop("row", "region")
    path = customers.with_name("bad_customers.parquet")
    bad.write_parquet(path)
    return path


def test_schema_infer_writes_reviewable_yaml(customers: Path, tmp_path: Path) -> None:
    target = tmp_path / "schemas" / "customers.yaml"
    target.parent.mkdir()
    result = run_cli("schema", "infer", customers, "-o", target, "--exclude", "is_anomaly")
    assert result.returncode == 0, result.stderr
    text = target.read_text()
    assert text.startswith("# pandera schema inferred by aefeatures") and text.endswith("\n")
    schema = load_schema_file(target)
    assert list(schema.columns) == [c for c in pl.read_parquet_schema(customers) if c != "is_anomaly"]
    assert schema.columns["income"].nullable and schema.columns["age"].nullable
    assert schema.columns["age"].description == "no missing values at fit"
    assert run_cli("validate", customers, "--schema", target).returncode == 0


@pytest.mark.parametrize("schema_file", ["customers.yaml", "customers.py"])
def test_shipped_schema_validates_demo_data_and_fits(
    schema_file: str, customers: Path, bad_customers: Path, tmp_path: Path
) -> None:
    schema_path = SCHEMAS / schema_file
    ok = run_cli("validate", customers, "--schema", schema_path)
    assert ok.returncode == 0, ok.stderr
    assert "400 rows conform" in ok.stdout
    model_dir = tmp_path / "model"
    fitted = run_cli(
        "fit",
        customers,
        "--model",
        model_dir,
        "--schema",
        schema_path,
        "-x",
        "customer_id",
        "-x",
        "is_anomaly",
        "--epochs",
        "2",
        "--threads",
        "1",
        "--quiet",
    )
    assert fitted.returncode == 0, fitted.stderr
    stored = (model_dir / "schema.yaml").read_text()
    assert "isin" in stored and "enterprise" in stored  # the file's rules travel with the model
    with pytest.raises(SchemaValidationError) as info:
        aef.load(model_dir).transform(pl.read_parquet(bad_customers))
    columns = {f["column"] for f in info.value.failures}
    assert {"plan", "monthly_spend", "region"} <= columns


def test_validate_prints_failure_cases_as_a_table(bad_customers: Path) -> None:
    result = run_cli("validate", bad_customers, "--schema", SCHEMAS / "customers.yaml")
    assert result.returncode == 1
    table = result.stdout
    assert "schema failures" in table and "failure case" in table
    for expected in (
        "plan",
        "isin",
        "gold",
        "monthly_spend",
        "greater_than_or_equal_to",
        "-5.0",
        "region",
        "column_in_dataframe",
    ):
        assert expected in table, expected
    assert "error:" in result.stderr and "'region'" in result.stderr


def test_validate_json_lists_every_failure(bad_customers: Path) -> None:
    result = run_cli("validate", bad_customers, "--schema", SCHEMAS / "customers.py", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False and report["rows"] == 400
    by_column = {(f["column"], f["check"].split("(")[0]): f for f in report["failures"]}
    assert by_column[("plan", "isin")]["count"] == 3
    assert by_column[("monthly_spend", "greater_than_or_equal_to")]["count"] == 2
    assert ("region", "column_in_dataframe") in by_column


def test_excluded_columns_of_an_inferred_schema_are_not_required_at_transform(
    customers: Path, tmp_path: Path
) -> None:
    """`schema infer` without -x lists the label; a model fitted with --exclude on it scores unlabelled rows."""
    schema_path, model_dir = tmp_path / "customers.yaml", tmp_path / "model"
    assert run_cli("schema", "infer", customers, "-o", schema_path).returncode == 0
    fitted = run_cli(
        *("fit", customers, "--model", model_dir, "--schema", schema_path),
        *("--exclude", "customer_id,is_anomaly", "--epochs", 2, "--threads", 1, "--quiet"),
    )
    assert fitted.returncode == 0, fitted.stderr
    unlabelled = tmp_path / "unlabelled.parquet"
    pl.read_parquet(customers).drop("customer_id", "is_anomaly").write_parquet(unlabelled)
    scored = run_cli("transform", unlabelled, "-m", model_dir, "-o", tmp_path / "out.parquet", "--threads", 1)
    assert scored.returncode == 0, scored.stderr
    assert pl.read_parquet(tmp_path / "out.parquet").height == 400
    mistyped = pl.read_parquet(customers).with_columns(pl.lit("yes").alias("is_anomaly"))
    with pytest.raises(SchemaValidationError) as info:  # still checked where it is present
        aef.load(model_dir).transform(mistyped)
    assert {f["column"] for f in info.value.failures} == {"is_anomaly"}
