"""``compare``'s table as text: what ranks it, the runs, the baselines, why the winner won and how
to train it.

Figures are rounded to what they can tell: losses and errors to 3 significant digits, ROC-AUC and
average precision to 3 decimals, seconds to 0.1 (the JSON keeps full precision).
"""

from __future__ import annotations

import json
import math
import shlex
from typing import Any

from aefeatures.explore.ranking import LOSS_MEASURES, TINY_LOSS
from aefeatures.explore.results import FAILED, FINISHED, PRUNED, Comparison, Run

# Settings ``aefeatures fit`` has an option for; every other setting goes through ``--set``.
FIT_OPTIONS = (
    "goal", "kind", "latent_dim", "hidden", "epochs", "batch_size", "seed", "contamination",
    "columns", "exclude", "prefix", "device", "threads", "schema",
)  # fmt: skip
# Differences below these are within what one split can tell: the text calls them a tie.
CLOSE_LOSS = 0.01  # relative
CLOSE_SCORE = 0.005  # absolute, for ROC-AUC and average precision
HEADER = (
    "rank", "kind", "latent", "hidden", "valid_loss", "robust_loss", "vs_pca", "ae_error",
    "roc_auc", "avg_prec", "epochs", "stopped", "seconds",
)  # fmt: skip


def compare_text(comparison: Comparison, data: str | None = None) -> str:
    """The ranked table as aligned plain text: what ranks it first, then the runs, the baselines,
    why the winner won and (with ``data``, the path compare read) the command that trains it."""
    c = comparison
    lines = [
        c.ranking,
        f"{c.rows:,} rows ({c.train_rows:,} train / {c.valid_rows:,} validation), {len(c.columns)} "
        f"columns; networks trained for {c.goal} (--goal)",
        *(f"warning: {text}" for text in c.warnings),
        *_table([list(HEADER), *(_row(run) for run in c.runs)]),
        *_notes(c),
        *_baseline_lines(c),
        *_closing(c, data),
        f"({c.seconds:.1f}s in all)",
    ]
    return "\n".join(lines)


def progress_line(run: Run) -> str:
    """One line per run as it ends, rounded like the table."""
    if run.status == FAILED:
        return f"  {run.kind} latent {run.latent_dim}: failed: {run.why}"
    measured = f"valid_loss {_number(run.valid_loss)}, ae_error {_number(run.ae_error)}"
    state = run.status if run.status != FINISHED else run.stopped_because
    return f"  {run.kind} latent {run.latent_dim}: {state}, {measured}, {run.seconds:.1f}s"


def fit_command(data: str, settings: dict[str, Any]) -> str:
    """The ``aefeatures fit`` command line of :attr:`Comparison.fit_settings`, quoted for a shell.

    >>> fit_command("my data.parquet", {"kind": "deep", "latent_dim": 4, "exclude": ["id", "label"], "trim": 0.1})
    "aefeatures fit 'my data.parquet' --kind deep --latent-dim 4 --exclude id,label --set trim=0.1"
    """
    words = ["aefeatures", "fit", data]
    for name in FIT_OPTIONS:
        if settings.get(name) is not None:
            words += [f"--{name.replace('_', '-')}", _option_value(name, settings[name])]
    for name, value in settings.items():
        if name not in FIT_OPTIONS and value is not None:
            words += ["--set", f"{name}={json.dumps(value) if not isinstance(value, str) else value}"]
    return " ".join(shlex.quote(str(word)) for word in words)


def _option_value(name: str, value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) if value or name != "hidden" else "none"
    return str(value)


def _row(run: Run) -> list[str]:
    return [
        str(run.rank) if run.rank is not None else "-",
        run.kind,
        str(run.latent_dim),
        ",".join(map(str, run.hidden)) or "-",
        _number(run.valid_loss),
        _number(run.robust_loss),
        _number(run.vs_pca, ".2f"),
        _number(run.ae_error),
        _number(run.roc_auc, ".3f"),
        _number(run.average_precision, ".3f"),
        f"{run.epochs}/{run.epoch_budget}" if run.epochs else "-",
        _stopped(run),
        f"{run.seconds:.1f}",
    ]


