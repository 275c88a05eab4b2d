"""Reading Parquet data in bounded pieces: one row group at a time, hive partition values attached.

pyarrow's ``ParquetFile`` pre-buffers a whole file by default (a 2 GB file held 2.5 GB of memory);
every reader here opens files with ``pre_buffer=False`` so memory follows the batch, not the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from aefeatures.defaults import DEFAULT_BATCH_ROWS
from aefeatures.io.sources import ParquetLayout, check_column_names, hive_column, read_error


@dataclass(frozen=True)
class ParquetPart:
    """One Parquet file of a source, with its path below the source directory and hive values."""

    path: Path
    relative: Path  # where the file sits below the source directory (its name for a file or glob)
    hive: tuple[tuple[str, str | None], ...]  # (column, raw value) from key=value directories


@dataclass(frozen=True)
class ParquetSource:
    """The files behind a Parquet path (file, directory with hive partitions, or glob)."""

    parts: tuple[ParquetPart, ...]
    hive_schema: pl.Schema  # dtypes of the hive partition columns, as polars infers them
    is_directory: bool
    origin: str | Path  # what was opened: the file, directory or glob as given

    @classmethod
    def open(cls, source: str | Path) -> ParquetSource:
        """List the files of ``source`` and the hive partition columns of a directory.

        The files, their shared schema and the partition columns are those of
        :class:`~aefeatures.io.sources.ParquetLayout`, as :func:`~aefeatures.io.sources.scan` sees them.
        """
        layout = ParquetLayout.of(source)
        parts = tuple(
            ParquetPart(f, f.relative_to(layout.root) if layout.is_directory else Path(f.name), hive)
            for f, hive in zip(layout.files, layout.hive, strict=True)
        )
        return cls(
            parts=parts, hive_schema=layout.hive_schema, is_directory=layout.is_directory, origin=source
        )

    @property
    def n_rows(self) -> int:
        """Total rows, from the Parquet footers (nothing else is read)."""
        return sum(open_parquet(part.path).metadata.num_rows for part in self.parts)

    @property
    def uncompressed_bytes(self) -> int:
        """Uncompressed size of all row groups, from the footers: a guide to in-memory size."""
        total = 0
        for part in self.parts:
            meta = open_parquet(part.path).metadata
            total += sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        return total

    def row_groups(self) -> list[tuple[int, int, int]]:
        """Every row group of the source as (part index, row group index, rows), in file order."""
        groups = []
        for index, part in enumerate(self.parts):
            meta = open_parquet(part.path).metadata
            groups += [(index, group, meta.row_group(group).num_rows) for group in range(meta.num_row_groups)]
        return groups

    def iter_row_group(
        self, index: int, group: int, columns: list[str] | None = None, batch_rows: int = DEFAULT_BATCH_ROWS
    ) -> Iterator[pl.DataFrame]:
        """One row group as frames of at most ``batch_rows`` rows, hive columns appended."""
        part = self.parts[index]
        try:
            for batch in open_parquet(part.path).iter_batches(
                batch_size=batch_rows,
                row_groups=[group],
                columns=self._file_columns(columns),
                use_threads=True,
            ):
                yield self.with_hive(pl.DataFrame(pl.from_arrow(batch)), part, columns)
        except (OSError, pa.ArrowException) as exc:
            raise read_error(part.path, exc) from exc

    def iter_frames(
        self, batch_rows: int = DEFAULT_BATCH_ROWS, columns: list[str] | None = None
    ) -> Iterator[tuple[ParquetPart, pl.DataFrame]]:
        """Every file's rows in order, as frames of at most ``batch_rows`` rows."""
        for part in self.parts:
            parquet = open_parquet(part.path)
            if parquet.metadata.num_rows == 0:
                empty = pl.DataFrame(pl.from_arrow(parquet.schema_arrow.empty_table()))
                yield (
                    part,
                    self.with_hive(empty.select(self._file_columns(columns) or empty.columns), part, columns),
                )
                continue
            try:
                for batch in parquet.iter_batches(
                    batch_size=batch_rows, columns=self._file_columns(columns), use_threads=True
                ):
                    yield part, self.with_hive(pl.DataFrame(pl.from_arrow(batch)), part, columns)
            except (OSError, pa.ArrowException) as exc:
                raise read_error(part.path, exc) from exc

    def _file_columns(self, columns: list[str] | None) -> list[str] | None:
        return None if columns is None else [c for c in columns if c not in self.hive_schema]

    def with_hive(
        self, frame: pl.DataFrame, part: ParquetPart, columns: list[str] | None = None
    ) -> pl.DataFrame:
        """Append the hive partition columns of ``part`` (as constants) to ``frame``."""
        values = [
            hive_column(pl.lit(value, dtype=pl.String), self.hive_schema[name]).alias(name)
            for name, value in part.hive
            if columns is None or name in columns
        ]
        return frame.with_columns(values) if values else frame


def open_parquet(path: Path) -> pq.ParquetFile:
    """A Parquet file opened without pre-buffering (memory bounded by the row group read)."""
    try:
        parquet = pq.ParquetFile(path, pre_buffer=False)
    except (OSError, pa.ArrowException) as exc:
        raise read_error(path, exc) from exc
    check_column_names(list(parquet.schema_arrow.names), repr(str(path)))
    return parquet
