"""Apache Spark: the model's transform across a cluster with ``DataFrame.mapInArrow``.

With the job entry point (:mod:`aefeatures.cli.jobs`), the only module that imports pyspark,
and only inside functions, so ``import aefeatures`` never needs it. Each Spark task runs the same Arrow-batch core as the CLI and the polars
path (:meth:`AutoencoderModel.transform_batch`); the model directory travels to the
executors once, as bytes in a broadcast variable (inside the function itself on Spark
Connect, which has no broadcast), and each Python worker process loads it once.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from aefeatures.errors import DataError
from aefeatures.io.artifacts import artifact_kind
from aefeatures.io.formats import MARKER, MARKER_KEY
from aefeatures.model.fitted_model import AutoencoderModel
from aefeatures.model.manifest import MANIFEST, read_manifest

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from pyspark.sql.types import StructType

ModelFiles = dict[str, bytes]
SPARK_MARKER = {MARKER_KEY: MARKER}
"""Metadata of every appended Spark column: Spark stores it in each Parquet file it writes (in its
``org.apache.spark.sql.parquet.row.metadata`` footer key), so Spark-written output is recognisable
as aefeatures' (:func:`is_spark_output`) and may be replaced with ``--overwrite``."""
SPARK_ROW_METADATA = b"org.apache.spark.sql.parquet.row.metadata"
SPARK_BOOKKEEPING = ("_SUCCESS", "_committed_", "_started_")  # and the .NAME.crc checksum files
_SPARK_TYPES = {pl.Float32: "float", pl.Float64: "double", pl.Boolean: "boolean"}
_WORKER_MODELS: dict[str, AutoencoderModel] = {}  # one loaded model per worker process


