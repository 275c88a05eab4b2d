"""``aefeatures transform`` and ``validate`` options, run as real commands in subprocesses."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from tests.helpers import drifted_frame, make_mixed, run_cli


@pytest.mark.parametrize(("option", "codec"), [((), "SNAPPY"), (("--compression", "zstd"), "ZSTD")])
def test_cli_output_compression(
    fitted_model_dir: Path, mixed_parquet: Path, tmp_path: Path, option: tuple[str, ...], codec: str
) -> None:
    out = tmp_path / "out.parquet"
    done = run_cli("transform", mixed_parquet, "--model", fitted_model_dir, "-o", out, *option)
    assert done.returncode == 0, done.stderr
    metadata = pq.ParquetFile(out).metadata
    assert {metadata.row_group(0).column(i).compression for i in range(metadata.num_columns)} == {codec}


def test_cli_rejects_an_unknown_compression(
    fitted_model_dir: Path, mixed_parquet: Path, tmp_path: Path
) -> None:
    done = run_cli(
        "transform",
        mixed_parquet,
        "--model",
        fitted_model_dir,
        "-o",
        tmp_path / "o.parquet",
        "--compression",
        "rar",
    )
    assert done.returncode == 2 and "'rar' is not one of snappy, zstd" in done.stderr
    assert not (tmp_path / "o.parquet").exists()


def test_cli_transform_directory_and_bad_data(
    fitted_model_dir: Path, partitioned: tuple[Path, pl.DataFrame], tmp_path: Path
) -> None:
    root, _ = partitioned
    done = run_cli(
        "transform",
        root,
        "--model",
        fitted_model_dir,
        "--output",
        tmp_path / "out",
        "--batch-rows",
        "64",
        "--threads",
        "1",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert '"files": 4' in done.stdout and '"rows": 1200' in done.stdout
    make_mixed(300).drop("income").write_parquet(tmp_path / "short.parquet")
    failed = run_cli(
        "transform",
        tmp_path / "short.parquet",
        "--model",
        fitted_model_dir,
        "--output",
        tmp_path / "o.parquet",
    )
    assert failed.returncode == 1 and "'income'" in failed.stderr and "missing from the data" in failed.stderr
    assert not (tmp_path / "o.parquet").exists()


def test_cli_on_drift_fail_writes_nothing(fitted_model_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "today.parquet"
    drifted_frame().write_parquet(data)
    out = tmp_path / "out.parquet"
    failed = run_cli("transform", data, "--model", fitted_model_dir, "--output", out, "--on-drift", "fail")
    assert failed.returncode == 1, failed.stderr
    assert "drifted" in failed.stderr and "'segment'" in failed.stderr and "--on-drift warn" in failed.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == [data]
    warned = run_cli("transform", data, "--model", fitted_model_dir, "--output", out, "--json")
    assert warned.returncode == 0, warned.stderr
    assert "WARNING" in warned.stderr and "'income'" in warned.stderr
    result = json.loads(warned.stdout)
    assert sorted(d["column"] for d in result["drifted_columns"]) == ["(rows)", "income", "segment", "x"]
    drift = result["drift"]
    assert set(drift) == {"level", "tolerance", "rows", "drifted", "too_small_to_tell", "lines"}
    assert (drift["level"], drift["rows"], drift["drifted"]) == (0.01, 400, True)
    assert [line["column"] for line in drift["lines"]] == [
        "x",
        "y",
        "count",
        "income",
        "segment",
        "active",
        "seen",
        "(rows)",
    ]
    assert set(drift["lines"][0]) == {
        "segment",
        "column",
        "kind",
        "rows",
        "missing_rate_train",
        "missing_rate",
        "unseen_rate",
        "out_of_range_rate",
        "psi",
        "js_distance",
        "p_value",
        "status",
        "drifted",
        "reason",
    }
    assert pl.read_parquet(out).height == 400
    usage = run_cli(
        "transform",
        data,
        "--model",
        fitted_model_dir,
        "--output",
        tmp_path / "o2.parquet",
        "--on-drift",
        "maybe",
    )
    assert usage.returncode == 2 and "--on-drift" in usage.stderr


def test_cli_validate_with_a_model_checks_drift(fitted_model_dir: Path, tmp_path: Path) -> None:
    fresh, drifted = tmp_path / "fresh.parquet", tmp_path / "drifted.parquet"
    make_mixed(300, seed=5).write_parquet(fresh)
    drifted_frame().write_parquet(drifted)
    ok = run_cli("validate", fresh, "--model", fitted_model_dir, "--on-drift", "fail", "--json")
    assert ok.returncode == 0, ok.stderr
    result = json.loads(ok.stdout)
    assert result["valid"] and not result["drift"]["drifted"] and len(result["drift"]["lines"]) == 8
    failed = run_cli("validate", drifted, "--model", fitted_model_dir, "--on-drift", "fail")
    assert failed.returncode == 1 and "column 'segment'" in failed.stderr and "unseen" in failed.stderr
    warned = run_cli("validate", drifted, "--model", fitted_model_dir)
    assert warned.returncode == 0 and "drifted: x, income, segment, (rows)" in warned.stdout + warned.stderr
    bad = run_cli("validate", fresh, "--model", fitted_model_dir, "--drift-level", "0")
    assert bad.returncode == 2 and "--drift-level" in bad.stderr
