"""Where a fit's rows come from: a frame in memory, or Parquet data sampled, cut or streamed.

Each function returns a :class:`~aefeatures.fitting.pipeline.FitRows` for the one fit
pipeline. The checks every fit makes live here once: the parameters (:func:`fit_config`), the
minimum rows, the feature columns and the schema (a user's, or one inferred from the rows).

Examples
--------
>>> import polars as pl
>>> df = pl.DataFrame({"x": [1.0, 2.0, 3.0], "id": [1, 2, 3]})
>>> frame_rows(df, fit_config({"exclude": ["id"]})).features.columns
['x']
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandera.polars as pa
import polars as pl
import torch

from aefeatures.config import FitConfig
from aefeatures.errors import ConfigError, DataError
from aefeatures.features.preprocessor import Preprocessor, select_features
from aefeatures.fitting.pipeline import FitRows
from aefeatures.fitting.sampling import (
    SAMPLE_ROWS,
    SHUFFLE_ROWS,
    StreamingRows,
    head_rows,
    inferred_schema,
    limit_rows,
    sample_rows,
    should_stream,
)
from aefeatures.goals import with_goal
from aefeatures.io.parquet import ParquetSource
from aefeatures.io.sources import DataLike, is_path, read_frame, scan
from aefeatures.schema.schemas import (
    infer_schema,
    load_schema_file,
    uncovered_columns,
    validate,
    with_columns_of,
)

log = logging.getLogger("aefeatures")
MIN_FIT_ROWS = 2  # one row has no spread: every scale and the outlier threshold would be arbitrary
SchemaLike = str | Path | pa.DataFrameSchema | None


def fit_config(params: dict[str, Any]) -> FitConfig:
    """A validated :class:`FitConfig` from keyword parameters.

    ``goal`` stands for the settings of :data:`~aefeatures.goals.GOALS` (see
    :func:`~aefeatures.goals.with_goal`). Unknown names are refused with the closest known one;
    every value is type- and range-checked by :meth:`FitConfig.validate` (lists become tuples
    there, and a string is never read as a list of letters).
    """
    known = [f.name for f in dataclasses.fields(FitConfig)]
    unknown = [name for name in params if name not in known]
    if unknown:
        close = difflib.get_close_matches(unknown[0], known, n=1)
        raise ConfigError(
            f"unknown fit parameter {unknown[0]!r}" + (f"; did you mean {close[0]!r}?" if close else "."),
            hint=f"the fit parameters are the fields of aefeatures.FitConfig: {', '.join(known)}",
        )
    return FitConfig(**with_goal(params)).validate()


def require_fit_rows(rows: int) -> None:
    """Refuse training data with fewer than :data:`MIN_FIT_ROWS` rows."""
    if rows < MIN_FIT_ROWS:
        raise DataError(
            f"the training data has {rows} row(s); fit needs at least {MIN_FIT_ROWS}.",
            hint="check the input path or filter; a model learns nothing about spread from one row",
        )


def user_schema(schema: SchemaLike) -> pa.DataFrameSchema | None:
    """The schema a user passed, read from its file if it is a path."""
    return load_schema_file(schema) if isinstance(schema, (str, Path)) else schema


def fit_schema(
    given: pa.DataFrameSchema | None,
    features: Sequence[str],
    infer: Callable[[list[str]], pa.DataFrameSchema],
) -> pa.DataFrameSchema:
    """The schema a model enforces: the user's, with every feature it has no column for added as
    ``infer`` (the training rows) sees it, or the inferred schema of all features.

    The model validates every column it reads at every transform: a user schema with the checks
    of a few columns still leaves no feature unchecked.
    """
    if given is None:
        return infer(list(features))
    missing = uncovered_columns(given, features)
    if missing:
        log.info("the schema has no column for %s: their inferred type and nullability are used", missing)
    return with_columns_of(given, infer(missing)) if missing else given


def data_rows(
    data: DataLike,
    config: FitConfig,
    schema: SchemaLike = None,
    *,
    stream: bool | None = None,
    sample: int | None = None,
    max_rows: int | None = None,
    keep: Sequence[str] = (),
) -> FitRows:
    """The rows of whatever :func:`aefeatures.fit` accepts.

    A Parquet path is read in bounded memory when asked to (``stream``, ``sample``,
    ``max_rows``) or when it would not fit comfortably in memory; anything else is read whole.
    ``keep`` names columns left out of the features to carry along for the same rows
    (compare's label column) in :attr:`FitRows.kept`.
    """
    if is_path(data) and (
        stream or sample or max_rows or stream is None and should_stream(ParquetSource.open(data))
    ):
        return parquet_rows(data, config, schema, stream=stream, sample=sample, max_rows=max_rows, keep=keep)
    return frame_rows(limit_rows(read_frame(data), sample, max_rows, config.seed), config, schema, keep=keep)


def frame_rows(
    frame: pl.DataFrame, config: FitConfig, schema: SchemaLike = None, *, keep: Sequence[str] = ()
) -> FitRows:
    """Every row of an in-memory frame, validated against the user's or an inferred schema."""
    require_fit_rows(frame.height)
    features = select_features(frame.schema, config.columns, config.exclude, prefix=config.prefix)
    return _validated(frame, features, user_schema(schema), keep)


def parquet_rows(
    data: str | Path,
    config: FitConfig,
    schema: SchemaLike = None,
    *,
    stream: bool | None = None,
    sample: int | None = None,
    max_rows: int | None = None,
    shuffle_rows: int = SHUFFLE_ROWS,
    keep: Sequence[str] = (),
) -> FitRows:
    """Parquet rows in bounded memory (see :mod:`aefeatures.fitting.sampling`).

    ``max_rows`` takes the first rows; ``sample`` a uniform sample of that many rows (with
    ``stream``, the sample statistics come from); ``stream`` trains every epoch on all rows,
    read from disk (``None``: when the data is too big for memory).
    """
    for name, value in (("sample", sample), ("max_rows", max_rows), ("shuffle_rows", shuffle_rows)):
        if value is not None and value < 2:
            raise DataError(f"{name}={value} must be at least 2 rows.")
    parquet = ParquetSource.open(data)
    features = select_features(
        scan(data).collect_schema(), config.columns, config.exclude, prefix=config.prefix
    )
    given = user_schema(schema)
    if max_rows is not None:
        head = head_rows(parquet, [*features, *keep], max_rows)
        require_fit_rows(head.height)
        return _validated(head, features, given, keep)
    drawn = sample_rows(parquet, [*features, *keep], sample or SAMPLE_ROWS, config.seed, check=given)
    require_fit_rows(drawn.frame.height)
    chosen = fit_schema(given, features, lambda names: inferred_schema(drawn, names))
    rows = _validated(drawn.frame, features, chosen, keep)
    if not (should_stream(parquet) if stream is None else stream):
        return rows
    dtypes, sampled_index = rows.features.schema, drawn.index

    def streamed(preprocessor: Preprocessor, valid: np.ndarray, device: torch.device) -> StreamingRows:
        return StreamingRows(parquet, preprocessor, dtypes, sampled_index[valid], device, shuffle_rows)

    rows.stream = streamed
    rows.facts = {"rows": drawn.n_rows, "sample_rows": rows.features.height, "streamed": True}
    rows.missing_rates = {name: drawn.missing.get(name, 0) / max(drawn.n_rows, 1) for name in features}
    return rows


def _validated(
    frame: pl.DataFrame, features: list[str], schema: pa.DataFrameSchema | None, keep: Sequence[str]
) -> FitRows:
    chosen = fit_schema(schema, features, lambda names: infer_schema(frame, names))
    valid = validate(frame, chosen)
    return FitRows(valid.select(features), chosen, kept=valid.select(keep) if keep else None)
