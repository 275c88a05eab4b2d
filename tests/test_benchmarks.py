"""Error scaling of ``ae_error`` (tuned on the ODDS benchmark) and the benchmark scripts themselves."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import aefeatures as aef
from aefeatures.features.preprocessor import ERROR_SCALE_FLOOR, Preprocessor
from tests.conftest import REPO, SHARED_DATA

THYROID = SHARED_DATA / "anomaly" / "thyroid.parquet"
needs_odds = pytest.mark.skipif(not THYROID.exists(), reason="../shared/data/anomaly is not present")


def test_error_scales_divide_each_column_by_its_floored_median() -> None:
    frame = pl.DataFrame({"a": [float(i % 7) for i in range(50)], "b": ["x", "y"] * 25})
    pre = Preprocessor.fit(frame, max_levels=64, min_level_count=1)
    column_errors = np.column_stack([np.full(50, 0.5), np.full(50, 1e-5)])
    column_errors[:10, 0] = 40.0  # a few large errors must not move the median
    scaled = pre.with_error_scales(column_errors)
    assert scaled.baselines == pytest.approx([pre.baselines[0] * 0.5, pre.baselines[1] * ERROR_SCALE_FLOOR])
    assert Preprocessor.from_dict(scaled.to_dict()) == scaled


@needs_odds
def test_fitted_model_scores_typical_training_row_at_one(tmp_path: Path) -> None:
    model = aef.fit(THYROID, exclude=["label"], epochs=8, seed=0, threads=1)
    out = model.transform(THYROID, per_feature_errors=True)
    medians = np.array([out[f"ae_error__{c}"].median() for c in model.columns])
    floored = medians < 1.0 - 1e-4  # columns reconstructed better than the floor allows
    assert np.allclose(medians[~floored], 1.0, rtol=1e-4)
    assert (~floored).sum() >= len(model.columns) // 2
    labels = out["label"].to_numpy().astype(bool)
    assert out["ae_error"].to_numpy()[labels].mean() > out["ae_error"].to_numpy()[~labels].mean()
    reloaded = aef.load(model.save(tmp_path / "thyroid")).transform(THYROID)
    np.testing.assert_array_equal(reloaded["ae_error"].to_numpy(), out["ae_error"].to_numpy())


def _run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, str(REPO / "benchmarks" / script), *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=300)


@needs_odds
def test_anomaly_benchmark_prints_table_with_baselines() -> None:
    result = _run("anomaly.py", "--datasets", "ionosphere", "--seeds", "1", "--set", "epochs=5")
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("| ionosphere |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    roc = [float(cells[1].split()[0]), float(cells[2]), float(cells[3])]
    assert all(50.0 < value <= 100.0 for value in roc), row  # all three methods beat chance here
    assert "79.2 / 84.5 / 89.6" in row  # the published figures sit beside the measured ones
    assert "beats PCA (ROC-AUC) on" in result.stdout


def test_embeddings_benchmark_compares_raw_and_appended_features() -> None:
    result = _run("embeddings.py", "--seeds", "1", "--splits", "2", "--rows", "500", "--epochs", "3")
    assert result.returncode == 0, result.stderr
    rows = [
        line
        for line in result.stdout.splitlines()
        if line.startswith("| customers") or line.startswith("| digits")
    ]
    assert [r.split("|")[3].strip() for r in rows] == ["100", "50", "100", "300"]
    for row in rows:
        raw, both = (float(cell.split("±")[0]) for cell in row.split("|")[4:6])
        assert 0.0 < raw <= 1.0 and 0.0 < both <= 1.0, row
