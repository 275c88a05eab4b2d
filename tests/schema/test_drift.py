"""Drift: the statistics fit stores, tests sized by the batch, the rows' line, warn|fail, batches added."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import aefeatures as aef
from aefeatures.errors import ConfigError, DriftError
from aefeatures.schema.drift import DriftCounts, count_batch, drift_summary, summarize, summary_json
from aefeatures.schema.schemas import validate
from tests.helpers import drifted_frame, make_mixed

OLD_MODEL = Path(__file__).resolve().parents[1] / "features" / "data" / "old_model"


def lines(summary: pl.DataFrame) -> dict[str, dict]:
    return {row["column"]: row for row in summary.iter_rows(named=True)}


def test_fit_stores_training_statistics_in_the_manifest(fitted_model_dir: Path) -> None:
    drift = json.loads((fitted_model_dir / "aefeatures.json").read_text())["drift"]
    stats, train = drift["columns"], make_mixed()
    assert drift["rows"] == train.height
    assert stats["income"]["missing_rate"] == pytest.approx(train["income"].null_count() / train.height)
    assert stats["x"]["low"] == pytest.approx(train["x"].min()) and stats["x"]["high"] == pytest.approx(
        train["x"].max()
    )
    assert stats["seen"]["high"] == pytest.approx(train["seen"].dt.epoch("us").max() / 1e6)
    assert set(stats) == {"x", "y", "count", "income", "segment", "active", "seen"}
    # quantile bins of the numbers: the training values in each bin, all of them counted
    edges, counts = np.array(stats["x"]["edges"]), np.array(stats["x"]["counts"])
    assert len(counts) == len(edges) + 1 == 20 and counts.sum() == train.height
    assert np.array_equal(counts, np.bincount(np.searchsorted(edges, train["x"].to_numpy(), "right")))
    # levels: gold, silver, bronze, then (rare) and (unseen), which training never has
    segment = train["segment"].value_counts()
    assert stats["segment"]["counts"] == [
        *(segment.filter(pl.col("segment") == s)["count"].item() for s in ("bronze", "gold", "silver")),
        0,
        0,
    ]
    assert stats["active"]["counts"] == [int((~train["active"]).sum()), int(train["active"].sum())]
    # the validation rows' ae_error (10% of 600 rows) is what a batch's errors are compared with
    assert drift["errors"]["rows"] == 60 and sum(drift["errors"]["counts"]) == 60


def test_fresh_rows_of_the_same_data_do_not_drift(model: aef.AutoencoderModel) -> None:
    summary = model.drift(make_mixed(400, seed=3))
    assert summary["column"].to_list() == [*model.columns, "(rows)"]
    assert summary["status"].to_list() == ["ok"] * 8 and not summary["drifted"].any()
    assert summary["out_of_range_rate"].drop_nulls().max() < 0.02
    assert summary["psi"].drop_nulls().len() == 8 and summary["p_value"].drop_nulls().min() > 0.01


def test_false_alarms_stay_at_the_level_on_small_and_large_batches(model: aef.AutoencoderModel) -> None:
    flagged = [
        model.drift(make_mixed(n, seed=100 + s))["drifted"].any() for n in (30, 200) for s in range(40)
    ]
    assert sum(flagged) <= 3  # 80 batches at level 1%: 3 or more alarms has a chance under 5%
    assert not model.drift(make_mixed(100_000, seed=9))["drifted"].any()


def test_drifted_data_names_each_column_and_why(model: aef.AutoencoderModel) -> None:
    new = drifted_frame()
    summary = lines(model.drift(new, on_drift="ignore"))
    train = make_mixed()
    assert summary["segment"]["unseen_rate"] == pytest.approx(100 / 400)
    outside = ((new["x"] < train["x"].min()) | (new["x"] > train["x"].max())).sum()
    assert outside >= 40 and summary["x"]["out_of_range_rate"] == pytest.approx(outside / 400)
    assert summary["income"]["missing_rate"] == pytest.approx(new["income"].null_count() / 400)
    assert sorted(c for c, row in summary.items() if row["drifted"]) == ["(rows)", "income", "segment", "x"]
    assert "unseen" in summary["segment"]["reason"] and "outside the training range" in summary["x"]["reason"]
    assert "missing (training: 12.0%)" in summary["income"]["reason"] and "p=" in summary["income"]["reason"]
    assert summary["segment"]["psi"] > 1.0 and 0 < summary["segment"]["js_distance"] <= 1.0


def test_a_shift_inside_the_range_and_a_broken_relation_are_caught(model: aef.AutoencoderModel) -> None:
    fresh = make_mixed(1000, seed=7)
    moved = lines(model.drift(fresh.with_columns(x=pl.col("x") + 0.5), on_drift="ignore"))
    assert moved["x"]["drifted"] and moved["x"]["out_of_range_rate"] < 0.05
    assert not moved["segment"]["drifted"]
    # y shuffled: every column's own distribution is as in training, only the rows' errors rise
    broken = lines(model.drift(fresh.with_columns(y=pl.col("y").shuffle(seed=1)), on_drift="ignore"))
    assert [c for c, row in broken.items() if row["drifted"]] == ["(rows)"]
    assert "ae_error rose" in broken["(rows)"]["reason"]


def test_a_tiny_batch_is_too_small_to_tell(model: aef.AutoencoderModel) -> None:
    summary = model.drift(drifted_frame().head(3), on_drift="fail")  # nothing raised: nothing to tell
    assert set(summary["status"]) == {"too small to tell"}
    assert summary_json(summary, level=0.01, tolerance=0.02)["too_small_to_tell"] == [
        *model.columns,
        "(rows)",
    ]


def test_fail_raises_and_warn_logs(model: aef.AutoencoderModel, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(DriftError, match="'segment'.*unseen") as info:
        model.drift(drifted_frame(), on_drift="fail")
    assert isinstance(info.value, ValueError) and "the rows as a whole" in str(info.value)
    with caplog.at_level("WARNING", logger="aefeatures"):
        model.drift(drifted_frame(), on_drift="warn")
    assert "column 'x'" in caplog.text
    with pytest.raises(ConfigError, match="on_drift='sometimes'"):
        model.drift(drifted_frame(), on_drift="sometimes")
    with pytest.raises(ConfigError, match="tolerance"):
        model.drift(drifted_frame(), tolerance=2.0)
    with pytest.raises(ConfigError, match="drift level 1.5"):
        model.drift(drifted_frame(), level=1.5)


def test_the_level_and_tolerance_decide(model: aef.AutoencoderModel) -> None:
    shifted = make_mixed(300, seed=11).with_columns(x=pl.col("x") + 0.3)
    strict = lines(model.drift(shifted, level=1e-12, on_drift="ignore"))
    loose = lines(model.drift(shifted, level=0.2, on_drift="ignore"))
    assert loose["x"]["drifted"] and not strict["x"]["drifted"]
    assert not lines(model.drift(shifted, tolerance=1.0, level=0.2, on_drift="ignore"))["x"]["drifted"]


def test_model_without_statistics_gets_the_old_check(fitted_model_dir: Path, caplog) -> None:
    old = aef.load(fitted_model_dir)
    old.metadata["drift"] = {
        "columns": {
            k: {
                "missing_rate": v["missing_rate"],
                **({"low": v["low"], "high": v["high"]} if "low" in v else {}),
            }
            for k, v in old.metadata["drift"]["columns"].items()
        }
    }
    with caplog.at_level("INFO", logger="aefeatures"):
        summary = lines(old.drift(drifted_frame()))
    assert "re-fit the model to get the statistical tests" in caplog.text
    assert summary["x"]["status"] == "old model" and summary["x"]["drifted"]
    assert summary["segment"]["unseen_rate"] == pytest.approx(0.25) and summary["segment"]["drifted"]
    assert summary["(rows)"]["status"] == "not tested" and summary["x"]["p_value"] is None
    del old.metadata["drift"]  # as a model saved before any statistics were stored
    bare = lines(old.drift(drifted_frame(), on_drift="ignore"))
    assert bare["x"]["missing_rate_train"] is None and bare["x"]["out_of_range_rate"] is None
    assert bare["segment"]["unseen_rate"] == pytest.approx(0.25)


def test_the_oldest_model_directory_still_checks_drift() -> None:
    model = aef.load(OLD_MODEL)
    specs = {spec.name: spec for spec in model.preprocessor.specs}
    rows = 200
    frame = pl.DataFrame(
        {
            "x": np.linspace(-1.0, 9.0, rows),  # a fifth of the rows above the training maximum
            "small": np.zeros(rows, np.int16),
            "f32": np.zeros(rows, np.float32),
            "flag": [i % 2 == 0 for i in range(rows)],
            "city": [specs["city"].levels[i % len(specs["city"].levels)] for i in range(rows)],
            "grade": pl.Series([specs["grade"].levels[0]] * rows, dtype=pl.Categorical),
            "day": [date(2024, 6, 1)] * rows,
            "at": pl.Series([datetime(2024, 3, 10, tzinfo=UTC)] * rows).dt.cast_time_unit("us"),
        }
    )
    summary = lines(model.drift(frame, on_drift="ignore"))
    assert {row["status"] for row in summary.values()} == {"old model", "not tested"}
    assert summary["x"]["drifted"] and "outside the training range" in summary["x"]["reason"]
    assert not summary["small"]["drifted"] and summary["(rows)"]["status"] == "not tested"


def test_batch_counts_add_up_to_the_whole_data(quick_model: aef.AutoencoderModel) -> None:
    frame = validate(make_mixed(900, seed=4), quick_model.schema).select(quick_model.columns)
    frame = frame.with_columns(income=pl.when(pl.col("x") > 0.8).then(None).otherwise(pl.col("income")))
    stats, specs = quick_model.metadata.get("drift"), quick_model.preprocessor.specs
    errors = quick_model.score(quick_model.preprocessor.encode(frame), column_errors=False).errors
    total = DriftCounts()
    for start in range(0, 900, 200):
        total.add(count_batch(frame.slice(start, 200), specs, stats, errors[start : start + 200]))
    merged = summarize(total, specs, stats, tolerance=0.02, level=0.01)
    whole = drift_summary(frame, specs, stats, errors=errors)
    assert merged.equals(whole)
    assert lines(whole)["income"]["drifted"] and whole["rows"].to_list() == [900] * 8


def test_identifier_like_text_is_left_out_at_fit_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    def with_text(frame: pl.DataFrame, first: int) -> pl.DataFrame:
        rows = pl.int_range(frame.height)
        return frame.with_columns(
            name=pl.format("car {}", rows * 7 % 251 + first), code=pl.format("a{}", rows % 4)
        )

    frame = with_text(make_mixed(300), 0)
    with caplog.at_level("WARNING", logger="aefeatures"):
        model = aef.fit(frame, exclude=["id", "label"], epochs=1, seed=0, threads=1)
    assert "name" not in model.columns and "code" in model.columns
    assert "'name' (251 distinct of 300)" in caplog.text and "--columns naming it" in caplog.text
    # new names every day are no drift: the column is not a feature
    assert not model.drift(with_text(make_mixed(300, seed=2), 1000), on_drift="ignore")["drifted"].any()
    named = aef.fit(frame, columns=["x", "name"], epochs=1, seed=0, threads=1)  # named: kept
    assert named.columns == ["x", "name"]
    with pytest.raises(aef.DataError, match="every feature column looks like an identifier"):
        aef.fit(frame.select("name", "id"), exclude=["id"], epochs=1, threads=1)


def test_integer_row_numbers_and_sequential_ids_are_left_out_at_fit(caplog: pytest.LogCaptureFixture) -> None:
    rng = np.random.default_rng(0)
    frame = pl.DataFrame(
        {
            "row": np.arange(300),  # a row number
            "order_id": rng.permutation(np.arange(5_000, 5_300)),  # consecutive ids, shuffled
            "population": rng.integers(1_000, 10_000_000, 300),  # distinct, but spread and unordered
            "visits": rng.integers(0, 20, 300),
            "x": rng.normal(size=300),
        }
    )
    with caplog.at_level("WARNING", logger="aefeatures"):
        model = aef.fit(frame, epochs=1, seed=0, threads=1)
    assert model.columns == ["population", "visits", "x"]
    assert "'row' (300 distinct of 300), 'order_id' (300 distinct of 300)" in caplog.text
    named = aef.fit(frame, columns=["row", "x"], epochs=1, threads=1)  # named: kept
    assert named.columns == ["row", "x"]
