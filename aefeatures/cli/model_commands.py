"""``info``, ``report``, ``export`` and ``demo``: commands about a model directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from aefeatures.cli.app import app, emit, setup_logging
from aefeatures.cli.options import Json, Overwrite, Quiet
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
        Optional[Path], typer.Option("--output", "-o", help="Write the page here instead of DIR/report.html.")
    ] = None,
    overwrite: Overwrite = False,
    as_json: Json = False,
) -> None:
    """Write or refresh the model's self-contained HTML report (DIR/report.html)."""
    from aefeatures.report.html import write_report

    written = write_report(model_dir, output, overwrite=overwrite)
    emit({"report": str(written), "bytes": written.stat().st_size}, as_json, f"wrote {written}")


@app.command()
def export(
    model_dir: Annotated[Path, typer.Argument(help="Model directory.")],
    onnx: Annotated[
        Path,
        typer.Option(
            "--onnx",
            help="ONNX file to write: encoder, decoder and error computation, without preprocessing.",
        ),
    ],
    overwrite: Overwrite = False,
    as_json: Json = False,
) -> None:
    """Export the model's network and error computation as an ONNX graph."""
    from aefeatures.api import load
    from aefeatures.integrations.onnx import export_onnx
    from aefeatures.io.sinks import check_output

    check_output(onnx, overwrite)
    written = export_onnx(load(model_dir, device="cpu"), onnx, overwrite=overwrite)
    emit(
        {"onnx": str(written)},
        as_json,
        f"wrote ONNX graph to {written} (outputs: codes, column_errors, errors)",
    )


@app.command()
def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where the demo writes its files (replaced on each run).")
    ] = Path("aefeatures-demo"),
    rows: Annotated[int, typer.Option(help="Rows of generated data.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Seed of data and model.")] = 0,
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Generate a mixed-type dataset with planted anomalies, fit, transform, and score the result."""
    from aefeatures.explore.demo import run_demo

    setup_logging(quiet)
    result = run_demo(directory, rows=rows, seed=seed, show_progress=not quiet)
    emit(result, as_json, demo_text(result))
