"""``fit`` and ``compare``: training models."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from aefeatures.cli.app import app, emit, err, setup_logging
from aefeatures.cli.options import (
    GOAL_HELP,
    Columns,
    Data,
    Exclude,
    Json,
    Overwrite,
    Quiet,
    Setting,
    Threads,
    default_model_dir,
    fit_params,
    parse_ints,
    parse_names,
    setting_option,
    usage_check,
)
from aefeatures.cli.text import fit_text
from aefeatures.errors import DataError
from aefeatures.goals import check_goal
from aefeatures.settings import declared
from aefeatures.settings.kinds import KINDS, SUMMARIES

_KIND_SUMMARIES = "; ".join(f"{name}: {text}" for name, text in SUMMARIES.items()) + "."
# An option of a fit setting defaults to None, "not given": the goal's value or the declared default
# applies (fit_params passes only the options given), and its help shows which.
_Device = Annotated[Optional[str], setting_option("device", "--device")]


@app.command()
def fit(
    context: typer.Context,
    data: Data,
    model: Annotated[
        Optional[Path],
        typer.Option(
            "--model", "-m", help="Where to write the model directory \\[default: models/<data name>]."
        ),
    ] = None,
    goal: Annotated[
        Optional[str],
        setting_option(
            "goal", help=GOAL_HELP, callback=usage_check(lambda value: value is None or check_goal(value))
        ),
    ] = None,
    kind: Annotated[
        Optional[str], setting_option("kind", help=declared("kind").help, after=_KIND_SUMMARIES)
    ] = None,
    latent_dim: Annotated[Optional[int], setting_option("latent_dim")] = None,
    hidden: Annotated[
        Optional[str],
        setting_option("hidden", help=declared("hidden").help + ", e.g. 64,32; none for no hidden layer"),
    ] = None,
    epochs: Annotated[Optional[int], setting_option("epochs")] = None,
    batch_size: Annotated[Optional[int], setting_option("batch_size")] = None,
    seed: Annotated[Optional[int], setting_option("seed")] = None,
    contamination: Annotated[Optional[float], setting_option("contamination")] = None,
    columns: Columns = None,
    exclude: Exclude = None,
    schema: Annotated[
        Optional[str],
        typer.Option(help="pandera schema: YAML/JSON file or schemas/NAME.py[:Class]; inferred if omitted."),
    ] = None,
    prefix: Annotated[Optional[str], setting_option("prefix")] = None,
    segment_by: Annotated[Optional[str], setting_option("segment_by")] = None,
    device: _Device = None,
    threads: Threads = None,
    settings: Setting = None,
    stream: Annotated[
        Optional[bool],
        typer.Option(
            "--stream/--in-memory",
            help="Stream epochs from disk for data larger than memory \\[default: when the data would not fit].",
            show_default=False,
        ),
    ] = None,
    sample: Annotated[
        Optional[int],
        typer.Option(
            min=2,
            help="Fit on a uniform sample of this many rows (with --stream: rows for the preprocessing statistics).",
        ),
    ] = None,
    max_rows: Annotated[
        Optional[int], typer.Option(min=2, help="Fit on the first rows only, for a quick look.")
    ] = None,
    overwrite: Overwrite = False,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Continue a killed fit from <model>.checkpoint (same data and options)."
        ),
    ] = False,
    checkpoint_every: Annotated[
        float,
        typer.Option(
            min=0, help="Seconds between training checkpoints in <model>.checkpoint; 0: every epoch."
        ),
    ] = 30.0,
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Infer or take a schema, learn preprocessing, train, and write the model directory."""
    from aefeatures.api import fit as fit_model
    from aefeatures.fitting.checkpoint import Checkpoint
    from aefeatures.fitting.progress import epoch_progress
    from aefeatures.io.sinks import check_output

    setup_logging(quiet)
    widths = parse_ints(hidden, "--hidden", none=True)
    target = model or default_model_dir(data)
    inputs = [path for path in (data, schema) if path is not None]  # never replaced, even with --overwrite
    with _default_parent(None if model is not None else target.parent):
        check_output(target, overwrite, kind="model", inputs=inputs)
        params = fit_params(  # only the options given: a goal's settings apply to the others
            settings,
            context=context,
            goal=goal,
            kind=kind,
            latent_dim=latent_dim,
            hidden=widths,
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
            contamination=contamination,
            columns=columns,
            exclude=exclude,
            prefix=prefix,
            segment_by=segment_by,
            device=device,
            threads=threads,
        )
        checkpoint = Checkpoint(f"{target}.checkpoint", every_seconds=checkpoint_every)
        with epoch_progress(epochs, enabled=not quiet) as on_epoch:
            fitted = fit_model(
                data,
                schema=schema,
                on_epoch=on_epoch,
                checkpoint=checkpoint,
                resume=resume,
                stream=stream,
                sample=sample,
                max_rows=max_rows,
                **params,
            )
        fitted.save(target, overwrite=overwrite, inputs=inputs)
        checkpoint.remove()
        summary = {"model": str(target), **fitted.info()}
        emit(summary, as_json, fit_text(summary))


