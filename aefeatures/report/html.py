"""``report.html``: a self-contained page describing a fitted model.

Rendered from a model's manifest and schema text alone (the training-row summaries that
:mod:`aefeatures.model.summary` stores at fit included); the page is plain HTML with inline CSS
and SVG: no script, no font, no file or network fetch. :func:`aefeatures.model.files.write_report`
writes it into a model directory.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from aefeatures.report.drift import drift_section
from aefeatures.report.svgplot import bar_chart, histogram, line_chart, scatter

REPORT = "report.html"
SHOWN_FEATURES = 40
MISSING = (
    "<p class='note'>Not stored in this model directory (it was fitted by an older aefeatures); "
    "re-fit to see it.</p>"
)
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;max-width:1000px;margin:24px auto;padding:0 16px;color:#222}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f5}svg.plot{width:100%;height:auto;font:11px system-ui,sans-serif;fill:#333}
pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:12px}.note{color:#666}
"""


def render_report(manifest: dict[str, Any], schema_yaml: str) -> str:
    """The HTML page of a model, from its manifest and schema text alone."""
    summary = manifest.get("report") or {}
    history = manifest.get("history", {})
    threshold = float(manifest["calibration"]["threshold"])
    sections = [
        ("Summary", _table(_overview(manifest))),
        ("Training and validation loss", _loss_plot(history)),
        ("Reconstruction error of the training rows", _error_plot(summary.get("error_histogram"), threshold)),
        ("Most outlying training rows", _outlying_rows(summary.get("outlying_rows"))),
        ("Error per feature", _feature_plot(summary.get("feature_errors"))),
        ("Embeddings", _embedding_plot(summary.get("projection"))),
        ("Training distributions that drift is tested against", drift_section(manifest)),
        ("Schema", _schema_section(manifest, schema_yaml)),
        (
            "Configuration",
            _table(
                {**manifest.get("config", {}), **{f"net.{k}": v for k, v in manifest.get("net", {}).items()}}
            ),
        ),
        ("Versions", _table(manifest.get("versions", {}))),
    ]
    rows = manifest.get("fingerprint", {}).get("rows", "?")
    title = f"aefeatures model: {manifest['config']['kind']}, {rows} rows"
    body = "\n".join(f"<section><h2>{escape(name)}</h2>\n{html}</section>" for name, html in sections)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head>\n<body><h1>{escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def _overview(manifest: dict[str, Any]) -> dict[str, Any]:
    history, net, config = manifest.get("history", {}), manifest.get("net", {}), manifest["config"]
    epochs = history.get("epochs", [])
    final = epochs[-1] if epochs else {}
    return {
        "goal": config.get("goal", "outliers"),  # models written before goals were trained for outliers
        "kind": config["kind"],
        "created": manifest.get("created"),
        "training rows": manifest.get("fingerprint", {}).get("rows"),
        "feature columns": len(manifest.get("preprocessing", {}).get("columns", [])),
        "network": f"{net.get('n_inputs')} inputs -> hidden {net.get('hidden')} "
        f"-> latent {net.get('latent_dim')}",
        "epochs run": f"{len(epochs)} of at most {history.get('epoch_budget') or len(epochs)} "
        f"({history.get('stopped_because')}), best epoch {history.get('best_epoch')}"
        + _kept_start_text(history),
        "converged": _converged_text(history),
        "final losses": ", ".join(f"{k} {v:.4g}" for k, v in final.items() if k.endswith("_loss")),
        "training time": f"{history.get('seconds', 0.0):.1f} s on {history.get('device')}, "
        f"batch size {history.get('batch_size')}",
        "outlier threshold (ae_error)": f"{manifest['calibration']['threshold']:.3g} "
        f"(contamination {config.get('contamination')})",
        "mean ae_error of the validation rows": _validation_text(manifest.get("report") or {}),
    }


def _kept_start_text(history: dict[str, Any]) -> str:
    """What best epoch 0 means, when training kept its closed-form start (PCA's, a Gaussian's)."""
    start = history.get("start_loss")
    return "" if start is None else f" (the start, kept: no epoch beat its validation loss {start:.4g})"


def _validation_text(summary: dict[str, Any]) -> str:
    validation = summary.get("validation") or {}
    if validation.get("rows") == 0:
        return (
            "no validation rows (validation_fraction is 0, as --goal imputation sets it, or the table "
            "has under 20 rows; early stopping watched the training loss)"
        )
    if validation.get("mean_ae_error") is None:
        return "not stored (fitted by an older aefeatures); re-fit to see it"
    return f"{validation['mean_ae_error']:.3g} over {validation['rows']:,} rows the model did not train on"


# Why training stopped, when a limit ended it rather than the stopping rule.
_LIMITS = {
    "max_epochs": "the epochs given (--epochs)",
    "step_budget": "the step budget (--set steps=N)",
    "time_budget": "the time budget (max_seconds)",
    "paused": "a pause",
}


LIMIT_ADVICE = {
    True: ", the loss was still falling: a larger limit (--epochs, --set steps=N) may help",
    False: ", but the loss had flattened: a larger limit would change little",
}
"""What a fit that a limit ended says (here and in ``fit``'s summary), by whether its loss was still falling."""


def _converged_text(history: dict[str, Any]) -> str:
    because = history.get("stopped_because")
    if history.get("converged") is None:  # a model written before convergence was recorded
        return "not recorded"
    if because == "early_stopping":
        return "yes: early stopping ended training"
    if because == "closed_form":
        return "yes: solved in closed form"
    limit = _LIMITS.get(str(because), str(because))
    moving = LIMIT_ADVICE.get(history.get("still_improving"), "")  # type: ignore[arg-type]
    return f"no: {limit} ended training before early stopping did{moving}"


def _loss_plot(history: dict[str, Any]) -> str:
    epochs = history.get("epochs", [])
    if not epochs:
        return MISSING
    series = {
        label: ([e["epoch"] for e in epochs if key in e], [e[key] for e in epochs if key in e])
        for key, label in (("train_loss", "training rows"), ("valid_loss", "validation rows"))
        if any(key in e for e in epochs)
    }
    losses = [v for _, ys in series.values() for v in ys]
    log_y = min(losses) > 0 and max(losses) / min(losses) > 20
    best = history.get("best_epoch")
    plot = line_chart(
        series,
        title="training and validation loss per epoch",
        x_label="epoch",
        y_label="loss (log scale)" if log_y else "loss",
        log_y=log_y,
        marker=(float(best), f"best epoch {best}") if best else None,
    )
    return (
        plot + "<p class='note'>Mean reconstruction loss per row; "
        "the weights of the best validation epoch are kept.</p>"
    )


def _error_plot(summary: dict[str, Any] | None, threshold: float) -> str:
    if not summary:
        return MISSING
    plot = histogram(
        summary["edges"],
        summary["counts"],
        title="histogram of ae_error",
        x_label="ae_error",
        threshold=threshold,
    )
    folded = summary.get("above_range", 0)
    note = f" The last bar also holds the {folded} rows with larger errors." if folded else ""
    return (
        plot
        + f"<p class='note'>Rows right of the red line get <code>ae_outlier = true</code>.{escape(note)}</p>"
    )


def _feature_plot(errors: dict[str, float] | None) -> str:
    if not errors:
        return MISSING
    ranked = sorted(errors.items(), key=lambda item: -item[1])
    shown = ranked[:SHOWN_FEATURES]
    plot = bar_chart(
        [n for n, _ in shown],
        [v for _, v in shown],
        title="mean error per feature",
        x_label="mean ae_error__<column>",
    )
    more = (
        f" The {len(ranked) - len(shown)} other features have smaller errors."
        if len(ranked) > len(shown)
        else ""
    )
    return (
        plot + "<p class='note'>Mean of each column's error over the training rows: "
        f"the columns the model finds hardest.{escape(more)}</p>"
    )


def _embedding_plot(projection: dict[str, Any] | None) -> str:
    if not projection:
        return MISSING
    plot = scatter(
        projection["x"],
        projection["y"],
        projection["flagged"],
        title="embeddings of a sample of training rows",
        x_label=projection["x_label"],
        y_label=projection["y_label"],
    )
    return (
        plot + f"<p class='note'>{len(projection['x'])} training rows; "
        "principal components of their ae_z* codes.</p>"
    )


def _schema_section(manifest: dict[str, Any], schema_yaml: str) -> str:
    rows = "".join(
        f"<tr><td>{escape(c['name'])}</td><td>{escape(c['kind'])}</td><td>{escape(str(c.get('dtype')))}</td>"
        f"<td>{'yes' if c.get('has_missing') else 'no'}</td>"
        f"<td>{len(c.get('levels') or []) if c['kind'] == 'categorical' else ''}</td></tr>"
        for c in manifest.get("preprocessing", {}).get("columns", [])
    )
    head = "".join(
        f"<th>{name}</th>" for name in ("column", "kind", "dtype", "missing values", "kept levels")
    )
    table = f"<table><tr>{head}</tr>{rows}</table>"
    return (
        table + f"<details><summary>schema.yaml (pandera)</summary><pre>{escape(schema_yaml)}</pre></details>"
    )


def _outlying_rows(rows: list[dict[str, Any]] | None) -> str:
    """The training rows with the largest ``ae_error``, each with its worst columns."""
    if not rows:
        return MISSING
    head = "<tr><th>row</th><th>ae_error</th><th>column</th><th>value</th><th>expected</th><th>column error</th></tr>"
    body = []
    for row in rows:
        for i, cell in enumerate(row["columns"]):
            first = (
                f"<td rowspan='{len(row['columns'])}'>{row['row']}</td><td rowspan='{len(row['columns'])}'>{row['error']:.4g}</td>"
                if i == 0
                else ""
            )
            shown = ["missing" if cell[k] is None else cell[k] for k in ("value", "expected")]
            body.append(
                f"<tr>{first}<td>{escape(cell['column'])}</td><td>{escape(shown[0])}</td>"
                f"<td>{escape(shown[1])}</td><td>{cell['error']:.4g}</td></tr>"
            )
    return (
        f"<table>{head}{''.join(body)}</table><p class='note'>The training rows the model finds most "
        "unusual (row numbers of the training data) and, for each, the columns that make it so: the value, "
        "what the model expected there, and that column's error (transform --expected appends the same "
        "for any row).</p>"
    )


def _table(values: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{escape(str(k))}</th><td>{escape(_text(v))}</td></tr>" for k, v in values.items()
    )
    return f"<table>{rows}</table>"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)