def transform(
    df: DataFrame,
    model: str | Path | AutoencoderModel,
    *,
    per_feature_errors: bool = False,
    device: str = "cpu",
    max_batch_rows: int | None = None,
) -> DataFrame:
    """Append the model's feature columns to a Spark DataFrame, lazily, on the executors.

    The result has every input column unchanged, then ``ae_z*``, ``ae_error``,
    ``ae_error_pct``, ``ae_outlier`` (and ``ae_error__<column>`` when asked), with the same
    values the single-machine :meth:`AutoencoderModel.transform` gives.

    Parameters
    ----------
    df
        A classic or Spark Connect DataFrame holding the model's feature columns.
    model
        A model directory (as written by ``aefeatures fit``) or a fitted model.
    per_feature_errors
        Also append ``ae_error__<column>``.
    device
        Torch device on the executors (``cpu``; ``auto`` or ``cuda`` on GPU executors).
    max_batch_rows
        Largest Arrow batch handed to the network; Spark's
        ``spark.sql.execution.arrow.maxRecordsPerBatch`` (default 10,000) applies first.

    Examples
    --------
    >>> from aefeatures.integrations import spark as aes  # doctest: +SKIP
    >>> scored = aes.transform(spark.read.parquet("events/"), "models/events")  # doctest: +SKIP
    >>> scored.write.parquet("features/events/")  # doctest: +SKIP
    """
    files = model_files(model)
    local = load_model_files(files, device="cpu")
    _check_columns(df.columns, local, per_feature_errors)
    schema = output_struct(df.schema, local, per_feature_errors)
    key = hashlib.sha256(files[MANIFEST]).hexdigest() + ":" + device
    payload = _ship(df, files)
    n_new = len(local.output_names(per_feature_errors))
    needed = _model_columns(df.columns, local)

    def apply(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        worker_model = _worker_model(key, payload, device)
        for batch in batches:
            for piece in _pieces(batch, max_batch_rows):
                out = worker_model.transform_batch(
                    piece.select(needed), per_feature_errors=per_feature_errors
                )
                yield _append(piece, out, n_new)

    return df.mapInArrow(apply, schema)


def impute(
    df: DataFrame,
    model: str | Path | AutoencoderModel,
    *,
    device: str = "cpu",
    max_batch_rows: int | None = None,
) -> DataFrame:
    """``df`` with every missing cell of the model's feature columns filled, across the cluster.

    The same schema, rows and present values as ``df`` (:meth:`AutoencoderModel.impute` on each
    Arrow batch); parameters as for :func:`transform`.

    Examples
    --------
    >>> from aefeatures.integrations import spark as aes  # doctest: +SKIP
    >>> aes.impute(spark.read.parquet("events/"), "models/events").write.parquet("filled/events/")  # doctest: +SKIP
    """
    files = model_files(model)
    local = load_model_files(files, device="cpu")
    _check_columns(df.columns, local, False)
    key = hashlib.sha256(files[MANIFEST]).hexdigest() + ":" + device
    payload = _ship(df, files)
    needed = _model_columns(df.columns, local)

    def apply(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        worker_model = _worker_model(key, payload, device)
        for batch in batches:
            for piece in _pieces(batch, max_batch_rows):
                filled = worker_model.impute(piece.select(needed))
                yield _replace(piece, filled, worker_model.columns)

    return df.mapInArrow(apply, df.schema)


def model_files(model: str | Path | AutoencoderModel) -> ModelFiles:
    """The bytes of the files a model needs: the manifest and every file it checksums."""
    if isinstance(model, AutoencoderModel):
        with tempfile.TemporaryDirectory(prefix="aefeatures-spark-") as tmp:
            return model_files(model.save(Path(tmp) / "model"))
    directory = Path(model)
    manifest = read_manifest(directory)  # format and checksums, checked on the driver with a clear error
    return {name: (directory / name).read_bytes() for name in (MANIFEST, *manifest["files"])}


def load_model_files(files: ModelFiles, *, device: str) -> AutoencoderModel:
    """Rebuild a model from :func:`model_files` bytes (checksums are checked again)."""
    with tempfile.TemporaryDirectory(prefix="aefeatures-model-") as tmp:
        for name, data in files.items():
            (Path(tmp) / name).write_bytes(data)
        return AutoencoderModel.load(tmp, device=device)


def output_struct(
    input_schema: StructType, model: AutoencoderModel, per_feature_errors: bool = False
) -> StructType:
    """Spark schema of the transform output: the input fields, then the feature columns."""
    from pyspark.sql.types import BooleanType, DoubleType, FloatType, StructField, StructType

    spark_types = {"float": FloatType(), "double": DoubleType(), "boolean": BooleanType()}
    appended = model.output_schema(pl.Schema(), per_feature_errors)
    fields = [
        StructField(name, spark_types[_SPARK_TYPES[dtype.base_type()]], nullable=True, metadata=SPARK_MARKER)
        for name, dtype in appended.items()
    ]
    return StructType([*input_schema.fields, *fields])


def _ship(df: DataFrame, files: ModelFiles) -> Callable[[], ModelFiles]:
    """How a worker gets the model bytes: a broadcast, or the closure itself on Spark Connect."""
    if type(df).__module__.startswith("pyspark.sql.connect"):
        return lambda: files
    handle = df.sparkSession.sparkContext.broadcast(files)
    return lambda: handle.value


def _worker_model(key: str, payload: Callable[[], ModelFiles], device: str) -> AutoencoderModel:
    """The model of this worker process, loaded on first use with one torch thread."""
    model = _WORKER_MODELS.get(key)
    if model is None:
        import torch

        torch.set_num_threads(1)  # one task per core: more threads per worker only oversubscribe
        model = _WORKER_MODELS[key] = load_model_files(payload(), device=device)
    return model


def _pieces(batch: pa.RecordBatch, max_rows: int | None) -> Iterator[pa.RecordBatch]:
    step = max_rows or max(batch.num_rows, 1)
    for offset in range(0, batch.num_rows, step):
        yield batch.slice(offset, step)


def _append(batch: pa.RecordBatch, out: pa.RecordBatch, n_new: int) -> pa.RecordBatch:
    """The input columns exactly as Spark sent them, plus the new columns of ``out``."""
    new = out.schema.names[-n_new:]
    return pa.RecordBatch.from_arrays(
        [*batch.columns, *(out.column(name) for name in new)],
        names=[*batch.schema.names, *new],
    )


def _replace(batch: pa.RecordBatch, filled: pa.RecordBatch, names: list[str]) -> pa.RecordBatch:
    """``batch`` with the columns ``names`` taken from ``filled`` (same Arrow types and order)."""
    chosen = set(names)
    return pa.RecordBatch.from_arrays(
        [filled.column(name) if name in chosen else batch.column(name) for name in batch.schema.names],
        schema=batch.schema,
    )


def _model_columns(columns: list[str], model: AutoencoderModel) -> list[str]:
    """Columns the worker converts: those the model or its schema read (all, for a strict schema)."""
    if model.schema.strict:
        return list(columns)
    used = set(model.columns) | set(model.schema.columns)
    return [name for name in columns if name in used]


def _check_columns(columns: list[str], model: AutoencoderModel, per_feature_errors: bool) -> None:
    """The driver-side checks, so the common mistakes fail before any task runs."""
    given = set(columns)
    missing = [name for name in model.columns if name not in given]
    if missing:
        raise DataError(
            f"column {missing[0]!r} is a model feature but is not in the Spark DataFrame.",
            hint=f"the model reads {', '.join(map(repr, model.columns))}; select or rename them first",
        )
    model.reject_name_collisions(columns, per_feature_errors)


def is_spark_output(path: str | Path) -> bool:
    """Whether ``path`` is a Parquet directory that :func:`transform` wrote through Spark, and nothing else.

    Every file is a Parquet part file whose Spark schema footer carries :data:`SPARK_MARKER`, or
    Spark's own bookkeeping (``_SUCCESS``, ``_committed_*``, ``_started_*``, ``.*.crc``); symbolic
    links, other files and empty directories are not. (aefeatures' own Parquet writers mark files
    differently: :func:`aefeatures.io.artifacts.artifact_kind`.)
    """
    import os

    root = Path(path)
    if root.is_symlink() or not root.is_dir():
        return False
    parts = 0
    for folder, directories, names in os.walk(root):
        if any(Path(folder, d).is_symlink() for d in directories):
            return False
        for name in names:
            file = Path(folder, name)
            if file.is_symlink():
                return False
            if name.startswith(SPARK_BOOKKEEPING) or (name.startswith(".") and name.endswith(".crc")):
                continue
            if not _marked_by_spark(file):
                return False
            parts += 1
    return parts > 0


def _marked_by_spark(file: Path) -> bool:
    """A Parquet file Spark wrote with a column carrying :data:`SPARK_MARKER`."""
    import json

    import pyarrow.parquet as pq

    try:
        footer = (pq.read_metadata(file).metadata or {}).get(SPARK_ROW_METADATA, b"")
        fields = json.loads(footer).get("fields", []) if footer else []
        return any((f.get("metadata") or {}).get(MARKER_KEY) == MARKER for f in fields)
    except (OSError, ValueError, AttributeError, pa.ArrowException):  # not Parquet, not Spark's JSON
        return False


def replaceable_output(path: str | Path) -> bool:
    """Whether ``--overwrite`` may replace the local ``path``: aefeatures Parquet output only."""
    return artifact_kind(path) == "parquet" or is_spark_output(path)
