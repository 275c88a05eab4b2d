"""Reading what users pass in: Parquet paths (file, directory, glob) and in-memory frames."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard, Union
from urllib.parse import unquote

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from aefeatures.errors import DataError, shorten
from aefeatures.io.arrow_types import check_arrow_schema, polars_ready
from aefeatures.io.listing import OTHER_FORMATS, parquet_files

if TYPE_CHECKING:
    import pandas as pd

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
FILE_PATH = "__aefeatures_file__"  # scan's temporary column: which file a row came from

DataLike = Union[str, Path, pl.DataFrame, pl.LazyFrame, pa.Table, pa.RecordBatch, "pd.DataFrame"]


def is_path(data: object) -> TypeGuard[str | Path]:
    """Whether ``data`` names files rather than holding rows."""
    return isinstance(data, (str, Path))


@dataclass(frozen=True)
class ParquetLayout:
    """What the files of a Parquet path hold, decided once for every reader.

    ``files`` are the data files (:func:`parquet_files`); ``schema`` their columns, the same in
    every file (:func:`common_schema`); ``hive`` the ``(column, raw value)`` pairs of each file's
    ``key=value`` directories below a directory source, and ``hive_schema`` their types. A
    partition column that the files also hold (polars' ``partition_by`` writes both) keeps the
    files' type, and every file's values must be its directory's value: readers take the
    directory's, so a file that disagrees would lose its own without a word.
    """

    root: Path
    files: tuple[Path, ...]
    is_directory: bool
    schema: pl.Schema
    hive: tuple[tuple[tuple[str, str | None], ...], ...]
    hive_schema: pl.Schema

    @classmethod
    def of(cls, source: str | Path) -> ParquetLayout:
        """Find the files of ``source``, check they share one schema and read their partitions."""
        root = Path(source)
        files = parquet_files(source)
        schema = common_schema(files)
        is_directory = root.is_dir()
        hive = tuple(hive_values(f, root) if is_directory else () for f in files)
        keys = [name for name, _ in hive[0]]
        for file, pairs in zip(files, hive, strict=True):
            if [name for name, _ in pairs] != keys:
                raise DataError(
                    f"the partition directories under {str(source)!r} do not all have the same keys: "
                    f"{str(files[0])!r} has {keys or 'none'}, {str(file)!r} has {[n for n, _ in pairs] or 'none'}.",
                    hint="every file must sit under the same key=value directories, e.g. year=2025/month=01/",
                )
        hive_schema = pl.Schema(
            {
                key: schema[key] if key in schema else _hive_dtype([pairs[i][1] for pairs in hive])
                for i, key in enumerate(keys)
            }
        )
        for i, key in enumerate(keys):
            if key in schema:
                for file, pairs in zip(files, hive, strict=True):
                    _require_partition_values(file, key, pairs[i][1], schema[key])
        return cls(root, tuple(files), is_directory, schema, hive, hive_schema)


def _require_partition_values(file: Path, key: str, raw: str | None, dtype: pl.DataType) -> None:
    """Refuse a file whose column ``key`` holds a value other than its ``key=raw`` directory's."""
    directory = f"{key}={HIVE_NULL if raw is None else raw}"
    try:
        expected = pl.select(hive_column(pl.lit(raw, pl.String), dtype)).item()
        other = pl.scan_parquet(file).select(key).filter(pl.col(key).ne_missing(expected)).head(1).collect()
    except pl.exceptions.PolarsError as exc:
        raise DataError(
            f"{str(file)!r} sits under the partition directory {directory!r}, which cannot be read as "
            f"its column {key!r} ({dtype}): {str(exc).splitlines()[0]}.",
            hint=f"rename the partition key or the column {key!r}, so that one does not stand for the other",
        ) from exc
    if other.height:
        raise DataError(
            f"{str(file)!r} holds {other.item()!r} in its column {key!r}, but sits under the partition "
            f"directory {directory!r}: readers take the directory's value, so the file's would be lost.",
            hint=f"move the file under the directory of its values, or rename the partition key or the "
            f"column {key!r}, so that one does not stand for the other",
        )


def common_schema(files: Sequence[Path]) -> pl.Schema:
    """The columns every file has, from the footers; a file that differs is named with how.

    Column order may differ between files (columns are matched by name); names, types and the
    set of columns may not, whichever way the data is later read (whole, sampled or streamed).
    """
    first: pl.Schema | None = None
    for file in files:
        schema = _file_schema(file)
        if first is None:
            first = schema
            continue
        changes = [f"column {c!r} is missing" for c in first if c not in schema]
        changes += [f"column {c!r} is extra" for c in schema if c not in first]
        changes += [
            f"column {c!r} is {schema[c]} instead of {first[c]}"
            for c in first
            if c in schema and schema[c] != first[c]
        ]
        if changes:
            raise DataError(
                f"{str(file)!r} does not have the columns of {str(files[0])!r}: {'; '.join(changes)}.",
                hint="every file of a directory or glob must share one schema: rewrite the odd file "
                "with the same column types, or read the files separately",
            )
    return first if first is not None else pl.Schema()


def _file_schema(file: Path) -> pl.Schema:
    try:
        arrow = pq.read_schema(file)
    except (OSError, pa.ArrowException) as exc:
        raise read_error(file, exc) from exc
    check_column_names(list(arrow.names), f"{str(file)!r}")
    check_arrow_schema(arrow, shorten(repr(str(file))))
    return pl.DataFrame(pl.from_arrow(arrow.empty_table())).schema


def check_column_names(names: Sequence[str], where: str, *, allow_empty: bool = False) -> None:
    """Refuse a duplicated or empty column name, or one with a NUL character: readers would
    drop, rename or mix them up, or fail (Arrow's C interfaces end a name at NUL)."""
    seen: set[str] = set()
    for position, name in enumerate(names):
        if "\x00" in name:
            raise DataError(
                f"column {position} of {where} ({name!r}) has a NUL character in its name, which "
                "Arrow and polars cannot pass on.",
                hint="rename the column when writing the data, without the NUL ('\\x00') character",
            )
        if name == "" and not allow_empty:
            raise DataError(
                f"column {position} of {where} has an empty name: readers rename it (to column_{position}), "
                "so it would not be the same column everywhere.",
                hint="give the column a name when writing the data",
            )
        if name in seen:
            raise DataError(
                f"column {name!r} appears more than once in {where}.",
                hint="rename or drop the duplicate columns",
            )
        seen.add(name)


def hive_values(path: Path, root: Path) -> tuple[tuple[str, str | None], ...]:
    """``(key, value)`` of each ``key=value`` directory between ``root`` and ``path``, URL-decoded."""
    pairs = []
    for directory in path.relative_to(root).parts[:-1]:
        key, equals, value = directory.partition("=")
        if equals:
            decoded = unquote(value)
            pairs.append((key, None if decoded == HIVE_NULL else decoded))
    return tuple(pairs)


def _hive_dtype(values: list[str | None]) -> pl.DataType:
    """The type of a partition column: Boolean, Int64, Float64, Date, Datetime, else String."""
    present = pl.Series(values, dtype=pl.String).drop_nulls()
    if present.is_empty():
        return pl.String()
    if bool(present.is_in(["true", "false"]).all()):
        return pl.Boolean()
    for dtype in (pl.Int64(), pl.Float64()):
        with contextlib.suppress(pl.exceptions.PolarsError):
            present.cast(dtype, strict=True)
            return dtype
    with contextlib.suppress(pl.exceptions.PolarsError):
        present.str.to_date("%Y-%m-%d", strict=True)
        return pl.Date()
    with contextlib.suppress(pl.exceptions.PolarsError):
        present.str.to_datetime(time_unit="us", strict=True)
        return pl.Datetime("us")
    return pl.String()


def hive_column(text: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A partition column's values (raw text) as ``dtype``, as :func:`_hive_dtype` inferred it."""
    if dtype == pl.Boolean:
        return text == "true"
    if dtype == pl.Date:
        return text.str.to_date("%Y-%m-%d")
    if isinstance(dtype, pl.Datetime):
        return text.str.to_datetime(time_unit="us")
    return text.cast(dtype)


def scan(source: str | Path) -> pl.LazyFrame:
    """Lazy scan of Parquet data: the files of :func:`parquet_files`, hive partition columns of a
    directory appended (typed as :class:`ParquetLayout` types them), as the streamed readers do."""
    layout = ParquetLayout.of(source)
    keys = list(layout.hive_schema.names())
    try:
        lazy = pl.scan_parquet(
            [str(f) for f in layout.files],
            hive_partitioning=False,
            include_file_paths=FILE_PATH if keys else None,
        )
    except Exception as exc:  # polars raises several types for unreadable files
        raise read_error(source, exc) from exc
    if not keys:
        return lazy
    columns = []
    for i, key in enumerate(keys):
        raw = {str(f): pairs[i][1] for f, pairs in zip(layout.files, layout.hive, strict=True)}
        text = pl.col(FILE_PATH).replace_strict(raw, return_dtype=pl.String)
        columns.append(hive_column(text, layout.hive_schema[key]).alias(key))
    return lazy.with_columns(columns).drop(FILE_PATH)


def read_frame(data: DataLike, columns: list[str] | None = None) -> pl.DataFrame:
    """Rows of ``data`` as a polars DataFrame (paths are read, frames converted)."""
    if is_path(data):
        lazy = scan(data)
        try:
            return (lazy.select(columns) if columns else lazy).collect()
        except Exception as exc:
            raise read_error(data, exc) from exc
    frame = to_polars(data)
    return frame.select(columns) if columns else frame


def to_polars(data: object) -> pl.DataFrame:
    """Convert an in-memory table (polars, pandas, pyarrow) to a polars DataFrame."""
    if isinstance(data, (pl.DataFrame, pl.LazyFrame)):
        check_column_names(data.collect_schema().names(), "the polars frame", allow_empty=True)
        return data if isinstance(data, pl.DataFrame) else data.collect()
    if isinstance(data, (pa.Table, pa.RecordBatch)):
        check_column_names(list(data.schema.names), "the pyarrow table")
        return pl.DataFrame(pl.from_arrow(polars_ready(data, "the pyarrow table")))
    if type(data).__module__.split(".")[0] == "pandas":
        levels = getattr(data.columns, "nlevels", 1)  # type: ignore[attr-defined]
        if levels > 1:
            first = shorten(repr(data.columns[0]), 80) if len(data.columns) else "()"  # type: ignore[attr-defined]
            raise DataError(
                f"the pandas DataFrame has MultiIndex columns ({levels} levels, e.g. {first}): "
                "aefeatures reads columns by name, and a tuple of levels is not one.",
                hint="flatten the MultiIndex columns first, e.g. "
                "df.columns = ['_'.join(map(str, c)) for c in df.columns]",
            )
        names = [str(c) for c in data.columns]  # type: ignore[attr-defined]
        check_column_names(names, "the pandas DataFrame", allow_empty=True)  # polars keeps '' from pandas
        try:
            return pl.from_pandas(data)  # the index is not a column: pandas output gets it back as is
        except (pa.ArrowException, pl.exceptions.PolarsError, TypeError, ValueError) as exc:
            raise _pandas_error(data, exc) from exc
    raise DataError(
        f"cannot use data of type {type(data).__name__}.",
        hint="pass a Parquet path, a polars DataFrame/LazyFrame, a pandas DataFrame or a pyarrow Table",
    )


def source_name(data: object) -> str:
    """A short name for ``data``, used for the default model directory."""
    if is_path(data):
        path = Path(str(data).split("*")[0].rstrip("/")) if "*" in str(data) else Path(str(data))
        return path.stem or path.name or "data"
    return "data"


def _pandas_error(data: Any, exc: Exception) -> DataError:
    """The error for a pandas frame that Arrow cannot hold, naming the first column at fault."""
    for name in data.columns:
        try:
            pl.from_pandas(data[[name]])
        except (pa.ArrowException, pl.exceptions.PolarsError, TypeError, ValueError) as column_exc:
            reason = str(column_exc).splitlines()[0] if str(column_exc) else type(column_exc).__name__
            return DataError(
                f"column {str(name)!r} of the pandas DataFrame cannot be converted: {reason}",
                hint="give each column one type (e.g. df[col].astype(str), or pd.to_numeric(df[col], errors='coerce'))",
            )
    return DataError(
        f"the pandas DataFrame cannot be converted: {exc}", hint="check the frame's column types"
    )


def first_infinite(source: str | Path, column: str) -> tuple[Path, int] | None:
    """The file of ``source`` and the row within it (from 0) of the first +/-inf in ``column``.

    Files are read in :func:`parquet_files` order, one column and one batch at a time; ``None``
    when no file holds the column or an infinite value in it.
    """
    for file in parquet_files(source):
        handle = pq.ParquetFile(file)
        if column not in handle.schema_arrow.names:
            continue
        offset = 0
        for batch in handle.iter_batches(columns=[column], batch_size=65_536):
            values = batch.column(0).to_numpy(zero_copy_only=False)
            if values.dtype.kind == "f":
                hits = np.flatnonzero(np.isinf(values))
                if hits.size:
                    return file, offset + int(hits[0])
            offset += batch.num_rows
    return None


def read_error(source: str | Path, exc: Exception) -> DataError:
    """The error for Parquet data that cannot be read: where, and the reader's first line."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    other = OTHER_FORMATS.get(Path(source).suffix.lower())
    if other is not None and Path(source).is_file():
        converted = Path(source).with_suffix(".parquet")
        return DataError(
            f"{str(source)!r} looks like {other.a_name} file; aefeatures reads Parquet only ({text})",
            hint='convert it once with polars: python -c "import polars as pl; '
            f'pl.{other.read.format(str(source))}.write_parquet({str(converted)!r})"',
        )
    if Path(source).is_file():
        return DataError(
            f"cannot read Parquet file {str(source)!r}: {text}",
            hint="check that the file is a complete Parquet file",
        )
    return DataError(
        f"cannot read Parquet data at {str(source)!r}: {text}",
        hint="check that every file is a complete Parquet file",
    )
