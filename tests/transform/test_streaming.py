"""Streaming transform of Parquet files, directories and globs, and LazyFrame streaming."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import aefeatures as aef
from aefeatures.errors import DriftError, InfiniteValuesError, SchemaValidationError
from aefeatures.io.sources import read_frame
from aefeatures.transform.streaming import impute_path, transform_path
from tests.helpers import make_mixed


def test_file_streams_in_batches_and_equals_eager(quick_model: aef.AutoencoderModel, tmp_path: Path) -> None:
    frame = make_mixed(1000, seed=1)
    frame.write_parquet(tmp_path / "in.parquet", row_group_size=300)
    summary = transform_path(quick_model, tmp_path / "in.parquet", tmp_path / "out.parquet", batch_rows=128)
    written = pl.read_parquet(tmp_path / "out.parquet")
    assert summary.batches == 8 and summary.rows == 1000 and summary.files == 1
    assert_frame_equal(written, quick_model.transform(frame))  # to rounding: batch sizes differ
    assert summary.outliers == int(written["ae_outlier"].sum())


def test_directory_gives_partitioned_directory(
    quick_model: aef.AutoencoderModel, partitioned: tuple[Path, pl.DataFrame], tmp_path: Path
) -> None:
    root, _ = partitioned
    summary = transform_path(quick_model, root, tmp_path / "features", batch_rows=50)
    inputs = sorted(p.relative_to(root) for p in root.rglob("*.parquet"))
    outputs = sorted(p.relative_to(tmp_path / "features") for p in (tmp_path / "features").rglob("*.parquet"))
    assert outputs == inputs and summary.files == 4
    eager = quick_model.transform(pl.scan_parquet(root, hive_partitioning=True).collect())
    back = pl.scan_parquet(tmp_path / "features", hive_partitioning=True).collect()
    assert set(back.columns) == set(eager.columns)
    assert_frame_equal(back.select(eager.columns).sort("id"), eager.sort("id"))
    # Partition values live in the directory names, not repeated in the files.
    assert "region" not in pl.read_parquet(tmp_path / "features" / outputs[0]).columns


def test_a_partition_column_the_input_files_hold_stays_in_the_output_files(
    quick_model: aef.AutoencoderModel, partitioned: tuple[Path, pl.DataFrame], tmp_path: Path
) -> None:
    _, frame = partitioned
    codes = frame.with_columns(
        code=pl.when(pl.int_range(frame.height) % 2 == 0).then(pl.lit("007")).otherwise(pl.lit("012"))
    )
    codes.write_parquet(tmp_path / "coded", partition_by="code")  # polars writes the column in the files too
    transform_path(quick_model, tmp_path / "coded", tmp_path / "features")
    written = sorted((tmp_path / "features").rglob("*.parquet"))
    assert all(pl.read_parquet(f)["code"].dtype == pl.String for f in written)  # kept, as the input had it
    back = read_frame(tmp_path / "features")
    assert sorted(back["code"].unique().to_list()) == ["007", "012"]  # not 7 and 12


def test_directory_to_one_file_and_glob(
    quick_model: aef.AutoencoderModel, partitioned: tuple[Path, pl.DataFrame], tmp_path: Path
) -> None:
    root, _ = partitioned
    transform_path(quick_model, root, tmp_path / "all.parquet")
    eager = quick_model.transform(pl.scan_parquet(root, hive_partitioning=True).collect())
    assert_frame_equal(pl.read_parquet(tmp_path / "all.parquet"), eager)
    summary = transform_path(quick_model, f"{root}/region=north/*/*.parquet", tmp_path / "north.parquet")
    north = pl.read_parquet(tmp_path / "north.parquet")
    assert summary.files == 1 and north.height == eager.filter(pl.col("region") == "north").height
    assert "region" not in north.columns  # a glob reads files, not hive directories


def test_bad_batch_fails_with_file_and_row_and_writes_nothing(
    quick_model: aef.AutoencoderModel, tmp_path: Path
) -> None:
    frame = make_mixed(1000, seed=2).with_columns(  # counts are whole numbers: 2.5 cannot be one
        count=pl.when(pl.col("id") == 930).then(2.5).otherwise(pl.col("count").cast(pl.Float64))
    )
    frame.write_parquet(tmp_path / "bad.parquet", row_group_size=250)
    with pytest.raises(SchemaValidationError) as info:
        transform_path(quick_model, tmp_path / "bad.parquet", tmp_path / "out.parquet", batch_rows=100)
    assert (
        "bad.parquet" in str(info.value)
        and "rows 900 to 999" in str(info.value)
        and "'count'" in str(info.value)
    )
    assert info.value.failures[0]["index"] == 930
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.parquet"]  # no output, no temporary


@pytest.mark.parametrize("stream", [transform_path, impute_path])
def test_an_infinite_value_names_its_file_and_its_row_in_that_file(
    quick_model: aef.AutoencoderModel, tmp_path: Path, stream: Callable[..., object]
) -> None:
    (tmp_path / "data").mkdir()
    make_mixed(500, seed=3).write_parquet(tmp_path / "data" / "part-0.parquet")
    make_mixed(1000, seed=4).with_columns(
        x=pl.when(pl.col("id") == 930).then(float("inf")).otherwise(pl.col("x"))
    ).write_parquet(tmp_path / "data" / "part-1.parquet", row_group_size=250)
    with pytest.raises(InfiniteValuesError) as info:
        stream(quick_model, tmp_path / "data", tmp_path / "out.parquet", batch_rows=100)
    assert (
        "'x'" in str(info.value) and "row 930 of" in str(info.value) and "part-1.parquet" in str(info.value)
    )
    assert not (tmp_path / "out.parquet").exists()


def test_drift_fail_writes_nothing(quick_model: aef.AutoencoderModel, tmp_path: Path) -> None:
    frame = make_mixed(600, seed=5).with_columns(
        segment=pl.when(pl.col("id") > 300).then(pl.lit("platinum")).otherwise(pl.col("segment"))
    )
    frame.write_parquet(tmp_path / "new.parquet")
    with pytest.raises(DriftError, match="segment"):
        transform_path(
            quick_model, tmp_path / "new.parquet", tmp_path / "out.parquet", batch_rows=100, on_drift="fail"
        )
    assert not (tmp_path / "out.parquet").exists()
    summary = transform_path(quick_model, tmp_path / "new.parquet", tmp_path / "out.parquet", on_drift="warn")
    assert [c["column"] for c in summary.to_dict()["drifted_columns"]] == ["segment"]


def test_lazyframe_streams_to_sink_with_eager_values(
    quick_model: aef.AutoencoderModel, mixed_parquet: Path, tmp_path: Path
) -> None:
    lazy = pl.scan_parquet(mixed_parquet).pipe(quick_model.transform)
    assert isinstance(lazy, pl.LazyFrame)
    lazy.sink_parquet(tmp_path / "lazy.parquet")
    assert_frame_equal(
        pl.read_parquet(tmp_path / "lazy.parquet"), quick_model.transform(pl.read_parquet(mixed_parquet))
    )
