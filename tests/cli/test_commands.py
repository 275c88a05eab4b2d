"""The real ``aefeatures`` command line, run in subprocesses on real Parquet files."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import yaml

from tests.helpers import make_mixed, run_cli


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("cli")
    make_mixed(500, seed=1).write_parquet(directory / "train.parquet")
    make_mixed(120, seed=2).write_parquet(directory / "day.parquet")
    return directory


@pytest.fixture(scope="module")
def fitted(workdir: Path) -> Path:
    result = run_cli(
        "fit", workdir / "train.parquet", "--exclude", "id,label", "--epochs", "8", "--json", cwd=workdir
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["model"] == "models/train"  # default: models/<data name>
    assert summary["training"]["rows"] == 500
    return workdir / "models" / "train"


def test_fit_writes_the_model_directory(fitted: Path) -> None:
    assert {p.name for p in fitted.iterdir()} >= {"model.safetensors", "aefeatures.json", "schema.yaml"}


def test_transform_appends_columns_and_keeps_every_row(fitted: Path, workdir: Path) -> None:
    out = workdir / "features.parquet"
    result = run_cli(
        "transform",
        workdir / "day.parquet",
        "--model",
        fitted,
        "--output",
        out,
        "--per-feature-errors",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["rows"] == 120
    original = pl.read_parquet(workdir / "day.parquet")
    written = pl.read_parquet(out)
    assert written.select(original.columns).equals(original)
    assert {"ae_z0", "ae_error", "ae_error_pct", "ae_outlier", "ae_error__segment"} <= set(written.columns)
    assert not list(workdir.glob(".features.parquet.tmp-*"))


@pytest.mark.slow
def test_transform_never_overwrites_without_permission(fitted: Path, workdir: Path) -> None:
    out = workdir / "keep.parquet"
    out.write_bytes(b"precious")
    result = run_cli("transform", workdir / "day.parquet", "--model", fitted, "--output", out)
    assert result.returncode == 1
    assert "already exists" in result.stderr and "--overwrite" in result.stderr
    assert out.read_bytes() == b"precious"
    # --overwrite replaces only an output aefeatures wrote, never a file of the user's.
    kept = run_cli("transform", workdir / "day.parquet", "--model", fitted, "--output", out, "--overwrite")
    assert kept.returncode == 1 and "aefeatures did not write this file" in kept.stderr
    assert out.read_bytes() == b"precious"
    earlier = workdir / "earlier.parquet"
    for extra in ((), ("--overwrite",)):
        again = run_cli("transform", workdir / "day.parquet", "--model", fitted, "--output", earlier, *extra)
        assert again.returncode == 0, again.stderr
    assert pl.read_parquet(earlier).height == 120


def test_schema_drift_fails_with_the_column_named_and_no_output(fitted: Path, workdir: Path) -> None:
    bad = workdir / "bad.parquet"
    make_mixed(50, seed=3).drop("y").with_columns(pl.lit("n/a").alias("x")).write_parquet(bad)
    out = workdir / "bad_out.parquet"
    result = run_cli("transform", bad, "--model", fitted, "--output", out)
    assert result.returncode == 1
    assert "'y'" in result.stderr and "missing" in result.stderr and "'x'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_validate_lists_failures_and_exits_1(fitted: Path, workdir: Path) -> None:
    ok = run_cli("validate", workdir / "day.parquet", "--model", fitted, "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["valid"] is True
    bad = workdir / "bad_validate.parquet"
    make_mixed(30).with_columns(pl.lit("oops").alias("x"), pl.lit("zz").alias("active")).write_parquet(bad)
    result = run_cli("validate", bad, "--model", fitted)
    assert result.returncode == 1
    assert "'x'" in result.stderr and "'active'" in result.stderr


def test_info_describes_the_model(fitted: Path) -> None:
    result = run_cli("info", fitted, "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["kind"] and info["latent_dim"] >= 2
    assert [c["name"] for c in info["columns"]] == ["x", "y", "count", "income", "segment", "active", "seen"]
    assert info["versions"]["torch"]
    assert list(info["schema"]) == [c["name"] for c in info["columns"]]
    assert info["schema"]["x"] == {"dtype": "Float64", "nullable": True, "checks": []}
    assert info["segments"] is None
    epochs = info["history"]["epochs"]  # each epoch's losses, as docs/kinds.md points to
    assert len(epochs) == info["training"]["epochs_run"] and "train_loss" in epochs[0]
    text = run_cli("info", fitted).stdout
    assert f"history: {len(epochs)} epochs" in text and "schema: 7 columns" in text


def test_schema_infer_then_fit_with_that_schema(workdir: Path) -> None:
    schema = workdir / "schemas" / "train.yaml"
    schema.parent.mkdir()
    result = run_cli("schema", "infer", workdir / "train.parquet", "-o", schema, "--exclude", "id,label")
    assert result.returncode == 0, result.stderr
    columns = yaml.safe_load(schema.read_text())["columns"]
    assert columns["income"]["nullable"] is True and columns["x"]["nullable"] is True
    assert columns["x"]["description"] == "no missing values at fit"
    assert all(not column.get("checks") for column in columns.values())  # ranges are drift, not failures
    fit = run_cli(
        "fit",
        workdir / "train.parquet",
        "--schema",
        schema,
        "--exclude",
        "id,label",
        "--epochs",
        "2",
        "--model",
        workdir / "m2",
    )
    assert fit.returncode == 0, fit.stderr


def test_usage_errors_exit_2(workdir: Path) -> None:
    assert run_cli("fit").returncode == 2
    assert run_cli("fit", workdir / "train.parquet", "--epochs", "many").returncode == 2
    result = run_cli("validate", workdir / "day.parquet")
    assert result.returncode == 2 and "--model" in result.stderr


def test_bad_option_values_are_data_errors_with_a_hint(workdir: Path) -> None:
    result = run_cli("fit", workdir / "train.parquet", "--kind", "magic", "--model", workdir / "never")
    assert result.returncode == 1 and "kind='magic'" in result.stderr
    assert not (workdir / "never").exists()
    missing = run_cli("fit", workdir / "nothing.parquet", "--model", workdir / "never")
    assert missing.returncode == 1 and "no Parquet data found" in missing.stderr


def test_json_failures_print_error_hint_and_exit_code_on_stdout(fitted: Path, workdir: Path) -> None:
    """An orchestrator reading stdout gets one JSON object on failure too, and nothing is written."""
    out = workdir / "never.parquet"
    missing = run_cli("transform", workdir / "nothing.parquet", "-m", fitted, "-o", out, "--json")
    failure = json.loads(missing.stdout)
    assert missing.returncode == failure["exit_code"] == 1 and not out.exists()
    assert "no Parquet data found" in failure["error"] and "glob" in failure["hint"]
    assert "Hint:" not in failure["error"] and "error:" in missing.stderr  # the person still reads stderr
    bad = workdir / "bad_json.parquet"
    make_mixed(30).with_columns(pl.lit("oops").alias("x")).write_parquet(bad)
    invalid = run_cli("validate", bad, "--model", fitted, "--json")
    report = json.loads(invalid.stdout)  # one object: the validation report and the error
    assert invalid.returncode == report["exit_code"] == 1 and report["valid"] is False
    assert report["rows"] == 30 and {f["column"] for f in report["failures"]} == {"x"}
    assert "'x'" in report["error"] and report["hint"]
    usage = run_cli("fit", workdir / "train.parquet", "--epochs", "many", "--json")
    assert usage.returncode == json.loads(usage.stdout)["exit_code"] == 2
    assert (
        "--epochs" in json.loads(usage.stdout)["error"] and "fit --help" in json.loads(usage.stdout)["hint"]
    )
    assert run_cli("info", workdir / "no-model", "--json").stdout.count('"exit_code": 1') == 1
