"""``info``, ``report``, ``export`` and ``demo``: commands about a model directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from aefeatures.cli.app import app, emit, setup_logging
from aefeatures.cli.options import Json, Overwrite, Quiet, file_output, usage_check
from aefeatures.cli.text import demo_text, info_text


@app.command()
def info(model_dir: Annotated[Path, typer.Argument(help="Model directory.")], as_json: Json = False) -> None:
    """What a model is: kind, columns, schema, training metrics, threshold, versions."""
    from aefeatures.api import load

    description = load(model_dir, device="cpu").info()
    emit(description, as_json, info_text(description))


@app.command()
def report(
    model_dir: Annotated[Path, typer.Argument(help="Model directory.")],
    output: Annotated[
        Optional[str], typer.Option("--output", "-o", help="Write the page here instead of DIR/report.html.")
    ] = None,
    overwrite: Overwrite = False,
    as_json: Json = False,
) -> None:
    """Write or refresh the model's self-contained HTML report (DIR/report.html)."""
    from aefeatures.model.files import write_report

    target = file_output(output, "--output") if output is not None else None
    written = write_report(model_dir, target, overwrite=overwrite)
    emit({"report": str(written), "bytes": written.stat().st_size}, as_json, f"wrote {written}")


@app.command()
def export(
    model_dir: Annotated[Path, typer.Argument(help="Model directory.")],
    output: Annotated[
        Optional[str],
        typer.Option("--output", "-o", help="What to write: the ONNX file, or the MLflow model directory."),
    ] = None,
    export_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="onnx: the network and error computation as an ONNX graph, without preprocessing; "
            "mlflow: an MLflow model (pyfunc flavor, no pickle) that appends every feature column.",
            metavar="onnx|mlflow",
        ),
    ] = "onnx",
    onnx: Annotated[
        Optional[str], typer.Option("--onnx", help="Same as --format onnx --output FILE.")
    ] = None,
    overwrite: Overwrite = False,
    as_json: Json = False,
) -> None:
    """Export the model: an ONNX graph (default) or an MLflow model directory."""
    from aefeatures.errors import ConfigError
    from aefeatures.io.sinks import check_output

    chosen = export_format.lower()
    if chosen not in ("onnx", "mlflow"):
        raise typer.BadParameter(
            f"{export_format!r} is not one of 'onnx', 'mlflow'.", param_hint="'--format'"
        )
    if onnx is not None and (output is not None or chosen != "onnx"):
        raise typer.BadParameter("--onnx FILE is --format onnx --output FILE: give one or the other.")
    given = onnx if onnx is not None else output
    if given is None:
        raise typer.BadParameter("where to write the export is missing.", param_hint="'--output'")
    option = "--onnx" if onnx is not None else "--output"
    target = file_output(given, option) if chosen == "onnx" else Path(given)
    # Before loading anything; the writers then replace atomically.
    check_output(target, overwrite, kind="onnx" if chosen == "onnx" else None, inputs=[model_dir])
    if chosen == "onnx":
        from aefeatures.api import load
        from aefeatures.integrations.onnx import export_onnx

        written = export_onnx(load(model_dir, device="cpu"), target, overwrite=overwrite)
        result = {"onnx": str(written)} if onnx is not None else {"format": "onnx", "output": str(written)}
        emit(result, as_json, f"wrote ONNX graph to {written} (outputs: codes, column_errors, errors)")
        return
    try:
        from aefeatures.integrations.mlflow import save_model
    except ImportError as exc:
        raise ConfigError(
            "MLflow export needs the 'mlflow' package, which is not installed.",
            hint="pip install -e '.[mlflow]' in the aefeatures clone (or pip install mlflow-skinny)",
        ) from exc
    written = save_model(model_dir, target, overwrite=overwrite)
    emit(
        {"format": "mlflow", "output": str(written)},
        as_json,
        f"wrote MLflow model to {written} (load it with mlflow.pyfunc.load_model({str(written)!r}))",
    )


@app.command()
def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where the demo writes its files (replaced on each run).")
    ] = Path("aefeatures-demo"),
    rows: Annotated[
        int,
        typer.Option(
            callback=usage_check(lambda rows: _demo_rows(rows)),
            help="Rows of generated data.",
        ),
    ] = 20_000,
    seed: Annotated[int, typer.Option(min=0, help="Seed of data and model.")] = 0,
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Generate a mixed-type dataset with planted anomalies, fit, transform, and score the result."""
    from aefeatures.explore.demo import run_demo

    setup_logging(quiet)
    result = run_demo(directory, rows=rows, seed=seed, show_progress=not quiet)
    emit(result, as_json, demo_text(result))


def _demo_rows(rows: int) -> None:
    from aefeatures.explore.demo import check_rows  # numpy and polars load only when demo runs

    check_rows(rows)