def _stopped(run: Run) -> str:
    if run.status == FINISHED:
        return run.stopped_because + ("" if run.converged or run.converged is None else " (not converged)")
    if run.status == PRUNED:
        return "pruned" if run.why.startswith("paused") else "pruned: out of time"
    return f"{run.status} (see below)" if run.status == FAILED else "skipped: time budget"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def _notes(c: Comparison) -> list[str]:
    notes = []
    pruned = [run for run in c.runs if run.status == PRUNED]
    if pruned:
        notes.append(
            f"pruned: {len(pruned)} run(s) stopped before their budget (epochs shows how far); "
            "their numbers are those of a shorter run, so they are listed, not ranked"
        )
    notes += [
        f"failed: {run.kind} at latent {run.latent_dim}: {run.why}" for run in c.runs if run.status == FAILED
    ]
    tiny = sorted({run.latent_dim for run in c.runs if run.kind == "pca" and _tiny(run.valid_loss)})
    if tiny:
        notes.append(
            f"vs_pca: not given at latent {', '.join(map(str, tiny))}, where PCA reconstructs within "
            f"{TINY_LOSS} (nearly perfectly): a ratio of two such losses tells nothing"
        )
    return notes


def _baseline_lines(c: Comparison) -> list[str]:
    lines = []
    for baseline in c.baselines:
        if baseline.note:
            lines.append(f"baseline {baseline.name}: not scored: {baseline.note}")
        else:
            lines.append(
                f"baseline {baseline.name} (same rows and label): roc_auc {_number(baseline.roc_auc, '.3f')}, "
                f"avg_prec {_number(baseline.average_precision, '.3f')}, {baseline.seconds:.1f}s"
            )
    return lines


def _closing(c: Comparison, data: str | None) -> list[str]:
    """Why the winner won, whether a baseline beats it, and the command that trains it."""
    best = c.best
    if best is None:
        return ["no candidate finished: nothing is ranked or kept (see the failures above)"]
    finished = [run for run in c.runs if run.status == FINISHED]
    lines = [f"best: {best.kind} at latent {best.latent_dim}: {_why_best(best, finished, c.rank_by)}"]
    if best.status == FINISHED and best.converged is False:
        lines.append(
            f"  its training stopped at {best.stopped_because} before it converged: "
            "raise --max-seconds or --epochs for a fairer ranking"
        )
    lines += _baseline_verdicts(c, best)
    if c.kept:
        lines.append(f"saved to {c.kept}")
    if data is not None:
        lines.append(f"train it: {fit_command(data, c.fit_settings)}")
    return lines


def _why_best(best: Run, finished: list[Run], rank_by: str) -> str:
    value = getattr(best, rank_by)
    shown = _number(value, ".3f" if rank_by not in LOSS_MEASURES else ".3g")
    others = [run for run in finished if run is not best]
    if not others:
        return f"the only finished candidate ({rank_by} {shown})"
    runner = others[0]
    other = getattr(runner, rank_by)
    text = (
        f"the {'lowest' if rank_by in LOSS_MEASURES else 'highest'} {rank_by} of {len(finished)} "
        f"finished candidates, {shown} against {_number(other, '.3f' if rank_by not in LOSS_MEASURES else '.3g')} "
        f"for {runner.kind} at latent {runner.latent_dim}"
    )
    if value is not None and other is not None and _close(value, other, rank_by):
        text += " (within what one validation split can tell: treat them as tied)"
    if best.kind != "pca" and best.vs_pca is not None:
        text += f"; {best.vs_pca:.2f}x PCA's valid_loss at the same size"
    elif best.kind == "pca":
        text += "; no network beat the linear baseline here"
    return text


def _baseline_verdicts(c: Comparison, best: Run) -> list[str]:
    if best.roc_auc is None:
        return []
    lines = []
    for baseline in c.baselines:
        if baseline.roc_auc is None:
            continue
        if baseline.roc_auc > best.roc_auc + CLOSE_SCORE:
            lines.append(
                f"  {baseline.name} ranks the labelled rows better (roc_auc {baseline.roc_auc:.3f} against "
                f"{best.roc_auc:.3f}): on this data an autoencoder's ae_error is not worth it for detection"
            )
        else:
            lines.append(
                f"  it ranks the labelled rows at least as well as {baseline.name} ({baseline.roc_auc:.3f})"
            )
    return lines


def _close(a: float, b: float, rank_by: str) -> bool:
    if rank_by in LOSS_MEASURES:
        return abs(a - b) <= CLOSE_LOSS * max(abs(a), abs(b), 1e-12)
    return abs(a - b) <= CLOSE_SCORE


def _tiny(value: float | None) -> bool:
    return value is not None and value < TINY_LOSS


def _number(value: float | None, spec: str = ".3g") -> str:
    return "-" if value is None or not math.isfinite(value) else format(value, spec)
