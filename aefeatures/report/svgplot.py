"""Small inline-SVG charts for the HTML report: no JavaScript, no fonts or files to fetch.

Each function returns one ``<svg>`` element as text, sized by ``viewBox`` so it scales with
the page. Values are numbers already summarised by :mod:`aefeatures.report.html`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 36, 46
PAD = 0.04  # share of the range added on each side so points and lines stay inside the axes
BLUE, ORANGE, RED, GREY = "#1f77b4", "#ff7f0e", "#d62728", "#888888"


@dataclass(frozen=True)
class Scale:
    """Maps data values in ``[lo, hi]`` to pixels in ``[start, end]`` (log10 when ``log``)."""

    lo: float
    hi: float
    start: float
    end: float
    log: bool = False

    @classmethod
    def fit(
        cls,
        values: Sequence[float],
        start: float,
        end: float,
        *,
        log: bool = False,
        zero: bool = False,
        pad: bool = False,
    ) -> Scale:
        """A scale covering ``values`` (and 0 when ``zero``), widened by ``PAD`` when ``pad``."""
        finite = [v for v in values if math.isfinite(v) and (v > 0 or not log)] or [1.0]
        lo, hi = min(finite), max(finite)
        if zero and not log:
            lo, hi = min(lo, 0.0), max(hi, 0.0)
        if log:
            lo, hi = math.log10(lo), math.log10(hi)
        if hi - lo < 1e-12:
            lo, hi = lo - 0.5, hi + 0.5
        if pad:
            lo, hi = lo - PAD * (hi - lo), hi + PAD * (hi - lo)
        return cls(lo, hi, start, end, log)

    def __call__(self, value: float) -> float:
        v = math.log10(max(value, 1e-300)) if self.log else value
        return self.start + (v - self.lo) / (self.hi - self.lo) * (self.end - self.start)

    def ticks(self, count: int = 5) -> list[float]:
        """Round tick values inside the scale's range; a log scale gets at least two.

        A log axis spanning less than a decade or two (a loss curve from 0.9 to 0.3) has at most
        one power of ten in it: 2 and 5 times the powers come in, then evenly spaced round values.

        Examples
        --------
        >>> Scale(-2.0, 1.0, 0, 1, log=True).ticks()
        [0.01, 0.1, 1.0, 10.0]
        >>> Scale(math.log10(0.05), math.log10(0.9), 0, 1, log=True).ticks()
        [0.05, 0.1, 0.2, 0.5]
        >>> Scale(math.log10(0.25), math.log10(0.9), 0, 1, log=True).ticks()
        [0.4, 0.6, 0.8]
        """
        if not self.log:
            return _linear_ticks(self.lo, self.hi, count)
        lo, hi = 10**self.lo, 10**self.hi
        decades = range(math.floor(self.lo), math.ceil(self.hi) + 1)
        for mantissas in ((1,), (1, 2, 5)):
            ticks = [float(f"{m * 10.0**e:.12g}") for e in decades for m in mantissas]
            inside = [t for t in ticks if lo <= t <= hi]
            if len(inside) >= 2 + (len(mantissas) == 1):  # three powers of ten, or two of 1-2-5
                return inside
        return _linear_ticks(lo, hi, count)


def _linear_ticks(lo: float, hi: float, count: int) -> list[float]:
    step = _nice_step((hi - lo) / count)
    first = math.ceil(lo / step) * step
    return [float(f"{first + i * step:.12g}") for i in range(int((hi - first) / step + 1e-9) + 1)]


def line_chart(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    log_y: bool = False,
    marker: tuple[float, str] | None = None,
) -> str:
    """Lines of (x, y) series, with a legend and an optional labelled vertical marker."""
    xs = [x for x_values, _ in series.values() for x in x_values]
    ys = [y for _, y_values in series.values() for y in y_values]
    sx = Scale.fit(xs, LEFT, WIDTH - RIGHT)
    sy = Scale.fit(ys, HEIGHT - BOTTOM, TOP, log=log_y, pad=True)
    parts = _axes(sx, sy, x_label, y_label)
    if marker is not None:
        parts.append(_vertical(sx(marker[0]), marker[1], GREY))
    for index, (name, (x_values, y_values)) in enumerate(series.items()):
        colour = (BLUE, ORANGE)[index % 2]
        points = " ".join(f"L{sx(x):.1f} {sy(y):.1f}" for x, y in zip(x_values, y_values, strict=True))
        parts.append(
            f'<path class="series" d="M{points[1:]}" fill="none" stroke="{colour}" stroke-width="2"/>'
        )
        parts.append(_legend(index, name, colour))
    return _svg("loss", title, parts)


def histogram(
    edges: Sequence[float],
    counts: Sequence[float],
    *,
    title: str,
    x_label: str,
    threshold: float | None = None,
    y_label: str = "training rows",
    name: str = "errors",
) -> str:
    """Bars of ``counts`` between consecutive ``edges``, with the threshold as a red line."""
    sx = Scale.fit([*edges, *([threshold] if threshold is not None else [])], LEFT, WIDTH - RIGHT)
    sy = Scale.fit([float(c) for c in counts], HEIGHT - BOTTOM, TOP, zero=True)
    parts = _axes(sx, sy, x_label, y_label)
    for left, right, count in zip(edges[:-1], edges[1:], counts, strict=True):
        if count:
            x0, x1, y = sx(left), sx(right), sy(count)
            parts.append(
                f'<rect class="bar" x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0 - 1, 0.5):.1f}" '
                f'height="{sy(0) - y:.1f}" fill="{BLUE}">'
                f"<title>{_fmt(left)} to {_fmt(right)}: {count}</title></rect>"
            )
    if threshold is not None:
        parts.append(_vertical(sx(threshold), f"threshold {_fmt(threshold)}", RED))
    return _svg(name, title, parts)


def bar_chart(
    labels: Sequence[str], values: Sequence[float], *, title: str, x_label: str, name: str = "features"
) -> str:
    """Horizontal bars, one row per label, longest first as given."""
    row = 18
    height = TOP + BOTTOM + row * max(len(labels), 1)
    left = min(max((len(label) for label in labels), default=4) * 7 + 16, 260)
    sx = Scale.fit(list(values), left, WIDTH - RIGHT - 50, zero=True)
    parts = [_x_axis(sx, height - BOTTOM, TOP, x_label)]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = TOP + i * row
        short = label if len(label) <= 36 else label[:35] + "\u2026"
        parts.append(
            f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{escape(short)}</text>'
            f'<rect class="bar" x="{sx(0):.1f}" y="{y + 3}" '
            f'width="{max(sx(value) - sx(0), 0.5):.1f}" height="{row - 6}" '
            f'fill="{BLUE}"><title>{escape(label)}: {_fmt(value)}</title></rect>'
            f'<text x="{sx(value) + 4:.1f}" y="{y + 13}">{_fmt(value)}</text>'
        )
    return _svg(name, title, parts, height)


def scatter(
    xs: Sequence[float],
    ys: Sequence[float],
    flagged: Sequence[bool],
    *,
    title: str,
    x_label: str,
    y_label: str,
) -> str:
    """Points, with ``flagged`` ones drawn in red on top."""
    sx = Scale.fit(list(xs), LEFT, WIDTH - RIGHT, pad=True)
    sy = Scale.fit(list(ys), HEIGHT - BOTTOM, TOP, pad=True)
    parts = _axes(sx, sy, x_label, y_label)
    points = sorted(zip(flagged, xs, ys, strict=True), key=lambda p: p[0])
    for is_flagged, x, y in points:
        colour, radius = (RED, 3.5) if is_flagged else (BLUE, 2.5)
        parts.append(
            f'<circle class="point" cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="{radius}" '
            f'fill="{colour}" fill-opacity="0.6"/>'
        )
    parts += [_legend(0, "below threshold", BLUE), _legend(1, "above threshold", RED)]
    return _svg("embedding", title, parts)


def _svg(name: str, title: str, parts: list[str], height: int = HEIGHT) -> str:
    body = "\n".join(parts)
    return (
        f'<svg class="plot" data-plot="{name}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>\n{body}\n</svg>"
    )


def _axes(sx: Scale, sy: Scale, x_label: str, y_label: str) -> list[str]:
    bottom, top = sy.start, sy.end
    parts = [_x_axis(sx, bottom, top, x_label)]
    for tick in sy.ticks():
        y = sy(tick)
        parts.append(
            f'<line x1="{sx.start}" x2="{sx.end}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>'
            f'<text x="{sx.start - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(tick)}</text>'
        )
    middle = (top + bottom) / 2
    parts.append(
        f'<text x="14" y="{middle:.1f}" transform="rotate(-90 14 {middle:.1f})" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    parts.append(f'<line x1="{sx.start}" x2="{sx.start}" y1="{top}" y2="{bottom}" stroke="#333"/>')
    return parts


def _x_axis(sx: Scale, bottom: float, top: float, label: str) -> str:
    ticks = "".join(
        f'<line x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="{bottom}" y2="{bottom + 5}" stroke="#333"/>'
        f'<text x="{sx(t):.1f}" y="{bottom + 18}" text-anchor="middle">{_fmt(t)}</text>'
        for t in sx.ticks()
    )
    middle = (sx.start + sx.end) / 2
    return (
        f'<line x1="{sx.start}" x2="{sx.end}" y1="{bottom}" y2="{bottom}" stroke="#333"/>{ticks}'
        f'<text x="{middle:.1f}" y="{bottom + 36}" text-anchor="middle">{escape(label)}</text>'
    )


def _vertical(x: float, label: str, colour: str) -> str:
    side, anchor = (-4, "end") if x > WIDTH * 0.6 else (4, "start")  # keep the label inside the plot
    return (
        f'<line class="marker" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP - 6}" y2="{HEIGHT - BOTTOM}" '
        f'stroke="{colour}" '
        f'stroke-width="2" stroke-dasharray="6 4"/><text x="{x + side:.1f}" y="{TOP - 8}" fill="{colour}" '
        f'text-anchor="{anchor}">{escape(label)}</text>'
    )


def _legend(index: int, name: str, colour: str) -> str:
    x, y = LEFT + 150 * index, 12  # above the plot area, so it never hides data
    return (
        f'<rect x="{x}" y="{y - 8}" width="12" height="8" fill="{colour}"/>'
        f'<text x="{x + 18}" y="{y}">{escape(name)}</text>'
    )


def _nice_step(raw: float) -> float:
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


def _fmt(value: float) -> str:
    return f"{value:.3g}" if value != 0 else "0"
