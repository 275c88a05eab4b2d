"""Human-readable summaries printed when ``--json`` is not given."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aefeatures.explore.compare import Comparison


def fit_text(summary: dict[str, Any]) -> str:
    """Summary of a fitted model."""
    training = summary["training"]
    final = training["final"] or {}
    loss = final.get("valid_loss", final.get("train_loss"))
    return (
        f"model written to {summary['model']}\n"
        f"  goal {summary['goal']}, kind {summary['kind']}, {len(summary['columns'])} columns -> {summary['n_inputs']} inputs -> latent {summary['latent_dim']} (hidden {summary['hidden']})\n"
        f"  {training['rows']} rows, {training['epochs_run']} epochs ({training['stopped_because']}"
        f"{'' if training['converged'] else ': not converged'}), best epoch {training['best_epoch']}, "
        f"loss {loss:.4f}, {training['seconds']:.1f}s\n"
        f"  outlier threshold {summary['threshold']:.4f} (contamination {summary['contamination']})"
    )


def info_text(description: dict[str, Any]) -> str:
    """Summary of ``aefeatures info``."""
    columns = ", ".join(f"{c['name']} ({c['kind']})" for c in description["columns"])
    return "\n".join(
        [
            f"goal: {description['goal']}  kind: {description['kind']}  latent: {description['latent_dim']}  hidden: {description['hidden']}",
            f"columns: {columns}",
            f"threshold: {description['threshold']:.6g}  seed: {description['seed']}",
            f"training: {json.dumps(description['training'], default=str)}",
            f"versions: {json.dumps(description['versions'])}",
        ]
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


def compare_text(comparison: Comparison) -> str:
    """The ranked table as aligned plain text, with a one-line header and footer."""
    header = [
        "rank",
        "kind",
        "latent",
        "hidden",
        "valid_error",
        "robust_error",
        "vs_pca",
        "roc_auc",
        "avg_prec",
        "epochs",
        "stopped",
        "seconds",
    ]
    lines = [header]
    for run in comparison.runs:
        lines.append(
            [
                str(run.rank) if run.rank is not None else "-",
                run.kind,
                str(run.latent_dim),
                ",".join(map(str, run.hidden)) or "-",
                _number(run.valid_error, 4),
                _number(run.robust_error, 4),
                _number(run.vs_pca, 3),
                _number(run.roc_auc, 3),
                _number(run.average_precision, 3),
                str(run.epochs) if run.status == "ok" else "-",
                run.stopped_because if run.status == "ok" else "skipped: time budget",
                f"{run.seconds:.1f}",
            ]
        )
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    text = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in lines]
    c = comparison
    intro = (
        f"{c.rows} rows ({c.train_rows} train / {c.valid_rows} validation), "
        f"{len(c.columns)} columns; networks trained for {c.goal} (--goal), ranked by {c.rank_by}"
    )
    best = c.best
    outro = f"best: {best.kind} at latent {best.latent_dim}" + (f", saved to {c.kept}" if c.kept else "")
    return "\n".join([intro, *text, outro, f"({c.seconds:.1f}s in all)"])


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"
