"""Streaming transform of Parquet data: bounded memory, output written as it goes, still atomic.

Rows are read in batches (:mod:`aefeatures.io.parquet`), each batch goes through
:meth:`AutoencoderModel.transform_frame` (validation included) and is appended to a
``pyarrow.parquet.ParquetWriter`` writing into a temporary path that is renamed into place only
after the last batch. A failure in any batch (bad data, full disk) leaves no output behind.
On a CPU, batches are scored on one thread per torch thread and written by another, in
order (:mod:`aefeatures.transform.workers`).

A directory input (hive partitions) gives a directory output of the same layout, one output
file per input file, unless the output path ends in ``.parquet``; files and globs give one file
(an output ending in ``/`` for them is refused: :func:`output_is_partitioned`). The input columns
keep their Arrow types exactly (binary stays binary, not large_binary; time32 stays time32), so
the output schema is the input schema plus the appended columns. A failure or a signal stops the
worker threads and the writer before the temporary output is removed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from aefeatures.defaults import (
    DEFAULT_COMPRESSION,
    DEFAULT_DRIFT_TOLERANCE,
    check_batch_rows,
    check_compression,
    check_on_drift,
)
from aefeatures.errors import ConfigError, DataError, SchemaValidationError
from aefeatures.io.artifacts import mark_schema
from aefeatures.io.parquet import DEFAULT_BATCH_ROWS, ParquetPart, ParquetSource, open_parquet
from aefeatures.io.sinks import atomic_path
from aefeatures.model.fitted_model import AutoencoderModel, with_input_types
from aefeatures.schema.drift import DEFAULT_ON_DRIFT, check_drift, drift_summary, merge_drift
from aefeatures.transform.workers import WriteBehind, ordered_map


@dataclass
class TransformSummary:
    """What a streaming transform wrote."""

    output: str
    rows: int = 0
    columns: int = 0
    outliers: int = 0
    files: int = 0
    batches: int = 0
    drift: pl.DataFrame | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (drift as the list of drifted columns and why)."""
        result = {k: v for k, v in vars(self).items() if k != "drift"}
        if self.drift is not None:
            result["drifted_columns"] = (
                self.drift.filter(pl.col("drifted")).select("column", "reason").to_dicts()
            )
        return result


@dataclass
class _Sink:
    """Writers into the temporary output: one file, or one file per input file (partitioned)."""

    root: Path
    partitioned: bool
    compression: str
    drop: list[str] = field(default_factory=list)  # hive columns: kept in the directory names
    writer: pq.ParquetWriter | None = None
    current: Path | None = None
    files: int = 0
    input_schemas: dict[Path, pa.Schema] = field(default_factory=dict)  # each input file's Arrow types

    def write(self, part: ParquetPart, frame: pl.DataFrame) -> None:
        table = frame.drop(self.drop).to_arrow() if self.partitioned else frame.to_arrow()
        table = with_input_types(table, self._input_schema(part))  # binary stays binary, time32 time32
        target = self.root / part.relative if self.partitioned else self.root
        if target != self.current:
            self.close()
            target.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(
                target,
                mark_schema(table.schema),  # recognised as aefeatures output: --overwrite may replace it
                compression=self.compression,
                use_dictionary=_dictionary_columns(table.schema),
            )
            self.current, self.files = target, self.files + 1
        assert self.writer is not None
        if not table.schema.equals(self.writer.schema):
            table = _conform(table, self.writer.schema, part)
        self.writer.write_table(table)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def _input_schema(self, part: ParquetPart) -> pa.Schema:
        if part.path not in self.input_schemas:
            self.input_schemas[part.path] = open_parquet(part.path).schema_arrow
        return self.input_schemas[part.path]


