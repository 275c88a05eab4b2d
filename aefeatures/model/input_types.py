"""One frame-level step applied to every input type ``transform`` and ``impute`` take, each given
back as its own type: a LazyFrame stays lazy (batch by batch), an Arrow batch or table keeps its
Arrow types, a pandas frame its index, a Parquet path comes back as a polars DataFrame.

Examples
--------
>>> import polars as pl
>>> double = lambda frame: frame.with_columns(pl.col("a") * 2)
>>> on_every_type(pl.DataFrame({"a": [1, 2]}), double, lambda schema: schema, lambda data, out: out)["a"].to_list()
[2, 4]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
import pyarrow

from aefeatures.io.sources import is_path, read_frame, to_polars
from aefeatures.io.writers import with_input_types


def on_every_type(
    data: Any,
    step: Callable[[pl.DataFrame], pl.DataFrame],
    lazy_schema: Callable[[pl.Schema], pl.Schema],
    as_pandas: Callable[[Any, pl.DataFrame], Any],
) -> Any:
    """``step`` applied to ``data`` of any input type and the result given back as that type.

    ``lazy_schema`` checks a LazyFrame's schema and gives the schema ``step`` returns (it runs
    before anything is read); ``as_pandas`` turns ``step``'s result for a pandas ``data`` into
    what the caller returns (:func:`with_pandas_index` or :func:`with_pandas_rows`).
    """
    if isinstance(data, pl.LazyFrame):
        schema = lazy_schema(data.collect_schema())
        return data.map_batches(step, schema=schema, streamable=True)
    if isinstance(data, pyarrow.RecordBatch):
        return as_batch(step(pl.DataFrame(pl.from_arrow(data))), data.schema)
    if isinstance(data, pl.DataFrame) or is_path(data):
        return step(read_frame(data))
    out = step(to_polars(data))
    if isinstance(data, pyarrow.Table):
        return with_input_types(out.to_arrow(), data.schema)
    return as_pandas(data, out)


def as_batch(frame: pl.DataFrame, input_schema: pyarrow.Schema) -> pyarrow.RecordBatch:
    """``frame`` as one RecordBatch, the input columns given back their Arrow types."""
    table = with_input_types(frame.to_arrow(), input_schema).combine_chunks()
    return (
        table.to_batches()[0] if table.num_rows else pyarrow.RecordBatch.from_pylist([], schema=table.schema)
    )


def with_pandas_index(data: Any, frame: pl.DataFrame) -> Any:
    """``frame`` (the rows of the pandas ``data``) as pandas with ``data``'s index."""
    out = frame.to_pandas()
    out.index = data.index
    return out


def with_pandas_rows(data: Any, features: pl.DataFrame) -> Any:
    """The pandas input with ``features`` appended: its own columns and index (names, MultiIndex) kept.

    Row ``i`` of ``features`` belongs to row ``i`` of ``data``, so the features take ``data``'s
    index as it is; ``df["ae_error"] = model.transform(df)["ae_error"]`` then aligns row by row,
    also for a filtered frame, a string index or a MultiIndex, and with repeated index labels.
    """
    import pandas as pd

    appended = features.to_pandas()
    appended.index = data.index
    return pd.concat([data, appended], axis=1)
