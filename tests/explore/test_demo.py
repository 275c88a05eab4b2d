"""``aefeatures demo``: generated customers with planted anomalies, fitted, scored and reported."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from tests.helpers import run_cli


def test_demo_runs_end_to_end_and_reports_detection_quality(tmp_path: Path) -> None:
    result = run_cli("demo", "--dir", tmp_path / "demo", "--rows", "3000", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["roc_auc"] > 0.75
    assert Path(summary["output"]).exists() and (Path(summary["model"]) / "model.safetensors").exists()
    features = pl.read_parquet(summary["output"])
    assert features.height == 3000 and "ae_error__monthly_spend" in features.columns