@contextlib.contextmanager
def _default_parent(parent: Optional[Path]) -> Iterator[None]:
    """Create the default ``models/`` directory, and remove it again if the fit fails while it is empty."""
    created = parent is not None and not parent.is_dir()
    if parent is not None and created:
        try:
            parent.mkdir()
        except OSError as exc:
            raise DataError(
                f"cannot create the default model directory {str(parent)!r}: {exc.strerror or exc}.",
                hint="pass --model DIR on a writable file system",
            ) from exc
    try:
        yield
    except BaseException:
        if parent is not None and created:
            with contextlib.suppress(OSError):
                parent.rmdir()  # only while empty: a checkpoint kept for --resume stays
        raise


@app.command()
def compare(
    context: typer.Context,
    data: Data,
    kinds: Annotated[
        Optional[str],
        typer.Option(
            help="Comma-separated kinds to train (default: all but pca; PCA runs at every size anyway)."
        ),
    ] = None,
    sizes: Annotated[
        Optional[str],
        typer.Option(
            help="Comma-separated bottleneck sizes (default: half, once and twice the default size)."
        ),
    ] = None,
    max_seconds: Annotated[
        float, typer.Option(min=0, help="Time budget of all runs together, shared among them.")
    ] = 300.0,
    epochs: Annotated[
        Optional[int],
        setting_option("epochs", help="Maximum epochs per run (early stopping usually ends sooner)"),
    ] = None,
    label: Annotated[
        Optional[str],
        typer.Option(
            help="Boolean or 0/1 column to score ae_error against (ROC-AUC, AP) and rank by; never a feature. "
            "Adds an IsolationForest baseline when scikit-learn is installed."
        ),
    ] = None,
    rank_by: Annotated[
        Optional[str],
        typer.Option(
            help="valid_loss, robust_loss (the best 90% of validation rows), roc_auc or average_precision "
            "(the last two need --label) \\[default: roc_auc with --label, else valid_loss]."
        ),
    ] = None,
    goal: Annotated[
        Optional[str],
        setting_option(
            "goal",
            help=GOAL_HELP,
            default="reconstruction when ranking by an error, outliers by roc_auc or average_precision",
            callback=usage_check(lambda value: value is None or check_goal(value)),
        ),
    ] = None,
    keep_best: Annotated[
        Optional[Path], typer.Option("--keep-best", help="Save the winner here as a normal model directory.")
    ] = None,
    columns: Columns = None,
    exclude: Exclude = None,
    schema: Annotated[Optional[str], typer.Option(help="pandera schema file; inferred if omitted.")] = None,
    seed: Annotated[Optional[int], setting_option("seed", help="Seed of the split and of every run")] = None,
    device: _Device = None,
    threads: Threads = None,
    settings: Setting = None,
    overwrite: Overwrite = False,
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Train several kinds and bottleneck sizes plus PCA on one split; print a ranked table.

    Exit code 0 when at least one candidate finished (failed ones are marked in the table), 1 when
    none did or the data or options are refused, 2 for a usage error.
    """
    from aefeatures.explore.compare import compare as run_compare
    from aefeatures.explore.compare_text import compare_text, progress_line
    from aefeatures.explore.ranking import LOSS_MEASURES, RANK_BY, RENAMED

    chosen = parse_names([kinds]) if kinds is not None else None
    if kinds is not None and not chosen:
        raise typer.BadParameter(
            f"{kinds!r} names no kind; choose from {', '.join(KINDS)}, or leave --kinds out for all but pca",
            param_hint="--kinds",
        )
    only: dict[str, Any] = {"kinds": chosen} if chosen else {}  # else compare's default kinds
    if chosen and any(kind not in KINDS for kind in chosen):
        raise typer.BadParameter(f"{kinds!r}: choose from {', '.join(KINDS)}", param_hint="--kinds")
    measure = RENAMED.get(rank_by, rank_by) if rank_by is not None else None
    if measure is not None and (measure not in RANK_BY or (measure not in LOSS_MEASURES and label is None)):
        raise typer.BadParameter(
            f"{rank_by!r}: choose valid_loss or robust_loss, or roc_auc / average_precision with --label",
            param_hint="--rank-by",
        )
    grid = parse_ints(sizes, "--sizes")
    if grid is not None and (not grid or min(grid) < 1):
        raise typer.BadParameter(f"{sizes!r} must list positive sizes, e.g. 2,4,8", param_hint="--sizes")
    setup_logging(quiet)
    result = run_compare(
        data,
        **only,
        sizes=grid,
        max_seconds=max_seconds,
        label=label,
        rank_by=measure,
        goal=goal,
        schema=schema,
        keep_best=keep_best,
        overwrite=overwrite,
        **fit_params(
            settings,
            context=context,
            epochs=epochs,
            columns=columns,
            exclude=exclude,
            seed=seed,
            device=device,
            threads=threads,
            reserved={
                "kind": "--kinds",
                "latent_dim": "--sizes",
                "max_seconds": "--max-seconds",
                "goal": "--goal",
            },
        ),
        on_run=None if quiet else lambda run: err.print(progress_line(run), markup=False, highlight=False),
    )
    emit(result.to_dict(), as_json, compare_text(result, str(data)))
    if result.best is None:
        err.print(
            "error: no candidate finished, so nothing is ranked or kept; each failure is listed above "
            "(fix the cause, or try other --kinds or --sizes)",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(1)
