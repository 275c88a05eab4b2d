"""Overlapped batch processing: scoring on several threads keeps order, errors and results."""

from __future__ import annotations

import errno
import threading
import time
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

import aefeatures as aef
from aefeatures.errors import DataError, SchemaValidationError
from aefeatures.transform.streaming import transform_path
from aefeatures.transform.workers import ordered_map
from tests.helpers import make_mixed


def test_ordered_map_keeps_order_runs_in_parallel_and_restores_torch_threads() -> None:
    threads: set[str] = set()

    def slow_square(value: int) -> int:
        threads.add(threading.current_thread().name)
        assert torch.get_num_threads() == 1  # each worker is one core
        time.sleep(0.02 * (value % 3))  # later items often finish first
        return value * value

    torch.set_num_threads(2)
    try:
        assert list(ordered_map(slow_square, range(12), workers=3)) == [v * v for v in range(12)]
        assert len(threads) > 1 and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)


def test_ordered_map_raises_an_items_error_in_its_turn() -> None:
    def fail_on_five(value: int) -> int:
        if value == 5:
            raise ValueError("five")
        return value

    seen = []
    with pytest.raises(ValueError, match="five"):
        for value in ordered_map(fail_on_five, range(10), workers=2):
            seen.append(value)
    assert seen == [0, 1, 2, 3, 4]


def test_parallel_streaming_transform_equals_the_sequential_one(
    fitted_model_dir: Path, tmp_path: Path
) -> None:
    model = aef.load(fitted_model_dir, device="cpu")
    make_mixed(2000, seed=11).write_parquet(tmp_path / "in.parquet", row_group_size=300)
    transform_path(model, tmp_path / "in.parquet", tmp_path / "one.parquet", batch_rows=128)
    torch.set_num_threads(2)
    try:
        summary = transform_path(model, tmp_path / "in.parquet", tmp_path / "two.parquet", batch_rows=128)
    finally:
        torch.set_num_threads(1)
    assert summary.batches == 16
    assert pl.read_parquet(tmp_path / "two.parquet").equals(pl.read_parquet(tmp_path / "one.parquet"))


def test_parallel_streaming_transform_reports_the_first_bad_batch(
    fitted_model_dir: Path, tmp_path: Path
) -> None:
    model = aef.load(fitted_model_dir, device="cpu")
    frame = make_mixed(1000, seed=12).with_columns(  # counts are whole numbers: 2.5 cannot be one
        count=pl.when(pl.col("id").is_in([430, 870])).then(2.5).otherwise(pl.col("count").cast(pl.Float64))
    )
    frame.write_parquet(tmp_path / "bad.parquet")
    torch.set_num_threads(2)
    try:
        with pytest.raises(SchemaValidationError, match="rows 400 to 499") as info:
            transform_path(model, tmp_path / "bad.parquet", tmp_path / "out.parquet", batch_rows=100)
        assert info.value.__traceback__ is not None  # the failed call's frames are still alive ...
        assert torch.get_num_threads() == 2  # ... and the thread count is already restored
    finally:
        torch.set_num_threads(1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.parquet"]


def test_a_failed_write_stops_the_workers_and_restores_torch_threads(
    fitted_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = aef.load(fitted_model_dir, device="cpu")
    make_mixed(2000, seed=13).write_parquet(tmp_path / "in.parquet")

    def disk_full(self: pq.ParquetWriter, table: pa.Table, row_group_size: int | None = None) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", disk_full)
    torch.set_num_threads(2)
    try:
        with pytest.raises(DataError, match="No space left") as info:
            transform_path(model, tmp_path / "in.parquet", tmp_path / "out.parquet", batch_rows=100)
        assert info.value.__traceback__ is not None  # the failed call's frames are still alive ...
        assert torch.get_num_threads() == 2  # ... and the workers are already gone
        assert not [t for t in threading.enumerate() if t.name.startswith("aefeatures")]
    finally:
        torch.set_num_threads(1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet"]
