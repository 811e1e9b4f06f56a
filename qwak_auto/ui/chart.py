"""Inline SVG charts: a gated metric across builds against its threshold, and sparklines.

The metric chart has a value axis (ticks and grid lines), a time axis (dates in the
automation's zone), the metric's line with a dot per build (filled: deployed) and the
threshold drawn across the whole plot: a static threshold is one horizontal line, a SQL
threshold a step line through the value each build was judged against. A single build still
gets its threshold line (issue 18).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from html import escape

from qwak_auto.ui.data import MetricSeries
from qwak_auto.ui.timefmt import local

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 96, 16, 44  # room for the value labels, threshold label, dates
THRESHOLD_COLOUR = "#d2452d"
METRIC_COLOUR = "#2f6fdb"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round values covering [low, high] (1, 2, 2.5, 5 × a power of ten)."""
    span = high - low
    if span <= 0:
        return [low]
    raw = span / max(1, count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    ticks = [round(math.floor(low / step) * step, 12)]
    while ticks[-1] < high - step * 1e-9:  # the last tick covers the highest value
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def _label(value: float) -> str:
    return f"{value:.4g}"


def _date_labels(times: Sequence[float], zone: str) -> list[str]:
    """Day labels, with the time of day where two would read the same."""
    days = [local(datetime.fromtimestamp(x, tz=UTC), zone, "%d %b") for x in times]
    if len(set(days)) == len(days):
        return days
    return [local(datetime.fromtimestamp(x, tz=UTC), zone, "%d %b %H:%M") for x in times]


def svg(series: MetricSeries, zone: str = "UTC") -> str:
    points = series.points
    if not points:
        return '<p class="empty">no builds with this metric yet</p>'
    thresholds = [p.threshold for p in points if p.threshold is not None]
    if series.static_threshold is not None:
        thresholds.append(series.static_threshold)
    values = [p.value for p in points] + thresholds
    # A margin, so that no value or threshold lies on the frame of the plot.
    margin = (max(values) - min(values)) * 0.08 or abs(max(values)) * 0.05 or 0.5
    ticks = nice_ticks(min(values) - margin, max(values) + margin)
    low, high = ticks[0], ticks[-1]
    if high == low:
        low, high = low - 0.5, high + 0.5
        ticks = [low, (low + high) / 2, high]
    times = [p.at.timestamp() for p in points]
    start, end = min(times), max(times)
    if end == start:
        start, end = start - 3600, end + 3600  # one build: in the middle
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + plot_w * (t - start) / (end - start)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - (v - low) / (high - low))

    parts = [
        f'<svg class="chart" role="img" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-label="{escape(series.metric)} per build">'
    ]
    parts += _value_axis(ticks, y, plot_w, series.metric)
    parts += _time_axis(times, start, end, x, zone)
    parts += _threshold(series, x, y)
    line = " ".join(f"{x(t):.1f},{y(p.value):.1f}" for t, p in zip(times, points, strict=True))
    parts.append(f'<polyline class="metric" points="{line}" />')
    for t, p in zip(times, points, strict=True):
        title = f"{p.build_id} ({local(p.at, zone)}): {series.metric} = {p.value:.4g}"
        if p.threshold is not None:
            title += f", threshold {p.threshold:.4g}"
        cls = "deployed" if p.deployed else "build"
        parts.append(
            f'<a href="/builds/{escape(p.build_id)}"><circle class="{cls}" cx="{x(t):.1f}" '
            f'cy="{y(p.value):.1f}" r="5"><title>{escape(title)}</title></circle></a>'
        )
    parts.append("</svg>")
    return "".join(parts)


Scale = Callable[[float], float]


def _value_axis(ticks: Sequence[float], y: Scale, plot_w: float, metric: str) -> list[str]:
    out = [f'<g class="axis y-axis" aria-label="{escape(metric)}">']
    for tick in ticks:
        at = y(tick)
        out.append(
            f'<line class="grid" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{at:.1f}" y2="{at:.1f}" />'
            f'<text class="tick" x="{LEFT - 6}" y="{at + 4:.1f}" text-anchor="end">'
            f"{_label(tick)}</text>"
        )
    out.append(
        f'<line class="axis-line" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" />'
        f'<text class="axis-title" transform="translate(14,{TOP + (HEIGHT - TOP - BOTTOM) / 2})'
        f' rotate(-90)" text-anchor="middle">{escape(metric)}</text></g>'
    )
    return out


def _time_axis(times: Sequence[float], start: float, end: float, x: Scale, zone: str) -> list[str]:
    """Ticks at the builds (up to six), else at five even times; labels never overlap."""
    base = HEIGHT - BOTTOM
    out = [
        '<g class="axis x-axis">',
        f'<line class="axis-line" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}" />',
    ]
    marks = (
        sorted(set(times))
        if len(set(times)) <= 6
        else [start + (end - start) * i / 4 for i in range(5)]
    )
    last = -math.inf
    for mark, text in zip(marks, _date_labels(marks, zone), strict=True):
        at = x(mark)
        if at - last < 8 * len(text):  # would run into the previous label
            continue
        last = at
        out.append(
            f'<line class="tick-mark" x1="{at:.1f}" x2="{at:.1f}" y1="{base}" y2="{base + 5}" />'
            f'<text class="tick date" x="{at:.1f}" y="{base + 18}" text-anchor="middle">'
            f"{escape(text)}</text>"
        )
    out.append(
        f'<text class="axis-title" x="{LEFT + (WIDTH - LEFT - RIGHT) / 2}" y="{HEIGHT - 6}" '
        f'text-anchor="middle">build finished ({escape(zone)})</text></g>'
    )
    return out


def _threshold(series: MetricSeries, x: Scale, y: Scale) -> list[str]:
    per_build = [(p.at.timestamp(), p.threshold) for p in series.points if p.threshold is not None]
    if not per_build and series.static_threshold is None:
        return []
    if series.static_threshold is not None and all(
        t == series.static_threshold for _, t in per_build
    ):
        level = series.static_threshold
        at = y(level)
        path = f"{LEFT},{at:.1f} {WIDTH - RIGHT},{at:.1f}"
        label_y = at
    else:
        # A step line: each build's threshold holds until the next build, edge to edge.
        steps: list[tuple[float, float]] = [(LEFT, y(per_build[0][1]))]
        for (t, value), nxt in zip(per_build, [*per_build[1:], None], strict=True):
            steps.append((x(t), y(value)))
            if nxt is not None:
                steps.append((x(nxt[0]), y(value)))
        steps.append((WIDTH - RIGHT, y(per_build[-1][1])))
        path = " ".join(f"{a:.1f},{b:.1f}" for a, b in steps)
        level, label_y = per_build[-1][1], steps[-1][1]
    return [
        f'<polyline class="threshold" points="{path}" />',
        f'<text class="threshold-label" x="{WIDTH - RIGHT + 6}" y="{label_y + 4:.1f}">'
        f"threshold {_label(level)}</text>",
    ]


def sparkline(values: Sequence[int], width: int = 120, height: int = 28) -> str:
    """Requests per minute over the last hour, oldest first, as a small line."""
    top = max(values, default=0) or 1
    step = width / max(1, len(values) - 1)
    points = " ".join(
        f"{i * step:.1f},{height - 2 - (height - 4) * v / top:.1f}" for i, v in enumerate(values)
    )
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="requests per minute, last hour">'
        f'<polyline points="{points}" /></svg>'
    )
