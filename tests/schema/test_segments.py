"""fit --segment-by: thresholds, percentiles and drift per segment, the global ones for the rest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import aefeatures as aef
from aefeatures.errors import ConfigError, ModelFileError
from aefeatures.model.segments import MIN_SEGMENT_ROWS
from tests.helpers import make_mixed, run_cli

STORES = ("porto", "faro", "braga", "tiny")


def stores(rows: int, seed: int) -> pl.DataFrame:
    """Mixed rows in four stores; faro's x is much noisier; tiny has about 1% of the rows."""
    rng = np.random.default_rng(seed)
    store = rng.choice(STORES, rows, p=[0.5, 0.3, 0.19, 0.01])
    noise = np.where(store == "faro", rng.normal(0.0, 1.5, rows), 0.0)
    return make_mixed(rows, seed).with_columns(store=pl.Series(store), x=pl.col("x") + pl.Series(noise))


@pytest.fixture(scope="module")
def segmented(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = aef.fit(
        stores(2000, 0), exclude=["id", "label"], epochs=10, seed=0, threads=1, segment_by="store"
    )
    return model.save(tmp_path_factory.mktemp("segments") / "model")


def test_fit_stores_each_large_segment(segmented: Path) -> None:
    stored = json.loads((segmented / "aefeatures.json").read_text())["segments"]
    train = stores(2000, 0)["store"].value_counts()
    rows = dict(train.iter_rows())
    assert stored["column"] == "store" and stored["small"] == ["tiny"] and rows["tiny"] < MIN_SEGMENT_ROWS
    assert sorted(stored["values"]) == ["braga", "faro", "porto"]
    for value, segment in stored["values"].items():
        assert segment["rows"] == rows[value] and segment["drift"]["rows"] == rows[value]
        assert len(segment["quantiles"]) == 1001 and segment["threshold"] > 0
    assert stored["values"]["faro"]["threshold"] > 1.5 * stored["values"]["porto"]["threshold"]


def test_info_shows_each_segments_threshold(segmented: Path) -> None:
    stored = json.loads((segmented / "aefeatures.json").read_text())["segments"]
    info = json.loads(run_cli("info", segmented, "--json").stdout)["segments"]
    assert info["column"] == "store" and info["too_small"] == ["tiny"]
    assert info["thresholds"] == {value: s["threshold"] for value, s in stored["values"].items()}
    text = run_cli("info", segmented).stdout
    porto = stored["values"]["porto"]["threshold"]
    assert "segments by store: thresholds " in text and f"porto {porto:.3g}" in text
    assert "(too few rows, global threshold: tiny)" in text


def test_each_segment_gets_its_own_threshold_and_percentiles(segmented: Path) -> None:
    model = aef.load(segmented)
    plain = aef.fit(stores(2000, 0), exclude=["id", "label"], epochs=10, seed=0, threads=1)
    new = stores(3000, 1)
    for fitted, faro_share in ((model, 0.05), (plain, 1.0)):
        out = (
            fitted.transform(new)
            .group_by("store")
            .agg(pl.col("ae_outlier").mean(), pl.col("ae_error_pct").mean())
        )
        shares = dict(out.select("store", "ae_outlier").iter_rows())
        if fitted is model:  # the noisy store no longer takes every flag
            assert shares["faro"] < faro_share and shares["porto"] < 0.05
            pct = dict(out.select("store", "ae_error_pct").iter_rows())
            assert all(40 < pct[s] < 60 for s in ("porto", "faro", "braga"))
        else:
            assert shares["faro"] > 3 * shares["porto"]


def test_drift_per_segment_finds_a_shift_in_one_store(segmented: Path) -> None:
    model = aef.load(segmented)
    shifted = stores(3000, 3).with_columns(
        y=pl.when(pl.col("store") == "braga").then(pl.col("y") + 1.5).otherwise(pl.col("y"))
    )
    summary = model.drift(shifted, on_drift="ignore")
    assert summary.filter(pl.col("segment").is_null())["column"].to_list() == [*model.columns, "(rows)"]
    assert set(summary["segment"].drop_nulls()) == {"braga", "faro", "porto"}
    drifted = summary.filter(pl.col("drifted") & (pl.col("column") != "(rows)")).select("segment", "column")
    assert ("braga", "y") in drifted.rows() and not drifted.filter(pl.col("segment") == "porto").height
    assert not model.drift(stores(3000, 4), on_drift="ignore")["drifted"].any()


def test_unseen_segments_fall_back_and_are_reported(segmented: Path, tmp_path: Path) -> None:
    model = aef.load(segmented)
    new = stores(600, 5).with_columns(
        store=pl.when(pl.int_range(600) < 30).then(pl.lit("lisbon")).otherwise("store")
    )
    out = model.transform(new)
    lisbon = out.filter(pl.col("store") == "lisbon")
    expected = model.calibration.percentile(lisbon["ae_error"].to_numpy())
    np.testing.assert_allclose(lisbon["ae_error_pct"].to_numpy(), expected)  # the global calibration
    new.write_parquet(tmp_path / "new.parquet")
    done = run_cli(
        "transform", tmp_path / "new.parquet", "-m", segmented, "-o", tmp_path / "out.parquet", "--json"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["drift"]["unseen_segments"] == {"lisbon": 30}
    assert "'lisbon'" in done.stderr or "lisbon" in done.stderr


def test_cli_fit_segment_by_and_a_column_that_is_no_feature(tmp_path: Path) -> None:
    stores(600, 0).write_parquet(tmp_path / "train.parquet")
    done = run_cli(
        "fit",
        tmp_path / "train.parquet",
        "-m",
        tmp_path / "m",
        "--segment-by",
        "store",
        "-x",
        "id",
        "--epochs",
        "1",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "m" / "aefeatures.json").read_text())["segments"]["column"] == "store"
    with pytest.raises(ConfigError, match="segment_by='label' is not one of the feature columns"):
        aef.fit(stores(300, 0), exclude=["label"], epochs=1, threads=1, segment_by="label")


def test_a_continuous_column_is_refused_before_training_with_a_way_to_bin_it(tmp_path: Path) -> None:
    frame = stores(300, 0)
    with pytest.raises(ConfigError) as info:
        aef.fit(frame, exclude=["id", "label"], epochs=1, threads=1, segment_by="x")
    text = str(info.value)
    assert "segment_by='x'" in text and "300 distinct values" in text and f"{MIN_SEGMENT_ROWS}" in text
    binning = text.split("df.with_columns(")[1].split(") gives 2 segments")[0]
    binned = frame.with_columns(eval(binning, {"pl": pl}))  # the hint, followed
    model = aef.fit(binned, exclude=["id", "label", "x"], epochs=1, threads=1, segment_by="x_bin")
    assert model.segments is not None and len(model.segments.calibrations) == 2


def test_a_missing_value_and_the_text_of_the_missing_segment_are_two_segments() -> None:
    store = ["(missing)"] * 150 + [None] * 150 + ["A"] * 100
    frame = make_mixed(400, 0).with_columns(store=pl.Series(store, dtype=pl.String))
    model = aef.fit(frame, exclude=["id", "label"], epochs=1, threads=1, segment_by="store")
    assert model.segments is not None and model.segments.rows == {
        "(missing)": 150,
        "(missing) (the text)": 150,
        "A": 100,
    }


def test_a_damaged_segment_names_the_field(segmented: Path, tmp_path: Path) -> None:
    import shutil

    from aefeatures.model.manifest import MANIFEST, sealed

    copy = Path(shutil.copytree(segmented, tmp_path / "m"))
    manifest = json.loads((copy / MANIFEST).read_text())
    manifest["segments"]["values"]["faro"]["threshold"] = "high"
    (copy / MANIFEST).write_text(json.dumps(sealed(manifest)))
    with pytest.raises(ModelFileError, match="segments.values.faro.threshold"):
        aef.load(copy)
