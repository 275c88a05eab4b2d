"""Rows of Parquet data larger than memory: a uniform sample, the first rows, a stream per epoch.

A streaming fit makes one pass over the data that keeps a uniform random sample of
``sample_rows`` rows (reservoir sampling by random keys) and counts every column's missing
values. From the sample it learns the preprocessing (medians, scales, category levels, loss
baselines), the inferred schema (nullability from the full counts), the validation rows and the
error calibration. Every epoch then streams all other rows: row groups in a fresh random order,
read in batches through a shuffle buffer of ``shuffle_rows`` rows. Memory is bounded by the
sample, the buffer and one read batch, whatever the data's size.

When the data fits in the sample, the fit sees the same statistics and the same rows as an
in-memory fit; only the row order of the epochs differs.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandera.polars as pa
import polars as pl
import torch

from aefeatures.errors import DataError
from aefeatures.features.preprocessor import Preprocessor
from aefeatures.fitting.rows import Batch
from aefeatures.io.parquet import DEFAULT_BATCH_ROWS, ParquetSource
from aefeatures.schema.schemas import infer_schema, validate

SAMPLE_ROWS = 200_000
SHUFFLE_ROWS = 262_144
MEMORY_SHARE = 0.25  # stream when the decoded data would take more than this share of free memory


@dataclass(frozen=True)
class Sample:
    """A uniform sample of a source's rows, with what one pass over all rows counted."""

    frame: pl.DataFrame  # sampled feature columns, in random order
    index: np.ndarray  # (n,) int64 global row number of each sampled row
    n_rows: int  # rows in the whole source
    missing: dict[str, int]  # null (or NaN) count of every feature column over all rows

    def inferred_schema(self, columns: list[str]) -> pa.DataFrameSchema:
        """Schema of the sampled ``columns``, nullable wherever any row of the source had a missing value."""
        schema = infer_schema(self.frame, columns)
        return schema.update_columns({name: {"nullable": True} for name in columns if self.missing.get(name)})


def sample_rows(
    source: ParquetSource, columns: list[str], size: int, seed: int, check: pa.DataFrameSchema | None = None
) -> Sample:
    """One pass: keep the ``size`` rows with the smallest random keys (a uniform sample).

    ``check``, when given, validates every batch on the way, so each row is checked once.
    """
    rng = np.random.default_rng(seed)
    frames, keys, index = [], [], []
    kept, threshold, offset = 0, 1.0, 0
    missing = dict.fromkeys(columns, 0)
    for _, frame in source.iter_frames(DEFAULT_BATCH_ROWS, columns):
        frame = frame.select(columns)
        if check is not None:
            validate(frame, check)
        for name, count in _missing_counts(frame).items():
            missing[name] += count
        key = rng.random(frame.height)
        take = np.flatnonzero(key < threshold)
        frames.append(frame[take])
        keys.append(key[take])
        index.append(offset + take)
        kept, offset = kept + take.size, offset + frame.height
        if kept > 2 * size:
            frames, keys, index, threshold = _smallest(frames, keys, index, size)
            kept = size
    frames, keys, index, _ = _smallest(frames, keys, index, size)
    return Sample(frames[0], index[0], offset, missing)


def _smallest(
    frames: list[pl.DataFrame], keys: list[np.ndarray], index: list[np.ndarray], size: int
) -> tuple[list[pl.DataFrame], list[np.ndarray], list[np.ndarray], float]:
    frame = pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame()
    key, rows = np.concatenate(keys or [np.zeros(0)]), np.concatenate(index or [np.zeros(0, np.int64)])
    order = np.argsort(key, kind="stable")[:size]
    threshold = float(key[order[-1]]) if order.size >= size else 1.0
    return [frame[order]], [key[order]], [rows[order].astype(np.int64)], threshold


def _missing_counts(frame: pl.DataFrame) -> dict[str, int]:
    counts = frame.null_count().row(0, named=True)
    for name, dtype in frame.schema.items():
        if dtype.is_float():
            counts[name] += int(frame[name].is_nan().sum())
    return counts


