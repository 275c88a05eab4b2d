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
        raise _read_error(source, exc) from exc


def read_frame(data: DataLike, columns: list[str] | None = None) -> pl.DataFrame:
    """Rows of ``data`` as a polars DataFrame (paths are read, frames converted)."""
    if is_path(data):
        lazy = scan(data)
        try:
            return (lazy.select(columns) if columns else lazy).collect()
        except Exception as exc:
            raise _read_error(data, exc) from exc
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
        return pl.from_pandas(data)
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


def _reject_duplicate_names(names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DataError(
                f"column {name!r} appears more than once.", hint="rename or drop the duplicate columns"
            )
        seen.add(name)


def _read_error(source: object, exc: Exception) -> DataError:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return DataError(
        f"cannot read Parquet data at {str(source)!r}: {text}{_schema_difference(source)}",
        hint="check that every file is a complete Parquet file and that all files share one schema",
    )


def _schema_difference(source: object) -> str:
    """Which file of a directory or glob breaks the shared schema, and how; empty if none does."""
    try:
        files = parquet_files(source)  # type: ignore[arg-type]
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
