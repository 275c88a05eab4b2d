"""Streaming transform of Parquet data: bounded memory, output written as it goes, still atomic.

Rows are read in batches (:mod:`aefeatures.io.parquet`), each batch goes through
:meth:`AutoencoderModel.transform_frame` (validation included) and is written to an output in
the input's own layout (:func:`aefeatures.io.writers.open_output`), published only after the
last batch. A failure in any batch (bad data, full disk) leaves no output behind. On a CPU,
batches are scored on one thread per torch thread and written by another, in order
(:mod:`aefeatures.transform.workers`).

A directory input (hive partitions) gives a directory output of the same layout, one output
file per input file, unless the output path ends in ``.parquet``; files and globs give one file
(an output ending in ``/`` for them is refused:
:func:`~aefeatures.io.writers.output_is_partitioned`). The input columns keep their Arrow types
exactly (binary stays binary, not large_binary; time32 stays time32), so the output schema is
the input schema plus the appended columns. A failure or a signal stops the worker threads and
the writer before the temporary output is removed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import torch

from aefeatures.defaults import (
    DEFAULT_COMPRESSION,
    DEFAULT_DRIFT_LEVEL,
    DEFAULT_DRIFT_TOLERANCE,
    check_batch_rows,
    check_level,
    check_on_drift,
    check_tolerance,
)
from aefeatures.errors import InfiniteValuesError, SchemaValidationError
from aefeatures.io.formats import ParquetFormat
from aefeatures.io.parquet import DEFAULT_BATCH_ROWS, ParquetPart, ParquetSource
from aefeatures.io.writers import open_output
from aefeatures.model.fitted_model import AutoencoderModel
from aefeatures.model.segments import SegmentedCounts, count_segmented, segmented_summary, warn_unseen
from aefeatures.schema.drift import DEFAULT_ON_DRIFT, check_drift, summary_json
from aefeatures.transform.workers import WriteBehind, ordered_map

OnFeatures = Callable[[pl.DataFrame], None] | None  # sees each batch's validated feature columns


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
    drift_level: float = field(default=DEFAULT_DRIFT_LEVEL, repr=False)
    drift_tolerance: float = field(default=DEFAULT_DRIFT_TOLERANCE, repr=False)
    unseen_segments: dict[str, int] | None = field(default=None, repr=False)
    filled: int | None = None  # cells filled, for impute
    counted: int = field(default=0, repr=False)  # what the batches counted: outliers or filled cells

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary: ``drift`` as :func:`~aefeatures.schema.drift.summary_json` shapes
        it, and ``drifted_columns`` the drifted lines and why."""
        hidden = ("drift", "counted", "drift_level", "drift_tolerance", "unseen_segments")
        result = {k: v for k, v in vars(self).items() if k not in hidden and v is not None}
        if self.drift is not None:
            result["drift"] = summary_json(
                self.drift,
                level=self.drift_level,
                tolerance=self.drift_tolerance,
                unseen_segments=self.unseen_segments,
            )
            result["drifted_columns"] = (
                self.drift.filter(pl.col("drifted")).select("column", "reason").to_dicts()
            )
        return result


