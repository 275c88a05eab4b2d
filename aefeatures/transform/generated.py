"""Synthetic rows streamed to Parquet: any number of rows in bounded memory, published atomically.

:meth:`AutoencoderModel.sample_batches` makes the rows chunk by chunk; they are gathered into
row groups of ``batch_rows`` rows and written behind by another thread into the output's
temporary path (:func:`aefeatures.io.writers.open_output`, rows with no input part), which is
renamed into place only after the last row: an interrupted run leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from aefeatures.defaults import DEFAULT_COMPRESSION, check_batch_rows
from aefeatures.io.formats import ParquetFormat
from aefeatures.io.parquet import DEFAULT_BATCH_ROWS
from aefeatures.io.writers import open_output
from aefeatures.model.fitted_model import AutoencoderModel
from aefeatures.transform.workers import WriteBehind


@dataclass
class SampleSummary:
    """What a sampling run wrote."""

    output: str
    rows: int = 0
    columns: int = 0
    seed: int = 0
    where: dict[str, str] = field(default_factory=dict)
    privacy: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {k: v for k, v in vars(self).items() if v is not None}


def sample_path(
    model: AutoencoderModel,
    output: str | Path,
    rows: int,
    *,
    seed: int = 0,
    where: dict[str, str] | None = None,
    overwrite: bool = False,
    inputs: Iterable[object] = (),
    batch_rows: int = DEFAULT_BATCH_ROWS,
    compression: str = DEFAULT_COMPRESSION,
) -> SampleSummary:
    """Write ``rows`` synthetic rows of ``model`` to the Parquet file ``output``.

    The rows are bitwise those of ``model.sample(rows, seed=seed, where=where)`` whatever
    ``batch_rows`` (the rows per row group) or the thread count; ``inputs`` are paths the output
    may neither be nor be inside (the model directory is always one).

    Examples
    --------
    >>> import aefeatures as aef, polars as pl, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> model = aef.fit(pl.DataFrame({"a": [float(i % 7) for i in range(300)]}), epochs=2, threads=1)
    >>> sample_path(model, folder / "rows.parquet", 5000, seed=3, batch_rows=1000).rows
    5000
    >>> pl.read_parquet(folder / "rows.parquet").equals(model.sample(5000, seed=3))
    True
    """
    check_batch_rows(batch_rows)
    parquet_format = ParquetFormat(compression)
    summary = SampleSummary(output=str(output), seed=seed, where=dict(where or {}))
    chunks = model.sample_batches(rows, seed=seed, where=where)  # checks rows and where first
    with open_output(output, overwrite=overwrite, inputs=list(inputs), table_format=parquet_format) as sink:
        writer: WriteBehind[pl.DataFrame] = WriteBehind(sink.write)
        try:
            for group in _row_groups(chunks, batch_rows):
                writer.submit(group)
                summary.rows += group.height
                summary.columns = group.width
        except BaseException:
            writer.cancel()
            raise
        writer.close()
        if summary.rows == 0:  # an empty file still has the model's columns and dtypes
            sink.write(pl.DataFrame(schema=model.feature_dtypes()))
            summary.columns = len(model.columns)
    return summary


def _row_groups(chunks: Iterator[pl.DataFrame], rows: int) -> Iterator[pl.DataFrame]:
    """The chunks gathered into frames of ``rows`` rows (the last one shorter)."""
    pending: list[pl.DataFrame] = []
    size = 0
    for chunk in chunks:
        pending.append(chunk)
        size += chunk.height
        while size >= rows:
            gathered = pl.concat(pending)
            yield gathered.head(rows)
            rest = gathered.slice(rows)
            pending, size = ([rest] if rest.height else []), rest.height
    if size:
        yield pl.concat(pending)