class StreamingRows:
    """Training rows read from Parquet every epoch, shuffled through a buffer (a ``RowSource``)."""

    def __init__(
        self,
        source: ParquetSource,
        preprocessor: Preprocessor,
        dtypes: pl.Schema,
        exclude: np.ndarray,
        device: torch.device,
        shuffle_rows: int = SHUFFLE_ROWS,
    ) -> None:
        self.source, self.preprocessor, self.dtypes = source, preprocessor, dtypes
        self.exclude = np.sort(exclude)  # global row numbers kept out (the validation rows)
        self.device, self.shuffle_rows = device, shuffle_rows
        self.groups = source.row_groups()
        self.starts = np.concatenate([[0], np.cumsum([rows for _, _, rows in self.groups])])

    def __len__(self) -> int:
        """Rows in one epoch: every row but the validation rows."""
        return int(self.starts[-1]) - self.exclude.size

    def batches(self, batch_size: int, generator: torch.Generator) -> Iterator[Batch]:
        """One epoch: row groups in random order, buffered rows permuted, then cut into batches."""
        buffer: list[Batch] = []
        buffered = 0
        for position in torch.randperm(len(self.groups), generator=generator).tolist():
            for rows in self._read_group(position):
                buffer.append(rows)
                buffered += len(rows)
                if buffered >= max(self.shuffle_rows, batch_size):
                    remainder = yield from self._drain(buffer, batch_size, generator, keep_remainder=True)
                    buffer, buffered = [remainder], len(remainder)
        if buffered:
            yield from self._drain(buffer, batch_size, generator, keep_remainder=False)

    def _read_group(self, position: int) -> Iterator[Batch]:
        index, group, _ = self.groups[position]
        start = int(self.starts[position])
        columns = list(self.dtypes.names())
        for frame in self.source.iter_row_group(index, group, columns):
            rows = np.arange(start, start + frame.height)
            start += frame.height
            keep = ~_isin_sorted(rows, self.exclude)
            frame = _cast(frame.select(columns).filter(pl.Series(keep)), self.dtypes)
            yield Batch.from_encoded(self.preprocessor.encode(frame), torch.device("cpu"))

    def _drain(
        self, buffer: list[Batch], batch_size: int, generator: torch.Generator, keep_remainder: bool
    ) -> Generator[Batch, None, Batch]:
        rows = Batch(*(torch.cat(parts).to(self.device) for parts in zip(*buffer, strict=True)))
        order = torch.randperm(len(rows), generator=generator).to(self.device)
        stop = len(rows) - len(rows) % batch_size if keep_remainder else len(rows)
        for begin in range(0, stop, batch_size):
            yield rows.take(order[begin : begin + batch_size])
        return Batch(*(part.cpu() for part in rows.take(order[stop:])))  # carried into the next buffer


def _isin_sorted(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    if sorted_set.size == 0:
        return np.zeros(values.shape, bool)
    at = np.searchsorted(sorted_set, values).clip(0, sorted_set.size - 1)
    return sorted_set[at] == values


def _cast(frame: pl.DataFrame, dtypes: pl.Schema) -> pl.DataFrame:
    try:
        return frame.cast(dict(dtypes), strict=True)  # type: ignore[arg-type]
    except pl.exceptions.PolarsError as exc:
        raise DataError(
            f"a row group does not convert to the types of the sampled rows: {str(exc).splitlines()[0]}",
            hint="every file must share one schema; fit on a consistent source or pass --schema",
        ) from exc


def should_stream(source: ParquetSource) -> bool:
    """Whether the decoded data would take more than a quarter of the available memory."""
    available = _available_memory()
    return available is not None and source.uncompressed_bytes > MEMORY_SHARE * available


def _available_memory() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def head_rows(parquet: ParquetSource, columns: list[str], max_rows: int) -> pl.DataFrame:
    """The first ``max_rows`` rows of ``columns``, read batch by batch."""
    frames, taken = [], 0
    for _, frame in parquet.iter_frames(min(max_rows, DEFAULT_BATCH_ROWS), columns):
        frames.append(frame.select(columns).head(max_rows - taken))
        taken += frames[-1].height
        if taken >= max_rows:
            break
    return pl.concat(frames, how="vertical_relaxed")
