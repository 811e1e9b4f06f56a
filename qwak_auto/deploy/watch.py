"""What a new build did with live traffic, from its own ``/metrics``: answers, 5xx share and
p99 latency over a window, and the verdict against the rollout's limits.

The model server exports Prometheus counters (``auto_model_requests_total`` by route and
status code, ``auto_model_request_duration_seconds`` as a histogram). A window is the
difference of two scrapes; its p99 is interpolated inside the histogram bucket that holds it,
as Prometheus' ``histogram_quantile`` does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from qwak_auto.automation.rollout import Rollout
from qwak_auto.deploy import processes

_SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)"
)
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
REQUESTS = "auto_model_requests_total"
LATENCY = "auto_model_request_duration_seconds_bucket"


@dataclass(frozen=True, slots=True)
class Scrape:
    """The counters of one scrape: answers by status code, latency bucket counts."""

    by_code: Mapping[str, float] = field(default_factory=dict)
    buckets: Mapping[float, float] = field(default_factory=dict)  # upper bound -> cumulative


def parse(text: str) -> Scrape:
    by_code: dict[str, float] = {}
    buckets: dict[float, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None:
            continue
        labels = dict(_LABEL.findall(match["labels"] or ""))
        try:
            value = float(match["value"])
        except ValueError:
            continue
        if match["name"] == REQUESTS:
            code = labels.get("code", "")
            by_code[code] = by_code.get(code, 0.0) + value
        elif match["name"] == LATENCY:
            bound = labels.get("le", "")
            buckets[math.inf if bound == "+Inf" else float(bound)] = value
    return Scrape(by_code, buckets)


def scrape(port: int) -> Scrape:
    """The new build's counters now (an empty scrape when it does not answer)."""
    try:
        status, text = processes.http_text(port, "/metrics", timeout=5.0)
    except OSError:
        return Scrape()
    return parse(text) if status == 200 else Scrape()


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    requests: int
    errors: int  # 5xx answers
    p99_ms: float | None
    seconds: float

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def figures(self) -> str:
        p99 = "n/a" if self.p99_ms is None else f"{self.p99_ms:.0f} ms"
        return (
            f"{self.requests} answers, {self.errors} 5xx ({self.error_rate:.1%}), p99 {p99} "
            f"over {self.seconds:.0f}s"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": round(self.error_rate, 4),
            "p99_ms": None if self.p99_ms is None else round(self.p99_ms, 1),
            "seconds": round(self.seconds, 1),
        }


def window(before: Scrape, after: Scrape, seconds: float) -> Window:
    codes = set(before.by_code) | set(after.by_code)
    delta = {c: max(0.0, after.by_code.get(c, 0.0) - before.by_code.get(c, 0.0)) for c in codes}
    requests = int(sum(delta.values()))
    errors = int(sum(n for c, n in delta.items() if c.startswith("5")))
    bounds = sorted(set(before.buckets) | set(after.buckets))
    cumulative = [
        (b, max(0.0, after.buckets.get(b, 0.0) - before.buckets.get(b, 0.0))) for b in bounds
    ]
    return Window(
        requests=requests, errors=errors, p99_ms=_quantile(0.99, cumulative), seconds=seconds
    )


def _quantile(q: float, cumulative: list[tuple[float, float]]) -> float | None:
    """Prometheus' histogram_quantile on cumulative bucket counts, in milliseconds."""
    if not cumulative or cumulative[-1][1] <= 0:
        return None
    total = cumulative[-1][1]
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in cumulative:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound * 1000.0  # beyond the last finite bucket: its bound
            inside = count - lower_count
            share = (rank - lower_count) / inside if inside > 0 else 1.0
            return (lower_bound + (bound - lower_bound) * share) * 1000.0
        lower_bound, lower_count = bound, count
    return None


def judge(win: Window, rollout: Rollout) -> tuple[bool | None, str]:
    """(True: within the limits, False: a breach, None: too few answers for a verdict)."""
    if win.requests < rollout.min_requests:
        return None, (
            f"no verdict from traffic: {win.figures()} (fewer than {rollout.min_requests}); "
            "the smoke decided"
        )
    if win.error_rate > rollout.max_error_rate:
        return False, (
            f"5xx share {win.error_rate:.1%} above max_error_rate "
            f"{rollout.max_error_rate:.1%}: {win.figures()}"
        )
    limit = rollout.max_p99_latency_ms
    if limit is not None and win.p99_ms is not None and win.p99_ms > limit:
        return False, f"p99 {win.p99_ms:.0f} ms above max_p99_latency_ms {limit}: {win.figures()}"
    return True, f"within limits: {win.figures()}"
