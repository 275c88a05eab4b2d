"""Where a fit's rows come from: one source object per kind of source, and the choice among them.

A source is a frozen description of where a fit's rows come from: a frame in memory (Parquet
read whole becomes one: :class:`InMemory`), the first rows of Parquet data
(:class:`ParquetHead`), a uniform sample of it (:class:`ParquetSample`), or a sample whose
rows are also streamed from disk every epoch (:class:`ParquetStream`);
:mod:`aefeatures.fitting.distributed` adds rank 0's statistics rows and one rank's shard. Each
goes through the one sequence of :meth:`~aefeatures.fitting.source_sequence.FitSource.rows`
(:mod:`aefeatures.fitting.source_sequence`). :func:`data_rows` picks the source of whatever
``data`` is (:func:`fit_source`); :func:`fit_config` checks the fit's parameters.

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
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandera.polars as pa
import polars as pl
import torch

from aefeatures.config import FitConfig
from aefeatures.errors import ConfigError, DataError
from aefeatures.features.preprocessor import Preprocessor
from aefeatures.fitting.rows import FitRows
from aefeatures.fitting.sampling import (
    SAMPLE_ROWS,
    SHUFFLE_ROWS,
    StreamingRows,
    head_rows,
    sample_rows,
    should_stream,
)
from aefeatures.fitting.source_sequence import Checked, Drawn, FitSource, SchemaLike
from aefeatures.goals import with_goal
from aefeatures.io.parquet import ParquetSource
from aefeatures.io.sources import DataLike, is_path, read_frame, scan
from aefeatures.schema.schemas import (
    infer_schema,
)
from aefeatures.settings import check_used

MIN_STATISTICS_ROWS = 20  # a streamed fit's sample below this gives arbitrary scales and no validation rows


def fit_config(params: dict[str, Any], kinds: Sequence[str] | None = None) -> FitConfig:
    """A validated :class:`FitConfig` from keyword parameters.

    ``goal`` stands for the settings of :data:`~aefeatures.goals.GOALS` (see
    :func:`~aefeatures.goals.with_goal`). Unknown names are refused with the closest known one;
    every value is type- and range-checked by :meth:`FitConfig.validate` (lists become tuples
    there, and a string is never read as a list of letters). A setting given in ``params`` that
    the kind (or each of ``kinds``, when one configuration serves several) does not use is
    refused (:func:`~aefeatures.settings.check_used`); a goal's settings are not given.
    """
    known = [f.name for f in dataclasses.fields(FitConfig)]
    unknown = [name for name in params if name not in known]
    if unknown:
        close = difflib.get_close_matches(unknown[0], known, n=1)
        raise ConfigError(
            f"unknown fit parameter {unknown[0]!r}" + (f"; did you mean {close[0]!r}?" if close else "."),
            hint=f"the fit parameters are the fields of aefeatures.FitConfig: {', '.join(known)}",
        )
    config = FitConfig(**with_goal(params)).validate()
    check_used(params, kinds or [config.kind], dataclasses.asdict(config))
    return config


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
    """The rows of whatever :func:`aefeatures.fit` accepts, checked against ``schema``.

    ``stream``, ``sample`` and ``max_rows`` choose the source (:func:`fit_source`); ``keep``
    names columns left out of the features to carry along for the same rows (compare's label)
    in :attr:`FitRows.kept`.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"x": [float(i) for i in range(10)]})
    >>> data_rows(df, fit_config({}), max_rows=4).features.height
    4
    """
    source = fit_source(data, config.seed, stream=stream, sample=sample, max_rows=max_rows)
    return source.rows(config, schema, keep=keep)


def frame_rows(
    frame: pl.DataFrame, config: FitConfig, schema: SchemaLike = None, *, keep: Sequence[str] = ()
) -> FitRows:
    """Every row of an in-memory frame, validated against the user's or an inferred schema."""
    return InMemory(frame).rows(config, schema, keep=keep)


def fit_source(
    data: DataLike,
    seed: int,
    *,
    stream: bool | None = None,
    sample: int | None = None,
    max_rows: int | None = None,
) -> FitSource:
    """The source of whatever :func:`aefeatures.fit` accepts, as ``stream``, ``sample`` and ``max_rows`` ask.

    A Parquet path is read in bounded memory when asked to or when it would not fit comfortably
    in memory: ``max_rows`` takes the first rows; ``sample`` a uniform sample of that many rows
    (with ``stream``, the sample the statistics come from); ``stream`` trains every epoch on all
    rows, read from disk (``None``: when the data is too big for memory). Anything else is read
    whole and cut in memory.

    Examples
    --------
    >>> import polars as pl
    >>> type(fit_source(pl.DataFrame({"x": [1.0, 2.0]}), seed=0)).__name__
    'InMemory'
    """
    if is_path(data) and (
        stream or sample or max_rows or stream is None and should_stream(ParquetSource.open(data))
    ):
        return _parquet_source(data, seed, stream, sample, max_rows)
    return InMemory.of(data, sample, max_rows, seed)


