"""The ``aefeatures`` command line.

Results go to stdout (JSON with ``--json``); logs, progress and errors go to stderr.
Exit codes: 0 ok, 1 data/schema/model problem, 2 usage error. Set ``AEFEATURES_DEBUG=1``
to see tracebacks.
"""

from __future__ import annotations

import dataclasses
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
Threads = Annotated[Optional[int], typer.Option(min=1, help="Torch threads [default: all cores]; 1 when other work shares the cores.")]
Setting = Annotated[Optional[list[str]], typer.Option("--set", help="Any other fit setting as NAME=VALUE, e.g. --set noise=masking --set noise_level=0.2 (repeatable).")]


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
    threads: Threads = None,
    settings: Setting = None,
    stream: Annotated[Optional[bool], typer.Option("--stream/--in-memory", help="Stream epochs from disk for data larger than memory [default: when the data would not fit].", show_default=False)] = None,
    sample: Annotated[Optional[int], typer.Option(min=2, help="Fit on a uniform sample of this many rows (with --stream: rows for the preprocessing statistics).")] = None,
    max_rows: Annotated[Optional[int], typer.Option(min=2, help="Fit on the first rows only, for a quick look.")] = None,
    overwrite: Overwrite = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue a killed fit from <model>.checkpoint (same data and options).")] = False,
    checkpoint_every: Annotated[float, typer.Option(min=0, help="Seconds between training checkpoints in <model>.checkpoint; 0: every epoch.")] = 30.0,
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Infer or take a schema, learn preprocessing, train, and write the model directory."""
    from aefeatures.api import fit as fit_model
    from aefeatures.checkpoint import Checkpoint
    from aefeatures.progress import epoch_progress
    from aefeatures.sinks import check_output
    from aefeatures.sources import source_name

    _setup_logging(quiet)
    target = model or Path("models") / source_name(data)
    if model is None:
        target.parent.mkdir(exist_ok=True)  # the default location is ours to create
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
    params.update(_settings(settings, params))
    checkpoint = Checkpoint(f"{target}.checkpoint", every_seconds=checkpoint_every)
    with epoch_progress(epochs, enabled=not quiet) as on_epoch:
        fitted = fit_model(data, schema=schema, on_epoch=on_epoch, checkpoint=checkpoint, resume=resume, stream=stream, sample=sample, max_rows=max_rows, **params)
    fitted.save(target, overwrite=overwrite)
    checkpoint.remove()
    summary = {"model": str(target), **fitted.info()}
    _emit(summary, as_json, _fit_text(summary))


@app.command()
def transform(
    data: Data,
    model: ModelDir,
    output: Annotated[Path, typer.Option("--output", "-o", help="Output Parquet file, or directory for a directory DATA (hive layout kept).")],
    per_feature_errors: Annotated[bool, typer.Option("--per-feature-errors", help="Also append ae_error__<column>.")] = False,
    on_drift: Annotated[str, typer.Option("--on-drift", help="warn, fail (exit 1, nothing written) or ignore when columns drift from training.")] = "warn",
    drift_tolerance: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of unseen, out-of-range or extra missing values that counts as drift.")] = 0.02,
    device: Device = "auto",
    threads: Threads = None,
    batch_rows: Annotated[int, typer.Option(min=1, help="Rows read, scored and written at a time; memory follows it.")] = 65_536,
    overwrite: Overwrite = False,
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Validate DATA against the model's schema, check drift, append the feature columns, write OUTPUT atomically."""
    from aefeatures.api import load
    from aefeatures.devices import set_threads
    from aefeatures.drift import ON_DRIFT
    from aefeatures.sinks import check_output
    from aefeatures.streaming import transform_path

    if on_drift not in ON_DRIFT:
        raise typer.BadParameter(f"{on_drift!r} is not one of {', '.join(ON_DRIFT)}", param_hint="--on-drift")
    _setup_logging(quiet)
    check_output(output, overwrite)
    set_threads(threads)
    fitted = load(model, device=device)
    summary = transform_path(
        fitted, data, output, overwrite=overwrite, per_feature_errors=per_feature_errors,
        batch_rows=batch_rows, on_drift=on_drift, drift_tolerance=drift_tolerance,
    ).to_dict()
    _emit(summary, as_json, f"wrote {summary['rows']} rows x {summary['columns']} columns to {output} ({summary['outliers']} flagged as outliers)")


@app.command()
def info(model_dir: Annotated[Path, typer.Argument(help="Model directory.")], as_json: Json = False) -> None:
    """What a model is: kind, columns, schema, training metrics, threshold, versions."""
    from aefeatures.api import load

    description = load(model_dir, device="cpu").info()
    _emit(description, as_json, _info_text(description))


@app.command()
def report(
    model_dir: Annotated[Path, typer.Argument(help="Model directory.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the page here instead of DIR/report.html.")] = None,
    overwrite: Overwrite = False,
    as_json: Json = False,
) -> None:
    """Write or refresh the model's self-contained HTML report (DIR/report.html)."""
    from aefeatures.report import write_report

    written = write_report(model_dir, output, overwrite=overwrite)
    _emit({"report": str(written), "bytes": written.stat().st_size}, as_json, f"wrote {written}")


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
        else:
            from aefeatures.tables import failure_table

            Console(soft_wrap=True).print(failure_table(exc.failures))
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
        header = (
            f"# pandera schema inferred by aefeatures from {data} ({frame.height} rows): names, dtypes, nullability.\n"
            "# Review it, add value checks that are rules (e.g. checks: {greater_than_or_equal_to: 0}), and commit it.\n"
        )
        temporary.write_text(header + schema_to_yaml(infer_schema(frame, names)).rstrip("\n") + "\n")
    err.print(f"wrote schema of {len(names)} columns to {output}")