def transform_path(
    model: AutoencoderModel,
    source: str | Path,
    output: str | Path,
    *,
    overwrite: bool = False,
    per_feature_errors: bool = False,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    on_drift: str = DEFAULT_ON_DRIFT,
    drift_tolerance: float = DEFAULT_DRIFT_TOLERANCE,
    compression: str = DEFAULT_COMPRESSION,
) -> TransformSummary:
    """Transform Parquet data at ``source`` into ``output`` batch by batch.

    Parameters
    ----------
    model
        A fitted model.
    source
        Parquet file, directory (hive partitions kept) or glob.
    output
        Output file, or directory when ``source`` is a directory and ``output`` does not end
        in ``.parquet``.
    overwrite
        Replace an existing output.
    per_feature_errors
        Also append ``ae_error__<column>``.
    batch_rows
        Rows per batch: memory grows with it, speed barely past ~64k rows.
    on_drift, drift_tolerance
        Drift is measured per batch and combined over all rows (see :mod:`aefeatures.schema.drift`);
        ``"fail"`` raises :class:`~aefeatures.errors.DriftError` before anything is written.
    compression
        Parquet codec of the output, one of :data:`COMPRESSIONS`. Snappy (Spark's and pyarrow's
        default) writes 40% faster than zstd; zstd makes smaller files of text-heavy data.

    Examples
    --------
    >>> import aefeatures as aef, polars as pl, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> pl.DataFrame({"a": [float(i % 7) for i in range(300)]}).write_parquet(folder / "in.parquet")
    >>> model = aef.fit(folder / "in.parquet", epochs=2, threads=1)
    >>> transform_path(model, folder / "in.parquet", folder / "out.parquet", batch_rows=100).batches
    3
    """
    check_batch_rows(batch_rows)
    check_compression(compression)
    check_on_drift(on_drift)
    parquet = ParquetSource.open(source)
    partitioned = output_is_partitioned(parquet, source, output)
    summary = TransformSummary(output=str(output))
    outlier = f"{model.config.prefix}outlier"
    with atomic_path(output, overwrite, kind="parquet", inputs=[source]) as temporary:
        sink = _Sink(temporary, partitioned, compression, drop=list(parquet.hive_schema.names()))
        drifts: list[pl.DataFrame] = []

        def measure_drift(features: pl.DataFrame) -> None:
            drifts.append(
                drift_summary(
                    features, model.preprocessor.specs, model.metadata.get("drift"), tolerance=drift_tolerance
                )
            )

        on_features = None if on_drift == "ignore" else measure_drift

        def transform(item: tuple[ParquetPart, int, pl.DataFrame]) -> tuple[ParquetPart, pl.DataFrame]:
            part, start, frame = item
            return part, _transform_batch(model, frame, part, start, per_feature_errors, on_features)

        writer: WriteBehind[tuple[ParquetPart, pl.DataFrame]] = WriteBehind(lambda item: sink.write(*item))
        batches = _numbered(parquet.iter_frames(batch_rows))
        results = ordered_map(transform, batches, _workers(model))
        with contextlib.closing(sink):
            try:
                for part, result in results:
                    writer.submit((part, result))
                    summary.rows += result.height
                    summary.outliers += int(result[outlier].sum())
                    summary.columns = result.width
                    summary.batches += 1
            except BaseException:  # bad rows, a full disk, SIGTERM: stop every thread, write no more
                results.close()
                writer.cancel()
                raise
            writer.close()
        summary.files = sink.files
        if drifts:
            summary.drift = merge_drift(drifts, drift_tolerance)
            check_drift(summary.drift, on_drift)  # raising here leaves no output behind
    return summary


def output_is_partitioned(parquet: ParquetSource, source: str | Path, output: str | Path) -> bool:
    """Whether ``output`` is a directory of one file per input file (hive layout kept), or one file.

    A directory source gives a directory output unless ``output`` ends in ``.parquet``; a
    file or glob always gives one file. An output written with a trailing slash (``out/``,
    a ``str``: a ``Path`` drops the slash) asks for a directory: refused for a file source,
    rather than writing a file named ``out``.
    """
    wants_directory = isinstance(output, str) and output.endswith(("/", os.sep))
    if wants_directory and not parquet.is_directory:
        name = Path(str(source)).name if not any(ch in str(source) for ch in "*?[") else "features"
        stem = Path(name).stem or "features"
        raise ConfigError(
            f"the output {output!r} ends in '/', which names a directory, but {str(source)!r} is "
            "not a directory of Parquet files: its rows are written to one Parquet file.",
            hint=f"give the output file's name, e.g. {Path(output) / (stem + '_features.parquet')}; "
            "a directory output is written for a directory input (one file per input file, partitions kept)",
        )
    return parquet.is_directory and (wants_directory or Path(output).suffix != ".parquet")


def _numbered(
    frames: Iterator[tuple[ParquetPart, pl.DataFrame]],
) -> Iterator[tuple[ParquetPart, int, pl.DataFrame]]:
    """Each batch with the file row number of its first row."""
    offsets: dict[Path, int] = {}
    for part, frame in frames:
        start = offsets.get(part.path, 0)
        offsets[part.path] = start + frame.height
        yield part, start, frame


def _workers(model: AutoencoderModel) -> int:
    """Batches scored at once on a CPU: one per torch thread (a GPU takes one at a time)."""
    return torch.get_num_threads() if model.device.type == "cpu" else 1


def _transform_batch(
    model: AutoencoderModel,
    frame: pl.DataFrame,
    part: ParquetPart,
    start: int,
    per_feature_errors: bool,
    on_features: Callable[[pl.DataFrame], None] | None,
) -> pl.DataFrame:
    try:
        return model.transform_frame(frame, per_feature_errors, on_features)
    except SchemaValidationError as exc:
        # Row numbers from the batch are shifted to the file's, and the file is named.
        failures = [{**f, "index": _shift(f.get("index"), start)} for f in exc.failures]
        rows = f"the batch of rows {start} to {start + frame.height - 1}; later rows were not checked"
        where = f"in {part.path} ({rows})"
        message = str(exc.args[0]).replace("the data does not match", f"the data {where} does not match", 1)
        raise SchemaValidationError(message, failures=failures, hint=exc.hint) from None


def _shift(index: object, start: int) -> object:
    return index + start if isinstance(index, int) else index


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    # Dictionary-encoding floats makes pyarrow 3x slower and files bigger; strings gain from it.
    return [f.name for f in schema if not (pa.types.is_floating(f.type) or pa.types.is_boolean(f.type))]


def _conform(table: pa.Table, schema: pa.Schema, part: ParquetPart) -> pa.Table:
    try:
        return table.select(schema.names).cast(schema)
    except (KeyError, pa.ArrowException) as exc:
        raise DataError(
            f"{str(part.path)!r} has columns or types that differ from the earlier files: {exc}",
            hint="every file of a glob or directory must share one schema; transform them separately",
        ) from exc
