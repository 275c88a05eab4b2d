"""The report's drift section: what new data is compared with, column by column.

Drawn from the statistics fit stores under ``"drift"`` in the manifest
(:mod:`aefeatures.schema.drift`): each numeric or datetime column's training distribution over
its quantile bins (as a density: equal shares of the rows over bins of different widths), each
categorical or boolean column's share of every level, and the validation rows' ``ae_error``
that a batch's errors are compared with.
"""

from __future__ import annotations

from html import escape
from typing import Any

from aefeatures.report.svgplot import bar_chart, histogram

SHOWN_COLUMNS = 40
OLDER = (
    "<p class='note'>This model stores only missing rates and ranges (it was fitted by an older "
    "aefeatures): drift is checked against a fixed tolerance. Re-fit to get the statistical tests "
    "and to see the distributions here.</p>"
)
INTRO = (
    "<p class='note'>validate and transform test new data against these training distributions "
    "(missing values, the distribution of each column, and ae_error for the rows as a whole), with "
    "tests sized by the batch: see docs/schemas-and-drift.md.</p>"
)


def drift_section(manifest: dict[str, Any]) -> str:
    """The section's HTML: a table of the stored statistics, then one chart per column."""
    drift = manifest.get("drift") or {}
    if "rows" not in drift:
        return OLDER
    stats = drift.get("columns", {})
    columns = [c for c in manifest.get("preprocessing", {}).get("columns", []) if c["name"] in stats]
    head = "<tr><th>column</th><th>kind</th><th>missing</th><th>range</th><th>bins or levels</th></tr>"
    rows = "".join(_row(column, stats[column["name"]]) for column in columns)
    charts = [_chart(column, stats[column["name"]]) for column in columns[:SHOWN_COLUMNS]]
    more = (
        f"<p class='note'>Charts of the first {SHOWN_COLUMNS} of {len(columns)} columns.</p>"
        if len(columns) > SHOWN_COLUMNS
        else ""
    )
    errors = drift.get("errors")
    error_chart = (
        _density(
            errors, "ae_error of the validation rows (what a batch's errors are compared with)", "ae_error"
        )
        if errors
        else "<p class='note'>Too few validation rows at fit to test ae_error of new rows.</p>"
    )
    table = f"<p>Statistics of {drift['rows']} training rows.</p><table>{head}{rows}</table>"
    return INTRO + table + error_chart + "".join(c for c in charts if c) + more


def _row(column: dict[str, Any], stats: dict[str, Any]) -> str:
    low, high = stats.get("low"), stats.get("high")
    shown = f"{low:.6g} to {high:.6g}" if low is not None and high is not None else ""
    counts = stats.get("counts") or []
    return (
        f"<tr><td>{escape(column['name'])}</td><td>{escape(column['kind'])}</td>"
        f"<td>{float(stats['missing_rate']):.1%}</td><td>{escape(shown)}</td><td>{len(counts)}</td></tr>"
    )


def _chart(column: dict[str, Any], stats: dict[str, Any]) -> str:
    counts = stats.get("counts") or []
    total = sum(counts)
    if not total:
        return ""
    name = column["name"]
    if stats.get("low") is not None:
        unit = " (seconds since 1970)" if column["kind"] == "datetime" else ""
        return _density(stats, f"{name}: training distribution{unit}", f"{name}{unit}")
    labels = _labels(column)
    if len(labels) != len(counts):
        return ""
    shares = [count / total for count in counts]
    return bar_chart(
        labels, shares, title=f"{name}: training share of each level", x_label="share", name="drift"
    )


def _density(stats: dict[str, Any], title: str, x_label: str) -> str:
    """Bars over the quantile bins (the minimum and maximum close the outer ones), area = share."""
    counts = stats["counts"]
    inner = list(stats["edges"])
    low = stats.get("low", inner[0] if inner else 0.0)
    high = stats.get("high", inner[-1] if inner else 1.0)
    edges = [low, *inner, high]
    total = float(sum(counts))
    density = [
        count / total / (right - left) if right > left else 0.0
        for left, right, count in zip(edges[:-1], edges[1:], counts, strict=True)
    ]
    return histogram(edges, density, title=title, x_label=x_label, y_label="density", name="drift")


def _labels(column: dict[str, Any]) -> list[str]:
    if column["kind"] == "boolean":
        return ["false", "true"]
    return [*(column.get("levels") or []), "(rare)", "(unseen)"]
