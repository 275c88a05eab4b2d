"""The speed and memory benchmark scripts run end to end at tiny sizes (no timing is asserted)."""

from __future__ import annotations

import json

import pytest

from tests.helpers import REPO, run_script

pytestmark = pytest.mark.slow  # end-to-end script runs: scheduled first (tests/conftest.py)


def _run(script: str, *args: str) -> dict:
    """Run a benchmark script on one thread and read the JSON it prints."""
    done = run_script("benchmarks", script, "--threads", "1", "--json", *args, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_training_benchmark_reports_shares_of_gemm() -> None:
    result = _run("training.py", "--rows", "4000", "--epochs", "1", "--skip-pyod")
    assert result["weights"] == 64 * 128 + 128 * 32 + 32 * 128 + 128 * 64
    for batch in (256, 1024, 4096):
        row = result[f"batch_{batch}"]
        assert row["gemm_gflops"] > 0 and row["plain_rows_per_s"] > 0 and row["aefeatures_rows_per_s"] > 0
        ratio = row["aefeatures_share_of_gemm"] / row["plain_share_of_gemm"]
        assert abs(ratio - row["aefeatures_vs_plain"]) < 1e-9
    assert "pyod" not in result


def test_wide_benchmark_times_fit_and_transform_at_two_widths() -> None:
    result = _run("wide.py", "--narrow", "20", "--wide", "120", "--epochs", "1")
    assert (result["narrow"]["columns"], result["wide"]["columns"], result["linear"]) == (20, 120, 6.0)
    for step in ("fit", "transform"):
        assert result["wide"][f"{step}_s"] > 0 and result["narrow"][f"{step}_s"] > 0
        assert result["ratios"][step] == result["wide"][f"{step}_s"] / result["narrow"][f"{step}_s"]


def test_transform_benchmark_measures_every_path_in_fresh_processes() -> None:
    result = _run("transform.py", "--rows", "40000", "--batch-rows", "8192")
    memory = result["memory"]
    assert set(memory) == {
        "baseline",
        *(f"{mode}_{size}" for mode in ("streaming", "lazy", "eager") for size in ("small", "big")),
    }
    # Each path ran in its own process: all peaks exceed the process that only loads the model.
    assert all(value["peak_rss_mb"] >= memory["baseline"]["peak_rss_mb"] for value in memory.values())
    assert result["transform_rows_per_s"] > 0 and result["transform_share_of_read_gemm_bound"] > 0


def test_impute_speed_benchmark_fills_every_hole_of_a_streamed_file() -> None:
    result = _run("impute_speed.py", "--rows", "20000", "--width", "6", "--steps", "20")
    assert result["rows_written"] == 20000 and result["impute_rows_per_s"] > 0
    assert 0.08 * 20000 * 6 < result["cells_filled"] < 0.12 * 20000 * 6  # 10% of the cells were holes
