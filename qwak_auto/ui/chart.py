"""A small inline SVG line chart: a gated metric across builds against its threshold."""

from __future__ import annotations

from html import escape

from qwak_auto.ui.data import MetricSeries

WIDTH, HEIGHT, PAD = 560, 200, 36


def svg(series: MetricSeries) -> str:
    points = series.points
    if not points:
        return '<p class="empty">no builds with this metric yet</p>'
    values = [p.value for p in points] + [p.threshold for p in points if p.threshold is not None]
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 0.5, high + 0.5
    span = high - low

    def x(i: int) -> float:
        return PAD + (WIDTH - 2 * PAD) * (i / max(1, len(points) - 1))

    def y(v: float) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * ((v - low) / span)

    line = " ".join(f"{x(i):.1f},{y(p.value):.1f}" for i, p in enumerate(points))
    parts = [
        f'<svg class="chart" role="img" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-label="{escape(series.metric)} per build">',
        f'<text x="{PAD}" y="16" class="axis">{high:.4g}</text>',
        f'<text x="{PAD}" y="{HEIGHT - 8}" class="axis">{low:.4g}</text>',
    ]
    thresholds = [(i, p.threshold) for i, p in enumerate(points) if p.threshold is not None]
    if thresholds:
        path = " ".join(f"{x(i):.1f},{y(t):.1f}" for i, t in thresholds)
        parts.append(f'<polyline class="threshold" points="{path}" />')
    parts.append(f'<polyline class="metric" points="{line}" />')
    for i, p in enumerate(points):
        cls = "deployed" if p.deployed else "build"
        title = f"{p.build_id}: {series.metric}={p.value:.4g}"
        if p.threshold is not None:
            title += f" (threshold {p.threshold:.4g})"
        parts.append(
            f'<circle class="{cls}" cx="{x(i):.1f}" cy="{y(p.value):.1f}" r="4">'
            f"<title>{escape(title)}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)
