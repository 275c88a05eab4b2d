"""``transform``, ``validate`` and ``schema infer``: commands that read data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from aefeatures.cli.app import app, emit, err, schema_app, setup_logging
from aefeatures.cli.options import (
    BatchRows,
    Columns,
    Compression,
    Data,
    Device,
    DriftLevel,
    DriftTolerance,
    Exclude,
    Json,
    ModelDir,
    OnDrift,
    Overwrite,
    Quiet,
    StreamOutput,
    Threads,
    file_output,
    parse_names,
)
from aefeatures.defaults import (
    DEFAULT_BATCH_ROWS,
    DEFAULT_COMPRESSION,
    DEFAULT_DRIFT_LEVEL,
    DEFAULT_DRIFT_TOLERANCE,
    DEFAULT_ON_DRIFT,
)


@app.command()
def transform(
    data: Data,
    model: ModelDir,
    output: StreamOutput,
    per_feature_errors: Annotated[
        bool, typer.Option("--per-feature-errors", help="Also append ae_error__<column>.")
    ] = False,
    expected: Annotated[
        bool,
        typer.Option(
            "--expected",
            help="Also append ae_expected__<column>, the model's value for each cell in the column's "
            "own type and units, beside ae_error__<column>.",
        ),
    ] = False,
    on_drift: OnDrift = DEFAULT_ON_DRIFT,
    drift_tolerance: DriftTolerance = DEFAULT_DRIFT_TOLERANCE,
    drift_level: DriftLevel = DEFAULT_DRIFT_LEVEL,
    device: Device = "auto",
    threads: Threads = None,
    batch_rows: BatchRows = DEFAULT_BATCH_ROWS,
    compression: Compression = DEFAULT_COMPRESSION,
    overwrite: Overwrite = False,
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Validate DATA against the model's schema, check drift, append the feature columns, write OUTPUT atomically."""
    from aefeatures.api import load
    from aefeatures.devices import set_threads
    from aefeatures.io.sinks import check_output
    from aefeatures.transform.streaming import transform_path

    setup_logging(quiet)
    set_threads(threads)
    fitted = load(model, device=device)  # first: a path that is no model is the error to report
    check_output(output, overwrite, kind="parquet", inputs=[data, model])  # before any row is read
    summary = transform_path(
        fitted,
        data,
        output,
        overwrite=overwrite,
        per_feature_errors=per_feature_errors,
        expected=expected,
        batch_rows=batch_rows,
        on_drift=on_drift,
        drift_tolerance=drift_tolerance,
        drift_level=drift_level,
        compression=compression,
    ).to_dict()
    emit(
        summary,
        as_json,
        f"wrote {summary['rows']} rows x {summary['columns']} columns to {output} ({summary['outliers']} flagged as outliers)",
    )


@app.command()
def validate(
    data: Data,
    model: Annotated[
        Optional[Path],
        typer.Option("--model", "-m", help="Validate against this model's schema and check drift."),
    ] = None,
    schema: Annotated[Optional[str], typer.Option(help="Validate against this schema file instead.")] = None,
    on_drift: OnDrift = DEFAULT_ON_DRIFT,
    drift_tolerance: DriftTolerance = DEFAULT_DRIFT_TOLERANCE,
    drift_level: DriftLevel = DEFAULT_DRIFT_LEVEL,
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """pandera validation with every failure listed (exit 1 on failure); with --model, drift too."""
    from aefeatures.errors import SchemaValidationError
    from aefeatures.io.sources import read_frame
    from aefeatures.schema.schemas import load_schema_file, schema_from_yaml
    from aefeatures.schema.schemas import validate as validate_frame

    setup_logging(quiet)
    if (model is None) == (schema is None):
        raise typer.BadParameter("pass exactly one of --model DIR or --schema FILE")
    if model is not None:
        from aefeatures.model.manifest import SCHEMA, read_manifest

        read_manifest(model)
        checked = schema_from_yaml((model / SCHEMA).read_text())
    else:
        checked = load_schema_file(str(schema))
    frame = read_frame(data)
    try:
        validate_frame(frame, checked)
    except SchemaValidationError as exc:
        if as_json:  # printed with the error by the CLI's error handler
            exc.details.update(valid=False, rows=frame.height)
        else:
            from aefeatures.cli.tables import failure_table

            Console(soft_wrap=True).print(failure_table(exc.failures))
        raise
    result: dict[str, object] = {"valid": True, "rows": frame.height}
    message = f"{data}: {frame.height} rows conform to the schema"
    if model is not None and on_drift != "ignore":
        from aefeatures.api import load
        from aefeatures.schema.drift import summary_json

        summary = load(model).drift(frame, tolerance=drift_tolerance, level=drift_level, on_drift=on_drift)
        drift = summary_json(summary, level=drift_level, tolerance=drift_tolerance)
        result["drift"] = drift
        drifted = [line["column"] for line in drift["lines"] if line["drifted"]]
        message += "; drifted: " + ", ".join(drifted) if drifted else "; no drift found"
        if drift["too_small_to_tell"]:
            message += f" (too few rows to tell for {', '.join(drift['too_small_to_tell'])})"
    emit(result, as_json, message)


@schema_app.command("infer")
def schema_infer(
    data: Data,
    output: Annotated[
        str, typer.Option("--output", "-o", help="YAML file to write, e.g. schemas/NAME.yaml.")
    ],
    columns: Columns = None,
    exclude: Exclude = None,
    overwrite: Overwrite = False,
) -> None:
    """Write a pandera schema (names, dtypes, nullability) to review and commit."""
    from aefeatures.errors import shorten
    from aefeatures.features.preprocessor import select_features
    from aefeatures.io.artifacts import sealed_schema_text
    from aefeatures.io.sinks import atomic_path
    from aefeatures.io.sources import read_frame
    from aefeatures.schema.schemas import infer_schema, schema_to_yaml

    target = file_output(output, "--output")
    frame = read_frame(data)
    names = select_features(
        frame.schema, parse_names(columns, option="--columns"), parse_names(exclude) or ()
    )
    with atomic_path(target, overwrite, kind="schema", inputs=[data]) as temporary:
        header = (
            f"# pandera schema inferred by aefeatures from {shorten(repr(data))} ({frame.height} rows): names, dtypes, nullability.\n"
            "# Review it, add value checks that are rules (e.g. checks: {greater_than_or_equal_to: 0}), and commit it.\n"
        )
        body = schema_to_yaml(infer_schema(frame, names)).rstrip("\n") + "\n"
        temporary.write_text(sealed_schema_text(header, body))  # --overwrite replaces it only unedited
    err.print(f"wrote schema of {len(names)} columns to {output}")
