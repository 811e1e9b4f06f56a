"""qwak_auto/ui/chart.py: axes, dates in the automation's zone, and a threshold line even for
a single build."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from qwak_auto.ui.chart import LEFT, RIGHT, WIDTH, nice_ticks, svg
from qwak_auto.ui.data import MetricPoint, MetricSeries

T0 = datetime(2026, 7, 1, 1, 30, tzinfo=UTC)


def series(*values: float, threshold: float | None = 0.7, dynamic: bool = False) -> MetricSeries:
    points = tuple(
        MetricPoint(
            build_id=f"b{i}",
            at=T0 + timedelta(days=i),
            value=v,
            threshold=(threshold + i / 100) if dynamic and threshold else threshold,
            deployed=i == len(values) - 1,
        )
        for i, v in enumerate(values)
    )
    return MetricSeries(
        automation="a", model_id="m", metric="f1_score", direction="ABOVE",
        static_threshold=None if dynamic else threshold, points=points,
    )  # fmt: skip


def test_nice_ticks_cover_the_values() -> None:
    assert nice_ticks(0.66, 0.79) == [0.65, 0.7, 0.75, 0.8]
    assert nice_ticks(3, 3) == [3]
    ticks = nice_ticks(0.0012, 0.0049)
    assert ticks[0] <= 0.0012
    assert ticks[-1] >= 0.0049


def test_one_build_gets_a_threshold_line_across_the_plot() -> None:
    out = svg(series(0.8), zone="Asia/Tokyo")
    (line,) = re.findall(r'<polyline class="threshold" points="([^"]+)"', out)
    xs = [float(p.split(",")[0]) for p in line.split()]
    assert (min(xs), max(xs)) == (LEFT, WIDTH - RIGHT)
    assert "threshold 0.7" in out
    assert "01 Jul" in out  # 10:30 JST on 1 July
    assert "build finished (Asia/Tokyo)" in out
    assert out.count('class="tick"') >= 2  # value axis labels


def test_dates_are_local_and_carry_the_time_when_a_day_repeats() -> None:
    out = svg(series(0.7, 0.8, 0.9), zone="America/New_York")
    assert re.findall(r'class="tick date"[^>]*>([^<]+)<', out) == ["30 Jun", "01 Jul", "02 Jul"]


def test_a_sql_threshold_is_a_step_line_edge_to_edge() -> None:
    out = svg(series(0.7, 0.8, 0.9, dynamic=True))
    (line,) = re.findall(r'<polyline class="threshold" points="([^"]+)"', out)
    points = line.split()
    assert len(points) == 2 + 3 + 2  # edges, each build, a step between builds
    assert float(points[0].split(",")[0]) == LEFT
    assert float(points[-1].split(",")[0]) == WIDTH - RIGHT


def test_no_builds_no_chart() -> None:
    assert "no builds" in svg(series())
