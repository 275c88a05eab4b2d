"""Drift at transform: statistics stored at fit, per-column rates, on_drift warn|fail, batches merged."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import aefeatures as aef
from aefeatures.errors import ConfigError, DriftError
from aefeatures.schema.drift import drift_summary, merge_drift
from aefeatures.schema.schemas import validate
from tests.helpers import drifted_frame, make_mixed


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


def test_batch_drift_merges_to_whole_data_drift(quick_model: aef.AutoencoderModel) -> None:
    frame = validate(make_mixed(900, seed=4), quick_model.schema).select(quick_model.columns)
    frame = frame.with_columns(income=pl.when(pl.col("x") > 0.8).then(None).otherwise(pl.col("income")))
    stats, specs = quick_model.metadata.get("drift"), quick_model.preprocessor.specs
    parts = [drift_summary(frame.slice(start, 200), specs, stats) for start in range(0, 900, 200)]
    merged, whole = merge_drift(parts, 0.02), drift_summary(frame, specs, stats)
    assert merged.select("column", "rows", "drifted").equals(whole.select("column", "rows", "drifted"))
    for rate in ("missing_rate", "unseen_rate", "out_of_range_rate"):
        np.testing.assert_allclose(
            merged[rate].fill_null(-1).to_numpy(), whole[rate].fill_null(-1).to_numpy(), atol=1e-12
        )
    assert whole.filter(pl.col("column") == "income")["drifted"].item()
