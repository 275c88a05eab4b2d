"""Reading what users pass in: Parquet paths (file, directory, glob) and in-memory frames."""

from __future__ import annotations

import glob as globlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard, Union

import polars as pl
import pyarrow as pa

from aefeatures.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

DataLike = Union[str, Path, pl.DataFrame, pl.LazyFrame, pa.Table, pa.RecordBatch, "pd.DataFrame"]


def is_path(data: object) -> TypeGuard[str | Path]:
    """Whether ``data`` names files rather than holding rows."""
    return isinstance(data, (str, Path))


def parquet_files(source: str | Path) -> list[Path]:
    """The Parquet files behind a file, a directory (recursively, hive style) or a glob."""
    path = Path(source)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*.parquet")
            if not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)
        )
    else:
        files = sorted(Path(p) for p in globlib.glob(str(source), recursive=True) if Path(p).is_file())
    if not files:
        raise DataError(
            f"no Parquet data found at {str(source)!r}.",
            hint="pass a .parquet file, a directory of .parquet files, or a glob such as 'data/*.parquet'",
        )
    return files


def scan(source: str | Path) -> pl.LazyFrame:
    """Lazy scan of Parquet data; hive partition columns of a directory are kept."""
    path = Path(source)
    files = parquet_files(source)
    target: Any = str(path) if path.is_dir() else [str(f) for f in files]
    try:
        return pl.scan_parquet(target, hive_partitioning=path.is_dir() or None)
    except Exception as exc:  # polars raises several types for unreadable files
        raise read_error(source, exc) from exc


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
    if isinstance(data, pl.DataFrame):
        return data
    if isinstance(data, pl.LazyFrame):
        return data.collect()
    if isinstance(data, (pa.Table, pa.RecordBatch)):
        _reject_duplicate_names(list(data.schema.names))
        return pl.DataFrame(pl.from_arrow(data))
    if type(data).__module__.split(".")[0] == "pandas":
        _reject_duplicate_names([str(c) for c in data.columns])  # type: ignore[attr-defined]
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


def _reject_duplicate_names(names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DataError(
                f"column {name!r} appears more than once.", hint="rename or drop the duplicate columns"
            )
        seen.add(name)


def read_error(source: str | Path, exc: Exception) -> DataError:
    """The error for Parquet data that cannot be read: where, the reader's first line, and for a
    directory or glob which file breaks the shared schema."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if Path(source).is_file():
        return DataError(
            f"cannot read Parquet file {str(source)!r}: {text}",
            hint="check that the file is a complete Parquet file",
        )
    return DataError(
        f"cannot read Parquet data at {str(source)!r}: {text}{_schema_difference(source)}",
        hint="check that every file is a complete Parquet file and that all files share one schema",
    )


def _schema_difference(source: str | Path) -> str:
    """Which file of a directory or glob breaks the shared schema, and how; empty if none does."""
    try:
        files = parquet_files(source)
        first = pl.read_parquet_schema(files[0])
        for other_file in files[1:]:
            other = pl.read_parquet_schema(other_file)
            changes = [f"column {c!r} is missing" for c in first if c not in other]
            changes += [f"column {c!r} is extra" for c in other if c not in first]
            changes += [
                f"column {c!r} is {other[c]} instead of {first[c]}"
                for c in first
                if c in other and other[c] != first[c]
            ]
            if changes:
                return f" ({other_file} differs from {files[0]}: {'; '.join(changes)})"
    except Exception:  # the original error already says what went wrong
        return ""
    return ""
