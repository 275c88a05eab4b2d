"""Reading Parquet data in bounded pieces: one row group at a time, hive partition values attached.

pyarrow's ``ParquetFile`` pre-buffers a whole file by default (a 2 GB file held 2.5 GB of memory);
every reader here opens files with ``pre_buffer=False`` so memory follows the batch, not the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from aefeatures.defaults import DEFAULT_BATCH_ROWS
from aefeatures.errors import DataError
from aefeatures.io.sources import parquet_files, read_error

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


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

    @classmethod
    def open(cls, source: str | Path) -> ParquetSource:
        """List the files of ``source`` and the hive partition columns of a directory."""
        root = Path(source)
        files = parquet_files(source)
        is_directory = root.is_dir()
        parts = tuple(
            ParquetPart(
                f,
                f.relative_to(root) if is_directory else Path(f.name),
                _hive_values(f, root) if is_directory else (),
            )
            for f in files
        )
        names = [name for name, _ in parts[0].hive] if parts else []
        if any([name for name, _ in part.hive] != names for part in parts):
            raise DataError(
                f"the partition directories under {str(source)!r} do not all have the same keys.",
                hint="every file must sit under the same key=value directories, e.g. year=2025/month=01/",
            )
        hive_schema = pl.Schema()
        if names:
            scanned = pl.scan_parquet(str(root), hive_partitioning=True).collect_schema()
            hive_schema = pl.Schema({name: scanned[name] for name in names})
        return cls(parts=parts, hive_schema=hive_schema, is_directory=is_directory)

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
            pl.lit(value, dtype=pl.String).cast(self.hive_schema[name]).alias(name)
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
    names = parquet.schema_arrow.names
    repeated = [name for i, name in enumerate(names) if name in names[:i]]
    if repeated:
        raise DataError(
            f"column {repeated[0]!r} appears more than once in {str(path)!r}.",
            hint="rename or drop the duplicate columns",
        )
    return parquet


def _hive_values(path: Path, root: Path) -> tuple[tuple[str, str | None], ...]:
    pairs = []
    for directory in path.relative_to(root).parts[:-1]:
        key, equals, value = directory.partition("=")
        if equals:
            decoded = unquote(value)
            pairs.append((key, None if decoded == HIVE_NULL else decoded))
    return tuple(pairs)
