"""Drift at transform: statistics stored at fit, per-column rates, --on-drift warn|fail."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import aefeatures as aef
from aefeatures.errors import ConfigError, DriftError
from tests.conftest import make_mixed, run_cli


@pytest.fixture(scope="module")
def model(fitted_model_dir: Path) -> aef.AutoencoderModel:
    return aef.load(fitted_model_dir)


def drifted_frame() -> pl.DataFrame:
    """Fresh rows where 'segment' gains a new level, 'x' leaves its range and 'income' goes missing."""
    frame = make_mixed(rows=400, seed=1)
    rows = np.arange(frame.height)
    return frame.with_columns(
        pl.when(pl.Series(rows % 4 == 0))
        .then(pl.lit("platinum"))
        .otherwise(pl.col("segment"))
        .alias("segment"),
        pl.when(pl.Series(rows % 10 == 0))
        .then(pl.col("x").abs() * 1000 + 100)
        .otherwise(pl.col("x"))
        .alias("x"),
        pl.when(pl.Series(rows % 3 == 0)).then(None).otherwise(pl.col("income")).alias("income"),
    )


def test_fit_stores_training_statistics_in_the_manifest(fitted_model_dir: Path) -> None:
    stats = json.loads((fitted_model_dir / "aefeatures.json").read_text())["drift"]["columns"]
    train = make_mixed()
    assert stats["income"]["missing_rate"] == pytest.approx(train["income"].null_count() / train.height)
    assert stats["x"]["low"] == pytest.approx(train["x"].min()) and stats["x"]["high"] == pytest.approx(
        train["x"].max()
    )
    assert stats["seen"]["high"] == pytest.approx(train["seen"].dt.epoch("us").max() / 1e6)
    assert set(stats) == {"x", "y", "count", "income", "segment", "active", "seen"}


def test_training_data_does_not_drift(model: aef.AutoencoderModel) -> None:
    summary = model.drift(make_mixed())
    assert summary["column"].to_list() == model.columns
    assert not summary["drifted"].any()
    assert summary["out_of_range_rate"].drop_nulls().sum() == 0.0
    assert summary["unseen_rate"].drop_nulls().sum() == 0.0


def test_rates_of_drifted_data(model: aef.AutoencoderModel) -> None:
    new = drifted_frame()
    summary = {row["column"]: row for row in model.drift(new).iter_rows(named=True)}
    train = make_mixed()
    assert summary["segment"]["unseen_rate"] == pytest.approx(100 / 400)
    outside = ((new["x"] < train["x"].min()) | (new["x"] > train["x"].max())).sum()
    assert outside >= 40 and summary["x"]["out_of_range_rate"] == pytest.approx(outside / 400)
    assert summary["income"]["missing_rate"] == pytest.approx(new["income"].null_count() / 400)
    drifted = sorted(c for c, row in summary.items() if row["drifted"])
    assert drifted == ["income", "segment", "x"]
    assert "unseen" in summary["segment"]["reason"] and "outside the training range" in summary["x"]["reason"]


def test_fail_raises_and_warn_logs(model: aef.AutoencoderModel, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(DriftError, match="'segment'.*unseen") as info:
        model.drift(drifted_frame(), on_drift="fail")
    assert isinstance(info.value, ValueError)
    with caplog.at_level("WARNING", logger="aefeatures"):
        model.drift(drifted_frame(), on_drift="warn")
    assert "column 'x'" in caplog.text
    with pytest.raises(ConfigError, match="on_drift='sometimes'"):
        model.drift(drifted_frame(), on_drift="sometimes")
    with pytest.raises(ConfigError, match="tolerance"):
        model.drift(drifted_frame(), tolerance=2.0)


def test_model_without_statistics_still_reports_unseen_levels(fitted_model_dir: Path) -> None:
    old = aef.load(fitted_model_dir)
    del old.metadata["drift"]  # as a model saved before statistics were stored
    summary = old.drift(drifted_frame()).filter(pl.col("column").is_in(["segment", "x"]))
    assert summary["missing_rate_train"].null_count() == 2
    assert summary["column"].to_list() == ["x", "segment"]
    assert summary["unseen_rate"].to_list() == [None, pytest.approx(0.25)]
    assert summary["out_of_range_rate"].to_list() == [None, None]


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
    assert sorted(d["column"] for d in result["drifted_columns"]) == ["income", "segment", "x"]
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
