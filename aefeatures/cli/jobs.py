"""Job entry points: ``python -m aefeatures.spark`` and ``torchrun ... -m aefeatures.distributed``.

Each is a one-command Typer app run through the CLI's own error handling
(:func:`aefeatures.cli.app.invoke`: exit 0 ok, 1 an aefeatures or Spark error with one ``error:``
paragraph on stderr, 2 a usage error) and option parsing (names repeated or comma-separated,
``--set NAME=VALUE``). The public modules :mod:`aefeatures.spark` and :mod:`aefeatures.distributed`
run them under ``if __name__ == "__main__"``; the work itself happens in package modules, so Spark
workers unpickle its functions by reference.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Optional
from urllib.parse import unquote, urlparse

import typer

from aefeatures.cli.app import invoke
from aefeatures.cli.options import Columns, Exclude, Overwrite, Setting, fit_params
from aefeatures.errors import AEFeaturesError, DataError
from aefeatures.fitting.distributed import STATS_ROWS

spark_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
distributed_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@spark_app.command()
def spark(
    data: Annotated[
        str,
        typer.Argument(help="Parquet path or URI Spark can read (with --table: a catalog table name)."),
    ],
    model: Annotated[Path, typer.Option("--model", help="Model directory, readable by the driver.")],
    output: Annotated[str, typer.Option("--output", help="Parquet directory (path or URI) to write.")],
    table: Annotated[bool, typer.Option("--table", help="DATA names a catalog table.")] = False,
    per_feature_errors: Annotated[
        bool, typer.Option("--per-feature-errors", help="Also append ae_error__<column>.")
    ] = False,
    overwrite: Overwrite = False,
    device: Annotated[
        str, typer.Option(help="Torch device on the executors: cpu, or auto/cuda on GPU executors.")
    ] = "cpu",
    max_batch_rows: Annotated[
        Optional[int], typer.Option(min=1, help="Largest Arrow batch handed to the network.")
    ] = None,
) -> None:
    """aefeatures transform on Spark: read Parquet (or a table), append the features, write Parquet."""
    try:
        from pyspark.errors import AnalysisException, PythonException
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise AEFeaturesError(
            f"pyspark is not installed: {exc}",
            hint="pip install -e '.[spark]' in the aefeatures clone (or pip install pyspark)",
        ) from exc
    from aefeatures.integrations.spark import transform

    check_spark_output(output, overwrite, inputs=[model] if table else [data, model])
    session = SparkSession.builder.appName("aefeatures-transform").getOrCreate()
    try:
        frame = session.table(data) if table else session.read.parquet(data)
        out = transform(
            frame, model, per_feature_errors=per_feature_errors, device=device, max_batch_rows=max_batch_rows
        )
        # Spark's commit protocol publishes the files only when every task succeeded.
        out.write.mode("overwrite" if overwrite else "errorifexists").parquet(output)
    except AnalysisException as exc:  # missing input, existing output, unknown table
        raise DataError(str(exc).splitlines()[0]) from exc
    except PythonException as exc:  # a task failed, e.g. on rows that break the model's schema
        raise DataError(f"a Spark task failed; nothing was written.\n{_task_error(str(exc))}") from exc
    typer.echo(json.dumps({"output": output, "columns": out.columns[len(frame.columns) :]}))


@distributed_app.command()
def distributed(
    data: Annotated[str, typer.Argument(help="Parquet file, directory or glob that every rank can read.")],
    model_dir: Annotated[str, typer.Argument(help="Model directory that rank 0 writes.")],
    schema: Annotated[
        Optional[str], typer.Option(help="pandera schema file; inferred from the statistics rows if omitted.")
    ] = None,
    overwrite: Overwrite = False,
    stats_rows: Annotated[
        int, typer.Option(help="Most rows the preprocessing and the threshold are learned from.")
    ] = STATS_ROWS,
    exclude: Exclude = None,
    columns: Columns = None,
    settings: Setting = None,
) -> None:
    """Data-parallel fit (run under torchrun); rank 0 prints {"model": MODEL_DIR}."""
    from aefeatures.fitting.distributed import fit_distributed

    done = fit_distributed(
        data,
        model_dir,
        schema=schema,
        overwrite=overwrite,
        stats_rows=stats_rows,
        **fit_params(settings, columns=columns, exclude=exclude),
    )
    if done is not None:
        typer.echo(json.dumps({"model": done}))


def check_spark_output(output: str, overwrite: bool, *, inputs: list[str | Path]) -> None:
    """aefeatures' output rules for a Spark job, which writes through Spark's own committer.

    Spark's ``mode("overwrite")`` deletes whatever is at the output first, so before Spark runs:
    a local output (a plain path or ``file://``) may be neither an input nor a directory holding
    one (:func:`aefeatures.io.sinks.refuse_inputs`), and ``--overwrite`` replaces only aefeatures
    Parquet output (:func:`aefeatures.integrations.spark.replaceable_output`). A remote URI
    (``s3a://``, ``hdfs://``, ``abfss://``, ``gs://`` ...) cannot be inspected from here: it is
    refused only when it is an input URI or a prefix of one, and ``--overwrite`` replaces whatever
    is there (docs/spark.md).
    """
    from aefeatures.errors import OutputExistsError
    from aefeatures.integrations.spark import replaceable_output
    from aefeatures.io.sinks import refuse_inputs

    local = _local_path(output)
    if local is None:
        target = output.rstrip("/")
        for source in map(str, inputs):
            if target and (source.rstrip("/") == target or source.startswith(target + "/")):
                raise OutputExistsError(
                    f"the output {output!r} is, or holds, the input {source!r}; Spark would delete the data being read.",
                    hint="choose an output URI outside the input data",
                )
        return
    refuse_inputs(
        local, [str(p) for p in (_local_path(str(i)) for i in inputs) if p is not None]
    )  # globs too
    if overwrite and os.path.lexists(local) and not replaceable_output(local):
        raise OutputExistsError(
            f"{output!r} exists and is not replaced, even with --overwrite: it is not Parquet output "
            "written by aefeatures (Spark's overwrite would delete everything in it).",
            hint="choose another output path, or move or delete it yourself if you no longer need it",
        )


def _local_path(uri: str) -> Optional[Path]:
    """The local path of a plain path or ``file:`` URI; ``None`` for another scheme (s3a://, hdfs://)."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    return Path(uri) if len(parsed.scheme) <= 1 else None  # one letter: a Windows drive


def spark_main(argv: Optional[list[str]] = None) -> int:
    """``python -m aefeatures.spark DATA --model DIR --output OUT [options]``; returns the exit code."""
    return invoke(spark_app, argv, "python -m aefeatures.spark")


def distributed_main(argv: Optional[list[str]] = None) -> int:
    """``torchrun --nproc-per-node N -m aefeatures.distributed DATA MODEL_DIR [options]``; returns the exit code."""
    return invoke(distributed_app, argv, "python -m aefeatures.distributed")


def _task_error(text: str) -> str:
    """The aefeatures error inside a task's Python traceback, else the traceback's last line."""
    lines = [line for line in text.splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if line.startswith("aefeatures.errors.")), len(lines) - 1)
    return "\n".join(lines[start:]).split(": ", 1)[-1]
