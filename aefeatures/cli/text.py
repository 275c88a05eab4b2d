"""Human-readable summaries printed when ``--json`` is not given."""

from __future__ import annotations

import json
from typing import Any

from aefeatures.report.html import LIMIT_ADVICE


def fit_text(summary: dict[str, Any]) -> str:
    """Summary of a fitted model."""
    training = summary["training"]
    return (
        f"model written to {summary['model']}\n"
        f"  goal {summary['goal']}, kind {summary['kind']}, {len(summary['columns'])} columns -> {summary['n_inputs']} inputs -> latent {summary['latent_dim']} (hidden {summary['hidden']})\n"
        f"  {training['rows']} rows, {training['epochs_run']} epochs ({training['stopped_because']}"
        f"{'' if training['converged'] else ': not converged' + LIMIT_ADVICE.get(training['still_improving'], '')}"
        f"), best epoch {training['best_epoch']}, "
        f"{training['seconds']:.1f}s\n"
        f"  {validation_line(summary.get('validation') or {})}\n"
        f"  outlier threshold {summary['threshold']:.3g} (ae_error; contamination {summary['contamination']})"
    )


def info_text(description: dict[str, Any]) -> str:
    """Summary of ``aefeatures info``."""
    columns = ", ".join(f"{c['name']} ({c['kind']})" for c in description["columns"])
    checks = sum(len(c["checks"]) for c in description["schema"].values())
    segments = description.get("segments")
    epochs = len(description["history"].get("epochs", []))
    return "\n".join(
        [
            f"goal: {description['goal']}  kind: {description['kind']}  latent: {description['latent_dim']}  hidden: {description['hidden']}",
            f"columns: {columns}",
            f"schema: {len(description['schema'])} columns' types and missing values checked, {checks} value checks",
            f"threshold: {description['threshold']:.3g} (ae_error)  seed: {description['seed']}",
            *([] if segments is None else [segments_line(segments)]),
            validation_line(description.get("validation") or {}),
            f"training: {json.dumps(rounded(description['training']), default=str)}",
            f"history: {epochs} epochs (--json: history.epochs, each epoch's losses and penalties)",
            f"versions: {json.dumps(description['versions'])}",
        ]
    )


def segments_line(segments: dict[str, Any], shown: int = 5) -> str:
    """``segments by COLUMN: A 1.2, B 3.4 ...``: each segment's threshold, the small ones named.

    >>> segments_line({"column": "shop", "thresholds": {"a": 1.23456, "b": 2.0}, "too_small": ["c"]})
    'segments by shop: thresholds a 1.23, b 2 (too few rows, global threshold: c)'
    """
    items = list(segments["thresholds"].items())
    text = ", ".join(f"{value} {threshold:.3g}" for value, threshold in items[:shown])
    more = f" and {len(items) - shown} more (--json lists them)" if len(items) > shown else ""
    small = segments["too_small"]
    return f"segments by {segments['column']}: thresholds {text}{more}" + (
        f" (too few rows, global threshold: {', '.join(map(str, small))})" if small else ""
    )


def rounded(value: Any, digits: int = 4) -> Any:
    """``value`` with every float inside it rounded to ``digits`` significant digits, for display.

    >>> rounded({"final": {"valid_loss": 0.07213456789, "epoch": 3.0}, "rows": 600})
    {'final': {'valid_loss': 0.07213, 'epoch': 3.0}, 'rows': 600}
    """
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item, digits) for item in value]
    return value


def validation_line(validation: dict[str, Any]) -> str:
    """The validation rows' mean ``ae_error`` and loss, as ``info`` prints them."""
    loss = validation.get("valid_loss")
    loss_text = f"; valid_loss {loss:.3g}" if loss is not None else ""
    if validation.get("rows") == 0:
        return (
            "validation: none (no rows held out: validation_fraction is 0, as --goal imputation sets it, "
            "or the table has under 20 rows; early stopping watches the training loss)"
        )
    if validation.get("mean_ae_error") is None:
        return f"validation: mean ae_error not stored (fitted by an older aefeatures: re-fit to see it){loss_text}"
    return (
        f"validation: mean ae_error {validation['mean_ae_error']:.3g} over {validation['rows']:,} rows "
        f"the model did not train on{loss_text} (docs/features.md#what-ae_error-means)"
    )


def demo_text(result: dict[str, Any]) -> str:
    """Where the demo wrote its files and how well it found the planted anomalies."""
    return (
        f"demo data:   {result['data']} ({result['rows']} rows, {result['anomalies']} planted anomalies)\n"
        f"model:       {result['model']}\n"
        f"features:    {result['output']}\n"
        f"ae_error finds the planted anomalies with ROC-AUC {result['roc_auc']:.3f}, average precision {result['average_precision']:.3f};\n"
        f"{result['flagged_anomalies']} of the {result['flagged']} rows flagged by ae_outlier are planted anomalies.\n"
        f"report:      {result['report']} (open it in a browser)\n"
        f"next: aefeatures info {result['model']}"
    )
