"""Outputs are written atomically: an existing file is kept unless overwriting is asked for, and a
failed write leaves neither a partial output nor a temporary file."""

from __future__ import annotations

import errno
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import aefeatures as aef
from aefeatures.errors import DataError, OutputExistsError
from aefeatures.transform.streaming import transform_path


def test_failed_write_in_the_writer_thread_leaves_nothing(
    quick_model: aef.AutoencoderModel, mixed_parquet: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = sorted(tmp_path.iterdir())
    written = []

    def disk_fills_up(self: pq.ParquetWriter, table: pa.Table, row_group_size: int | None = None) -> None:
        if written:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(table.num_rows)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", disk_fills_up)
    with pytest.raises(DataError, match="No space left on device") as info:
        transform_path(quick_model, mixed_parquet, tmp_path / "out.parquet", batch_rows=100)
    assert "out.parquet" in str(info.value) and written == [100]
    assert sorted(tmp_path.iterdir()) == before  # no output, no temporary


def test_existing_output_is_kept(
    quick_model: aef.AutoencoderModel, mixed_parquet: Path, tmp_path: Path
) -> None:
    (tmp_path / "out.parquet").write_bytes(b"keep me")
    with pytest.raises(OutputExistsError):
        transform_path(quick_model, mixed_parquet, tmp_path / "out.parquet")
    # A file aefeatures did not write is not replaced even when overwriting is asked for...
    with pytest.raises(OutputExistsError, match="aefeatures did not write"):
        transform_path(quick_model, mixed_parquet, tmp_path / "out.parquet", overwrite=True)
    assert (tmp_path / "out.parquet").read_bytes() == b"keep me"
    # ...an earlier output of a transform is.
    transform_path(quick_model, mixed_parquet, tmp_path / "features.parquet")
    transform_path(quick_model, mixed_parquet, tmp_path / "features.parquet", overwrite=True)
    assert pl.read_parquet(tmp_path / "features.parquet").height == 600
