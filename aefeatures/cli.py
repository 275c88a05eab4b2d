"""The ``aefeatures`` command line.

Results go to stdout (JSON with ``--json``); logs, progress and errors go to stderr.
Exit codes: 0 ok, 1 data/schema/model problem, 2 usage error. Set ``AEFEATURES_DEBUG=1``
to see tracebacks.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.text import Text

from aefeatures.errors import AEFeaturesError

app = typer.Typer(
    name="aefeatures",
    help="Autoencoder features for tabular Parquet data: fit, then append embeddings and reconstruction errors.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
schema_app = typer.Typer(help="Write and check pandera schema files.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")

err = Console(stderr=True, highlight=False)
log = logging.getLogger("aefeatures")

Data = Annotated[str, typer.Argument(help="Parquet file, directory of Parquet files (hive partitions kept) or glob.")]
ModelDir = Annotated[Path, typer.Option("--model", "-m", help="Model directory.")]
Json = Annotated[bool, typer.Option("--json", help="Print a machine-readable result on stdout.")]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace an existing output.")]
Columns = Annotated[Optional[list[str]], typer.Option("--columns", "-c", help="Feature columns (repeat or comma-separate); default: all usable.")]
Exclude = Annotated[Optional[list[str]], typer.Option("--exclude", "-x", help="Columns to leave out, e.g. ids and labels (repeat or comma-separate).")]
Device = Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")]


@app.command()
def fit(
    data: Data,
    model: Annotated[Optional[Path], typer.Option("--model", "-m", help="Where to write the model directory [default: models/<data name>].")] = None,
    kind: Annotated[str, typer.Option(help="Autoencoder kind: undercomplete, deep, sparse-l1, sparse-kl, denoising, contractive, variational, pca.")] = "deep",
    latent_dim: Annotated[Optional[int], typer.Option(help="Bottleneck size [default: from the data's width].")] = None,
    hidden: Annotated[Optional[str], typer.Option(help="Hidden layer widths, e.g. 64,32 [default: from the data's width].")] = None,
    epochs: Annotated[int, typer.Option(help="Maximum epochs (early stopping usually ends sooner).")] = 200,
    batch_size: Annotated[Optional[int], typer.Option(help="Rows per step [default: from the row count].")] = None,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, data and threads give identical models.")] = 0,
    contamination: Annotated[float, typer.Option(help="Share of training rows above the outlier threshold.")] = 0.01,
    columns: Columns = None,
    exclude: Exclude = None,
    schema: Annotated[Optional[str], typer.Option(help="pandera schema: YAML/JSON file or schemas/NAME.py[:Class]; inferred if omitted.")] = None,
    prefix: Annotated[str, typer.Option(help="Prefix of the appended columns.")] = "ae_",
    device: Device = "auto",
    threads: Annotated[Optional[int], typer.Option(help="Torch threads [default: all cores].")] = None,
    overwrite: Overwrite = False,
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Infer or take a schema, learn preprocessing, train, and write the model directory."""
    from aefeatures.api import fit as fit_model
    from aefeatures.progress import epoch_progress
    from aefeatures.sinks import check_output
    from aefeatures.sources import source_name

    _setup_logging(quiet)
    target = model or Path("models") / source_name(data)
    check_output(target, overwrite)
    params: dict[str, Any] = {
        "kind": kind,
        "latent_dim": latent_dim,
        "hidden": _ints(hidden, "--hidden"),
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": seed,
        "contamination": contamination,
        "columns": _names(columns),
        "exclude": _names(exclude) or (),
        "prefix": prefix,
        "device": device,
        "threads": threads,
    }
    with epoch_progress(epochs, enabled=not quiet) as on_epoch:
        fitted = fit_model(data, schema=schema, on_epoch=on_epoch, **params)
    fitted.save(target, overwrite=overwrite)
    summary = {"model": str(target), **fitted.info()}
    _emit(summary, as_json, _fit_text(summary))


