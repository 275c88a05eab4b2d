"""Spark: mapInArrow transform equals the single-machine path; TorchDistributor training.

Runs in ``local[2]`` with one SparkSession for the whole test session. Skips only when
pyspark or Java is missing locally; ``make test`` (CI) sets AEFEATURES_REQUIRE_SPARK=1,
which turns a missing dependency into a failure.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import aefeatures as aef
from aefeatures.errors import DataError
from tests.helpers import make_mixed

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]


def _assert_same(spark_out: pl.DataFrame, local_out: pl.DataFrame, key: str) -> None:
    assert spark_out.columns == local_out.columns
    assert spark_out.schema == local_out.schema
    a, b = spark_out.sort(key), local_out.sort(key)
    for name in a.columns:
        if a[name].dtype.is_float():
            np.testing.assert_allclose(
                a[name].to_numpy(), b[name].to_numpy(), rtol=1e-5, atol=1e-6, err_msg=name
            )
        else:
            assert a[name].to_list() == b[name].to_list(), name


def test_transform_matches_single_machine_on_mixed_types(
    spark, fitted_model_dir: Path, tmp_path: Path
) -> None:
    from aefeatures.integrations import spark as aes

    path = tmp_path / "mixed.parquet"
    make_mixed(rows=900, seed=3).write_parquet(path, row_group_size=300)
    scored = aes.transform(spark.read.parquet(str(path)), str(fitted_model_dir), per_feature_errors=True)
    model = aef.load(fitted_model_dir)
    expected = model.transform(path, per_feature_errors=True)
    assert scored.columns == expected.columns
    _assert_same(pl.DataFrame(pl.from_arrow(scored.toArrow())), expected, "id")


def test_impute_matches_single_machine(spark, fitted_model_dir: Path, tmp_path: Path) -> None:
    from aefeatures.integrations import spark as aes

    path = tmp_path / "holes.parquet"
    frame = make_mixed(rows=600, seed=4)
    holes = pl.Series(np.random.default_rng(0).random(600) < 0.3)
    frame.with_columns(
        pl.when(holes).then(None).otherwise(pl.col(c)).alias(c) for c in ("x", "segment", "active")
    ).write_parquet(path, row_group_size=200)
    filled = aes.impute(spark.read.parquet(str(path)), str(fitted_model_dir))
    local = aef.load(fitted_model_dir).impute(path)
    out = pl.DataFrame(pl.from_arrow(filled.toArrow()))
    assert out.select("x", "segment", "active").null_count().sum_horizontal().item() == 0
    _assert_same(out, local, "id")


def test_transform_matches_on_anomaly_data(spark, anomalies_parquet: Path, tmp_path: Path) -> None:
    from aefeatures.integrations import spark as aes

    path = anomalies_parquet  # numeric only, no id column: rows are matched on all their values
    model = aef.fit(path, exclude=["label"], epochs=5, seed=0, threads=1)
    frame = spark.read.parquet(str(path))
    scored = aes.transform(frame, model, max_batch_rows=100)  # a fitted model object is shipped as well
    out_dir = tmp_path / "scored"
    scored.write.parquet(str(out_dir))
    written = pl.read_parquet(out_dir / "*.parquet")
    expected = model.transform(path)
    assert written.height == expected.height == 1800
    key = "row"
    _assert_same(
        written.with_columns(
            pl.concat_str(pl.all().exclude("^ae_.*$").cast(pl.String), separator="|").alias(key)
        ),
        expected.with_columns(
            pl.concat_str(pl.all().exclude("^ae_.*$").cast(pl.String), separator="|").alias(key)
        ),
        key,
    )


def test_transform_rejects_missing_feature_before_running(spark, fitted_model_dir: Path) -> None:
    from aefeatures.integrations import spark as aes

    frame = spark.createDataFrame([(1.0, 2.0)], "x double, z double")
    with pytest.raises(DataError, match="column 'y' is a model feature"):
        aes.transform(frame, fitted_model_dir)


@pytest.mark.slow
def test_torch_distributor_trains_a_normal_model_directory(spark, tmp_path: Path) -> None:
    from pyspark.ml.torch.distributor import TorchDistributor

    from aefeatures.fitting.distributed import fit_distributed

    path = tmp_path / "mixed.parquet"
    make_mixed(rows=800, seed=5).write_parquet(path, row_group_size=200)
    target = tmp_path / "model"
    distributor = TorchDistributor(num_processes=2, local_mode=True, use_gpu=False)
    result = distributor.run(
        fit_distributed, str(path), str(target), exclude=["id", "label"], epochs=4, seed=0, threads=1
    )
    assert result == str(target)
    model = aef.load(target)
    assert model.metadata["history"]["world_size"] == 2  # two DDP ranks, not a fallback to one
    assert model.info()["training"]["rows"] == 800
    out = model.transform(path)
    assert out.height == 800 and out["ae_error"].is_finite().all()


def test_job_entry_point_writes_parquet_and_refuses_to_overwrite(
    spark, fitted_model_dir: Path, tmp_path: Path, capsys
) -> None:
    from aefeatures.spark import main

    data = tmp_path / "in.parquet"
    make_mixed(rows=300, seed=8).write_parquet(data)
    output = tmp_path / "out"
    assert main([str(data), "--model", str(fitted_model_dir), "--output", str(output)]) == 0
    assert json.loads(capsys.readouterr().out)["columns"][-3:] == ["ae_error", "ae_error_pct", "ae_outlier"]
    _assert_same(pl.read_parquet(output / "*.parquet"), aef.load(fitted_model_dir).transform(data), "id")
    assert main([str(data), "--model", str(fitted_model_dir), "--output", str(output)]) == 1
    assert "already exists" in capsys.readouterr().err
    # --overwrite replaces the job's own output (recognised by the marker Spark keeps in each footer) ...
    assert main([str(data), "--model", str(fitted_model_dir), "--output", str(output), "--overwrite"]) == 0
    capsys.readouterr()
    # ... but never a directory of the user's, nor the input, which Spark's overwrite would delete
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    for target in (mine, data):
        assert (
            main([str(data), "--model", str(fitted_model_dir), "--output", str(target), "--overwrite"]) == 1
        )
        refused = capsys.readouterr().err
        assert "not replaced" in refused or "an input of this command" in refused
    assert (mine / "notes.txt").read_text() == "keep" and data.is_file()
    assert main([str(data), "--model", str(tmp_path / "no-model"), "--output", str(tmp_path / "o2")]) == 1
    assert "not a model directory" in capsys.readouterr().err and not (tmp_path / "o2").exists()
    bad = tmp_path / "bad.parquet"
    make_mixed(rows=50).with_columns(pl.lit("oops").alias("x")).write_parquet(bad)
    assert main([str(bad), "--model", str(fitted_model_dir), "--output", str(tmp_path / "o3")]) == 1
    error = capsys.readouterr().err
    assert "nothing was written" in error and "'x'" in error
    assert not list((tmp_path / "o3").glob("**/*.parquet"))


def test_worker_loads_the_model_once_per_process(fitted_model_dir: Path) -> None:
    from aefeatures.integrations import spark as aes

    files = aes.model_files(fitted_model_dir)
    calls = []

    def payload() -> dict[str, bytes]:
        calls.append(1)
        return files

    key = "test-key:cpu"
    try:
        first = aes._worker_model(key, payload, "cpu")
        assert aes._worker_model(key, payload, "cpu") is first and len(calls) == 1
    finally:
        aes._WORKER_MODELS.pop(key, None)
    batch = make_mixed(rows=50).to_arrow().to_batches()[0]
    assert first.transform_batch(batch).num_rows == 50
