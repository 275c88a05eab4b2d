"""``impute`` and ``sample``: commands that write the model's values back into columns."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from aefeatures.cli.app import app, emit, setup_logging
from aefeatures.cli.options import (
    BatchRows,
    Compression,
    Data,
    Device,
    DriftLevel,
    DriftTolerance,
    Json,
    ModelDir,
    OnDrift,
    Overwrite,
    Quiet,
    StreamOutput,
    Threads,
    file_output,
    usage_check,
)

if TYPE_CHECKING:
    import polars as pl

    from aefeatures.model.fitted_model import AutoencoderModel

from aefeatures.defaults import (
    DEFAULT_BATCH_ROWS,
    DEFAULT_COMPRESSION,
    DEFAULT_DRIFT_LEVEL,
    DEFAULT_DRIFT_TOLERANCE,
    DEFAULT_ON_DRIFT,
    check_sample_rows,
)


@app.command()
def impute(
    data: Data,
    model: ModelDir,
    output: StreamOutput,
    count_filled: Annotated[
        bool,
        typer.Option("--count-filled", help="Also append ae_imputed: how many cells of the row were filled."),
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
    """Fill every missing feature cell of DATA from the model; columns, types, row order and present cells kept."""
    from aefeatures.api import load
    from aefeatures.devices import set_threads
    from aefeatures.io.sinks import check_output
    from aefeatures.transform.streaming import impute_path

    setup_logging(quiet)
    set_threads(threads)
    fitted = load(model, device=device)
    check_output(output, overwrite, kind="parquet", inputs=[data, model])
    summary = impute_path(
        fitted,
        data,
        output,
        overwrite=overwrite,
        count_filled=count_filled,
        batch_rows=batch_rows,
        on_drift=on_drift,
        drift_tolerance=drift_tolerance,
        drift_level=drift_level,
        compression=compression,
    ).to_dict()
    emit(
        summary,
        as_json,
        f"wrote {summary['rows']} rows to {output} ({summary['filled']} missing cells filled)",
    )


@app.command()
def sample(
    model: ModelDir,
    rows: Annotated[
        int,
        typer.Option(
            "--rows", "-n", min=0, callback=usage_check(check_sample_rows), help="How many rows to generate."
        ),
    ],
    output: Annotated[str, typer.Option("--output", "-o", help="Output Parquet file.")],
    seed: Annotated[int, typer.Option(min=0, help="Seed: the same seed and model give the same rows.")] = 0,
    where: Annotated[
        Optional[list[str]],
        typer.Option(
            "--where",
            help="Only rows whose categorical COLUMN has LEVEL, as COLUMN=LEVEL (repeatable), "
            "e.g. --where species=Adelie to add rows of a rare class.",
        ),
    ] = None,
    compare_to: Annotated[
        Optional[Path],
        typer.Option(
            "--compare-to",
            help="The training data: report how close the rows come to it (median distance to the "
            "closest training row, share of exact copies).",
        ),
    ] = None,
    device: Device = "auto",
    batch_rows: BatchRows = DEFAULT_BATCH_ROWS,
    compression: Compression = DEFAULT_COMPRESSION,
    overwrite: Overwrite = False,
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Write ROWS synthetic rows in the model's own column types, valid against its schema."""
    from aefeatures.api import load
    from aefeatures.io.sinks import check_output
    from aefeatures.transform.generated import sample_path

    setup_logging(quiet)
    target = file_output(output, "--output")
    conditions = _conditions(where)
    fitted = load(model, device=device)
    inputs = [model, *([compare_to] if compare_to is not None else [])]
    check_output(target, overwrite, kind="parquet", inputs=inputs)
    # the training data is read and checked before any row is written: a bad --compare-to
    # must not leave an output behind, nor replace an earlier one
    real = None if compare_to is None else _training_rows(fitted, compare_to)
    summary = sample_path(
        fitted,
        target,
        rows,
        seed=seed,
        where=conditions,
        overwrite=overwrite,
        inputs=inputs,
        batch_rows=batch_rows,
        compression=compression,
    )
    if real is not None:
        summary.privacy = _privacy(fitted, target, real, seed)
    result = summary.to_dict()
    emit(result, as_json, f"wrote {result['rows']} rows to {target}" + _privacy_text(summary.privacy))


def _conditions(values: Optional[list[str]]) -> dict[str, str]:
    conditions: dict[str, str] = {}
    for value in values or []:
        name, sep, level = value.partition("=")
        if not sep or not name:
            raise typer.BadParameter(
                f"{value!r} is not COLUMN=LEVEL, e.g. species=Adelie", param_hint="--where"
            )
        if name in conditions:
            raise typer.BadParameter(
                f"column {name!r} is given twice ({name}={conditions[name]} and {value}); a row has "
                f"one level per column: give {name} once, and sample each level into its own output",
                param_hint="--where",
            )
        conditions[name] = level
    return conditions


def _training_rows(fitted: AutoencoderModel, training: Path) -> pl.DataFrame:
    """The feature columns of the ``--compare-to`` data, validated against the model's schema."""
    from aefeatures.io.sources import read_frame

    return fitted.validated_features(read_frame(training))


def _privacy(fitted: AutoencoderModel, output: Path, real: pl.DataFrame, seed: int) -> dict[str, object]:
    import polars as pl

    from aefeatures.model.privacy import MAX_SYNTHETIC_ROWS, closest_rows

    rows = pl.scan_parquet(output).head(MAX_SYNTHETIC_ROWS).collect()  # rows are drawn independently
    return closest_rows(fitted.preprocessor, rows, real, seed=seed)


def _privacy_text(privacy: dict[str, object] | None) -> str:
    if privacy is None:
        return " (give --compare-to TRAINING_DATA to check how close they come to it)"
    return (
        f"; closest training row: median distance {privacy['median_distance']:.3g} "
        f"(between training rows: {privacy['median_distance_between_training_rows']:.3g}), "
        f"exact copies {100 * float(privacy['exact_copy_share']):.1f}% of {privacy['rows_checked']} rows checked"  # type: ignore[arg-type]
    )