@app.command()
def transform(
    data: Data,
    model: ModelDir,
    output: Annotated[Path, typer.Option("--output", "-o", help="Output Parquet file.")],
    per_feature_errors: Annotated[bool, typer.Option("--per-feature-errors", help="Also append ae_error__<column>.")] = False,
    device: Device = "auto",
    overwrite: Overwrite = False,
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Validate DATA against the model's schema, append the feature columns, write OUTPUT atomically."""
    from aefeatures.api import load
    from aefeatures.sinks import check_output, write_parquet
    from aefeatures.sources import read_frame

    _setup_logging(quiet)
    check_output(output, overwrite)
    fitted = load(model, device=device)
    result = fitted.transform(read_frame(data), per_feature_errors=per_feature_errors)
    write_parquet(result, output, overwrite)
    outlier = f"{fitted.config.prefix}outlier"
    summary = {"output": str(output), "rows": result.height, "columns": result.width, "outliers": int(result[outlier].sum())}
    _emit(summary, as_json, f"wrote {summary['rows']} rows x {summary['columns']} columns to {output} ({summary['outliers']} flagged as outliers)")


@app.command()
def info(model_dir: Annotated[Path, typer.Argument(help="Model directory.")], as_json: Json = False) -> None:
    """What a model is: kind, columns, schema, training metrics, threshold, versions."""
    from aefeatures.api import load

    description = load(model_dir, device="cpu").info()
    _emit(description, as_json, _info_text(description))


@app.command()
def validate(
    data: Data,
    model: Annotated[Optional[Path], typer.Option("--model", "-m", help="Validate against this model's schema.")] = None,
    schema: Annotated[Optional[str], typer.Option(help="Validate against this schema file instead.")] = None,
    as_json: Json = False,
) -> None:
    """pandera validation with every failure listed; exit 1 on failure."""
    from aefeatures.errors import SchemaValidationError
    from aefeatures.schema import load_schema_file, schema_from_yaml
    from aefeatures.schema import validate as validate_frame
    from aefeatures.sources import read_frame

    if (model is None) == (schema is None):
        raise typer.BadParameter("pass exactly one of --model DIR or --schema FILE")
    if model is not None:
        from aefeatures.artifact import SCHEMA, read_manifest

        read_manifest(model)
        checked = schema_from_yaml((model / SCHEMA).read_text())
    else:
        checked = load_schema_file(str(schema))
    frame = read_frame(data)
    try:
        validate_frame(frame, checked)
    except SchemaValidationError as exc:
        if as_json:
            typer.echo(json.dumps({"valid": False, "rows": frame.height, "failures": exc.failures}, default=str))
        raise
    _emit({"valid": True, "rows": frame.height}, as_json, f"{data}: {frame.height} rows conform to the schema")


@schema_app.command("infer")
def schema_infer(
    data: Data,
    output: Annotated[Path, typer.Option("--output", "-o", help="YAML file to write, e.g. schemas/NAME.yaml.")],
    columns: Columns = None,
    exclude: Exclude = None,
    overwrite: Overwrite = False,
) -> None:
    """Write a pandera schema (names, dtypes, nullability) to review and commit."""
    from aefeatures.preprocess import select_features
    from aefeatures.schema import infer_schema, schema_to_yaml
    from aefeatures.sinks import atomic_path
    from aefeatures.sources import read_frame

    frame = read_frame(data)
    names = select_features(frame.schema, _names(columns), _names(exclude) or ())
    with atomic_path(output, overwrite) as temporary:
        temporary.write_text(schema_to_yaml(infer_schema(frame, names)))
    err.print(f"wrote schema of {len(names)} columns to {output}")


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where the demo writes its files (replaced on each run).")] = Path("aefeatures-demo"),
    rows: Annotated[int, typer.Option(help="Rows of generated data.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Seed of data and model.")] = 0,
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Generate a mixed-type dataset with planted anomalies, fit, transform, and score the result."""
    from aefeatures.demo import run_demo

    _setup_logging(quiet)
    result = run_demo(directory, rows=rows, seed=seed, show_progress=not quiet)
    _emit(result, as_json, _demo_text(result))


def _names(values: Optional[list[str]]) -> Optional[tuple[str, ...]]:
    if not values:
        return None
    return tuple(name.strip() for value in values for name in value.split(",") if name.strip())


def _ints(text: Optional[str], option: str) -> Optional[tuple[int, ...]]:
    if text is None:
        return None
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a comma-separated list of integers, e.g. 64,32", param_hint=option) from None


def _emit(result: dict[str, Any], as_json: bool, text: str) -> None:
    typer.echo(json.dumps(result, default=str, indent=1) if as_json else text)


def _fit_text(summary: dict[str, Any]) -> str:
    training = summary["training"]
    final = training["final"] or {}
    loss = final.get("valid_loss", final.get("train_loss"))
    return (
        f"model written to {summary['model']}\n"
        f"  kind {summary['kind']}, {len(summary['columns'])} columns -> {summary['n_inputs']} inputs -> latent {summary['latent_dim']} (hidden {summary['hidden']})\n"
        f"  {training['rows']} rows, {training['epochs_run']} epochs ({training['stopped_because']}), best epoch {training['best_epoch']}, "
        f"loss {loss:.4f}, {training['seconds']:.1f}s\n"
        f"  outlier threshold {summary['threshold']:.4f} (contamination {summary['contamination']})"
    )


def _info_text(description: dict[str, Any]) -> str:
    columns = ", ".join(f"{c['name']} ({c['kind']})" for c in description["columns"])
    return "\n".join(
        [
            f"kind: {description['kind']}  latent: {description['latent_dim']}  hidden: {description['hidden']}",
            f"columns: {columns}",
            f"threshold: {description['threshold']:.6g}  seed: {description['seed']}",
            f"training: {json.dumps(description['training'], default=str)}",
            f"versions: {json.dumps(description['versions'])}",
        ]
    )


def _demo_text(result: dict[str, Any]) -> str:
    return (
        f"demo data:   {result['data']} ({result['rows']} rows, {result['anomalies']} planted anomalies)\n"
        f"model:       {result['model']}\n"
        f"features:    {result['output']}\n"
        f"ae_error finds the planted anomalies with ROC-AUC {result['roc_auc']:.3f}, average precision {result['average_precision']:.3f};\n"
        f"{result['flagged_anomalies']} of the {result['flagged']} rows flagged by ae_outlier are planted anomalies.\n"
        f"next: aefeatures info {result['model']}"
    )


def _setup_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("aefeatures: %(levelname)s: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.ERROR if quiet else logging.INFO)


def main(argv: Optional[list[str]] = None) -> int:
    """Run the CLI; map exceptions to exit codes in this one place."""
    try:
        app(args=argv, prog_name="aefeatures")  # usage errors exit 2 inside, via SystemExit
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except AEFeaturesError as exc:
        if os.environ.get("AEFEATURES_DEBUG"):
            raise
        err.print(Text.assemble(("error: ", "bold red"), str(exc)), soft_wrap=True)
        return 1
    except Exception as exc:  # an unexpected failure still gets a one-line message and exit 1
        if os.environ.get("AEFEATURES_DEBUG"):
            raise
        err.print(Text.assemble(("internal error: ", "bold red"), f"{type(exc).__name__}: {exc}"), soft_wrap=True)
        err.print("set AEFEATURES_DEBUG=1 to see the traceback, and please report it")
        return 1
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