def _parquet_source(
    path: str | Path, seed: int, stream: bool | None, sample: int | None, max_rows: int | None
) -> ParquetFitSource:
    for name, value in (("sample", sample), ("max_rows", max_rows)):
        if value is not None and value < 2:
            raise DataError(f"{name}={value} must be at least 2 rows.")
    parquet = ParquetSource.open(path)
    if max_rows is not None:
        return ParquetHead(path, parquet, max_rows)
    if should_stream(parquet) if stream is None else stream:
        _check_statistics_sample(sample, parquet.n_rows)
        return ParquetStream(path, parquet, sample or SAMPLE_ROWS, seed)
    return ParquetSample(path, parquet, sample or SAMPLE_ROWS, seed)


def _check_statistics_sample(sample: int | None, n_rows: int) -> None:
    """Refuse a streamed fit's statistics sample of fewer than :data:`MIN_STATISTICS_ROWS` rows
    (unless it holds every row)."""
    if sample is not None and sample < min(MIN_STATISTICS_ROWS, n_rows):
        raise DataError(
            f"--sample {sample} (sample={sample} in Python) is too small for a streamed fit: every "
            f"scale, category and validation row is learned from the sample, and fewer than "
            f"{MIN_STATISTICS_ROWS} rows make them arbitrary (training can diverge).",
            hint=f"give --sample {MIN_STATISTICS_ROWS} or more, or leave it out for a sample of up to "
            f"{SAMPLE_ROWS:,} rows",
        )


@dataclass(frozen=True)
class InMemory(FitSource):
    """Every row of a frame in memory; :meth:`of` reads anything ``fit`` accepts into one."""

    frame: pl.DataFrame

    @classmethod
    def of(cls, data: DataLike, sample: int | None, max_rows: int | None, seed: int) -> InMemory:
        """``data`` read whole (Parquet) or converted, cut to its first ``max_rows`` rows or a
        uniform ``sample``.

        Examples
        --------
        >>> import polars as pl
        >>> InMemory.of(pl.DataFrame({"x": range(10)}), None, 4, seed=0).n_rows()
        4
        """
        frame = read_frame(data)
        if max_rows is not None:
            frame = frame.head(max_rows)
        if sample is not None and sample < frame.height:
            frame = frame.sample(sample, seed=seed)
        return cls(frame)

    def n_rows(self) -> int:
        """The frame's rows."""
        return self.frame.height

    def columns(self) -> pl.Schema:
        """The frame's columns."""
        return self.frame.schema

    def read(self, columns: list[str], given: pa.DataFrameSchema | None) -> Drawn:
        """The whole frame, every column of it validated."""
        return Drawn(self.frame, partial(infer_schema, self.frame))


@dataclass(frozen=True)
class ParquetFitSource(FitSource):
    """Rows of Parquet data (a file, a directory with hive partitions, or a glob) at ``path``."""

    path: str | Path

    def columns(self) -> pl.Schema:
        """The data's columns, from the file footers."""
        return scan(self.path).collect_schema()


@dataclass(frozen=True)
class ParquetHead(ParquetFitSource):
    """The first ``max_rows`` rows of Parquet data (``max_rows=``), read batch by batch."""

    parquet: ParquetSource
    max_rows: int

    def n_rows(self) -> int:
        """``max_rows``, or fewer when the data has fewer."""
        return min(self.max_rows, self.parquet.n_rows)

    def read(self, columns: list[str], given: pa.DataFrameSchema | None) -> Drawn:
        """The first rows of ``columns``."""
        head = head_rows(self.parquet, columns, self.max_rows)
        return Drawn(head, partial(infer_schema, head))


@dataclass(frozen=True)
class ParquetSample(ParquetFitSource):
    """A uniform sample of ``size`` rows of Parquet data (``sample=``), drawn in one pass that
    validates every row against the user's schema and counts every column's missing values."""

    parquet: ParquetSource
    size: int
    seed: int

    def n_rows(self) -> int:
        """``size``, or fewer when the data has fewer."""
        return min(self.size, self.parquet.n_rows)

    def read(self, columns: list[str], given: pa.DataFrameSchema | None) -> Drawn:
        """The sampled rows of ``columns``; their schema is nullable where any row had a missing value."""
        drawn = sample_rows(self.parquet, columns, self.size, self.seed, check=given)
        return Drawn(drawn.frame, drawn.inferred_schema, drawn)


@dataclass(frozen=True)
class ParquetStream(ParquetSample):
    """Every row of Parquet data, streamed from disk every epoch; the preprocessing, schema and
    validation rows come from a uniform sample of ``size`` rows (see :mod:`~aefeatures.fitting.sampling`)."""

    shuffle_rows: int = SHUFFLE_ROWS

    def fit_rows(self, checked: Checked) -> FitRows:
        """The sampled rows, with the stream of all others and the whole data's counts."""
        drawn = checked.drawn.sample
        assert drawn is not None  # read() draws a sample
        dtypes, sampled_index = checked.features.schema, drawn.index

        def streamed(preprocessor: Preprocessor, valid: np.ndarray, device: torch.device) -> StreamingRows:
            return StreamingRows(
                self.parquet, preprocessor, dtypes, sampled_index[valid], device, self.shuffle_rows
            )

        return FitRows(
            checked.features,
            checked.schema,
            stream=streamed,
            facts={"rows": drawn.n_rows, "sample_rows": checked.features.height, "streamed": True},
            missing_rates={
                name: drawn.missing.get(name, 0) / max(drawn.n_rows, 1) for name in checked.features.columns
            },
            kept=checked.kept,
        )