@app.command()
def export(
    model_dir: Annotated[Path, typer.Argument(help="Model directory.")],
    onnx: Annotated[Path, typer.Option("--onnx", help="ONNX file to write: encoder, decoder and error computation, without preprocessing.")],
    overwrite: Overwrite = False,
    as_json: Json = False,
) -> None:
    """Export the model's network and error computation as an ONNX graph."""
    from aefeatures.api import load
    from aefeatures.export import export_onnx
    from aefeatures.sinks import check_output

    check_output(onnx, overwrite)
    written = export_onnx(load(model_dir, device="cpu"), onnx, overwrite=overwrite)
    _emit({"onnx": str(written)}, as_json, f"wrote ONNX graph to {written} (outputs: codes, column_errors, errors)")


@app.command()
def compare(
    data: Data,
    kinds: Annotated[Optional[str], typer.Option(help="Comma-separated kinds to train (default: all but pca; PCA runs at every size anyway).")] = None,
    sizes: Annotated[Optional[str], typer.Option(help="Comma-separated bottleneck sizes (default: half, once and twice the default size).")] = None,
    max_seconds: Annotated[float, typer.Option(min=0, help="Time budget of all runs together, shared among them.")] = 300.0,
    epochs: Annotated[int, typer.Option(min=1, help="Maximum epochs per run (early stopping usually ends sooner).")] = 200,
    label: Annotated[Optional[str], typer.Option(help="Boolean or 0/1 column to score ae_error against (ROC-AUC, AP); never a feature.")] = None,
    rank_by: Annotated[str, typer.Option(help="valid_error, roc_auc or average_precision (the last two need --label).")] = "valid_error",
    keep_best: Annotated[Optional[Path], typer.Option("--keep-best", help="Save the winner here as a normal model directory.")] = None,
    columns: Columns = None,
    exclude: Exclude = None,
    schema: Annotated[Optional[str], typer.Option(help="pandera schema file; inferred if omitted.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the split and of every run.")] = 0,
    device: Device = "auto",
    threads: Threads = None,
    settings: Setting = None,
    overwrite: Overwrite = False,
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Train several kinds and bottleneck sizes plus PCA on one split; print a ranked table."""
    from aefeatures.compare import RANK_BY, compare as run_compare, format_table
    from aefeatures.config import KINDS

    chosen = _names([kinds]) if kinds else None
    if chosen and any(kind not in KINDS for kind in chosen):
        raise typer.BadParameter(f"{kinds!r}: choose from {', '.join(KINDS)}", param_hint="--kinds")
    if rank_by not in RANK_BY or (rank_by != "valid_error" and label is None):
        raise typer.BadParameter(f"{rank_by!r}: choose valid_error, or roc_auc / average_precision with --label", param_hint="--rank-by")
    grid = _ints(sizes, "--sizes")
    if grid is not None and (not grid or min(grid) < 1):
        raise typer.BadParameter(f"{sizes!r} must list positive sizes, e.g. 2,4,8", param_hint="--sizes")
    _setup_logging(quiet)
    result = run_compare(
        data, **({"kinds": chosen} if chosen else {}), sizes=grid, max_seconds=max_seconds, label=label, rank_by=rank_by,
        schema=schema, keep_best=keep_best, overwrite=overwrite, epochs=epochs, columns=_names(columns),
        exclude=_names(exclude) or (), seed=seed, device=device, threads=threads,
        **_settings(settings, dict.fromkeys(["epochs", "columns", "exclude", "seed", "device", "threads", "kind", "latent_dim", "max_seconds"])),
        on_run=None if quiet else lambda run: err.print(f"  {run.kind} latent {run.latent_dim}: {run.status}, valid error {run.valid_error if run.valid_error is not None else '-'}, {run.seconds:.1f}s"),
    )
    _emit(result.to_dict(), as_json, format_table(result))


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


def _settings(values: Optional[list[str]], taken: dict[str, Any]) -> dict[str, Any]:
    """``--set NAME=VALUE`` pairs as fit parameters; a value is JSON where it parses (0.2, 3, true)."""
    from aefeatures.config import FitConfig

    known = {f.name for f in dataclasses.fields(FitConfig)}
    settings: dict[str, Any] = {}
    for item in values or ():
        name, sep, text = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in known:
            raise typer.BadParameter(f"{item!r} is not NAME=VALUE with NAME one of {', '.join(sorted(known))}", param_hint="--set")
        if name in taken:
            raise typer.BadParameter(f"{name} has its own option: use --{name.replace('_', '-')}", param_hint="--set")
        try:
            settings[name] = json.loads(text)
        except json.JSONDecodeError:
            settings[name] = text
    return settings


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
        f"report:      {result['report']} (open it in a browser)\n"
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