def transform_path(
    model: AutoencoderModel,
    source: str | Path,
    output: str | Path,
    *,
    overwrite: bool = False,
    per_feature_errors: bool = False,
    expected: bool = False,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    on_drift: str = DEFAULT_ON_DRIFT,
    drift_tolerance: float = DEFAULT_DRIFT_TOLERANCE,
    drift_level: float = DEFAULT_DRIFT_LEVEL,
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
    expected
        Also append ``ae_expected__<column>`` (and the per-feature errors beside them).
    batch_rows
        Rows per batch: memory grows with it, speed barely past ~64k rows.
    on_drift, drift_tolerance, drift_level
        Drift is counted per batch, in the same pass, and tested once on all rows (see
        :mod:`aefeatures.schema.drift`): a batch without drift is flagged with probability at most
        ``drift_level``, and a flagged effect is at least ``drift_tolerance``. ``"fail"`` raises
        :class:`~aefeatures.errors.DriftError` before anything is written.
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
    outlier = f"{model.config.prefix}outlier"

    def batch(frame: pl.DataFrame, on_features: OnFeatures) -> tuple[pl.DataFrame, int]:
        result = model.transform_frame(frame, per_feature_errors, on_features, expected=expected)
        return result, int(result[outlier].sum())

    summary = TransformSummary(output=str(output), drift_level=drift_level, drift_tolerance=drift_tolerance)
    _stream(model, source, output, batch, summary, overwrite, batch_rows, on_drift, compression)
    summary.outliers = summary.counted
    return summary


def impute_path(
    model: AutoencoderModel,
    source: str | Path,
    output: str | Path,
    *,
    overwrite: bool = False,
    count_filled: bool = False,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    on_drift: str = DEFAULT_ON_DRIFT,
    drift_tolerance: float = DEFAULT_DRIFT_TOLERANCE,
    drift_level: float = DEFAULT_DRIFT_LEVEL,
    compression: str = DEFAULT_COMPRESSION,
) -> TransformSummary:
    """Fill the missing feature cells of Parquet data at ``source`` into ``output``, batch by batch.

    The same columns, types, row order and layout as the input; present cells bitwise as they
    were (:meth:`AutoencoderModel.impute`). Written, checked and published like
    :func:`transform_path`, whose parameters these are; ``count_filled`` appends ``ae_imputed``.
    The summary's ``filled`` counts the cells filled.

    Examples
    --------
    >>> import aefeatures as aef, polars as pl, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> rows = pl.DataFrame({"a": [float(i % 7) for i in range(300)], "b": [float(i % 5) for i in range(300)]})
    >>> rows.write_parquet(folder / "in.parquet")
    >>> model = aef.fit(folder / "in.parquet", epochs=2, threads=1)
    >>> rows.with_columns(b=pl.when(pl.col("a") > 3).then(None).otherwise("b")).write_parquet(folder / "holes.parquet")
    >>> impute_path(model, folder / "holes.parquet", folder / "filled.parquet").filled
    128
    >>> pl.read_parquet(folder / "filled.parquet")["b"].null_count()
    0
    """
    counted = f"{model.config.prefix}imputed"

    def batch(frame: pl.DataFrame, on_features: OnFeatures) -> tuple[pl.DataFrame, int]:
        if count_filled:
            result = model.impute_frame(frame, count_filled=True, on_features=on_features)
            return result, int(result[counted].sum())
        result, counts = model.impute_counted(frame, on_features)  # an input's ae_imputed passes through
        return result, int(counts.sum())

    summary = TransformSummary(output=str(output), drift_level=drift_level, drift_tolerance=drift_tolerance)
    # the holes are what impute is for: their rate is reported, not tested as drift
    _stream(model, source, output, batch, summary, overwrite, batch_rows, on_drift, compression, False)
    summary.filled = summary.counted
    return summary


def _stream(
    model: AutoencoderModel,
    source: str | Path,
    output: str | Path,
    batch: Callable[[pl.DataFrame, OnFeatures], tuple[pl.DataFrame, int]],
    summary: TransformSummary,
    overwrite: bool,
    batch_rows: int,
    on_drift: str,
    compression: str,
    missing_drifts: bool = True,
) -> None:
    """Read ``source`` in batches, run ``batch`` on each (it returns the rows to write and a count)
    on worker threads, write the results in order into ``output``'s temporary path, check drift,
    publish. Any failure or signal stops the threads and leaves no output."""
    check_batch_rows(batch_rows)
    check_tolerance(summary.drift_tolerance)
    check_level(summary.drift_level)
    parquet_format = ParquetFormat(compression)
    check_on_drift(on_drift)
    parquet = ParquetSource.open(source)
    error = f"{model.config.prefix}error"
    specs, statistics, segments = model.preprocessor.specs, model.metadata.get("drift"), model.segments
    with open_output(output, overwrite=overwrite, source=parquet, table_format=parquet_format) as sink:

        def run(
            item: tuple[ParquetPart, int, pl.DataFrame],
        ) -> tuple[ParquetPart, pl.DataFrame, int, SegmentedCounts | None]:
            part, start, frame = item
            seen: list[pl.DataFrame] = []
            result, count = _located(batch, frame, part, start, None if on_drift == "ignore" else seen.append)
            if not seen:
                return part, result, count, None
            errors = result[error].to_numpy() if error in result.columns else None  # same pass
            return part, result, count, count_segmented(seen[0], specs, statistics, segments, errors)

        writer: WriteBehind[tuple[ParquetPart, pl.DataFrame]] = WriteBehind(
            lambda item: sink.write(item[1], item[0])
        )
        results = ordered_map(run, _numbered(parquet.iter_frames(batch_rows)), _workers(model))
        drift: SegmentedCounts | None = None
        try:
            for part, result, count, counts in results:
                writer.submit((part, result))
                summary.rows += result.height
                summary.counted += count
                summary.columns = result.width
                summary.batches += 1
                if counts is not None:
                    drift = counts if drift is None else _added(drift, counts)
        except BaseException:  # bad rows, a full disk, SIGTERM: stop every thread, write no more
            results.close()
            writer.cancel()
            raise
        writer.close()
        summary.files = sink.files
        if drift is not None:
            summary.drift = segmented_summary(
                drift,
                specs,
                statistics,
                segments,
                tolerance=summary.drift_tolerance,
                level=summary.drift_level,
                missing_drifts=missing_drifts,
            )
            summary.unseen_segments = drift.unseen if segments is not None else None
            warn_unseen(drift.unseen)
            check_drift(summary.drift, on_drift)  # raising here leaves no output behind


def _added(total: SegmentedCounts, counts: SegmentedCounts) -> SegmentedCounts:
    total.add(counts)
    return total


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


def _located(
    batch: Callable[[pl.DataFrame, OnFeatures], tuple[pl.DataFrame, int]],
    frame: pl.DataFrame,
    part: ParquetPart,
    start: int,
    on_features: OnFeatures,
) -> tuple[pl.DataFrame, int]:
    """``batch(frame)``, a schema failure's or an infinite value's row numbers shifted to the file's
    and the file named."""
    try:
        return batch(frame, on_features)
    except InfiniteValuesError as exc:  # earlier batches passed: this is the first in the file
        if exc.row is None:
            raise
        raise exc.in_file(part.path, start + exc.row) from None
    except SchemaValidationError as exc:
        failures = [{**f, "index": _shift(f.get("index"), start)} for f in exc.failures]
        rows = f"the batch of rows {start} to {start + frame.height - 1}; later rows were not checked"
        where = f"in {part.path} ({rows})"
        message = str(exc.args[0]).replace("the data does not match", f"the data {where} does not match", 1)
        raise SchemaValidationError(message, failures=failures, hint=exc.hint) from None


def _shift(index: object, start: int) -> object:
    return index + start if isinstance(index, int) else index
