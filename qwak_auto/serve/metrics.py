"""Prometheus metrics, written by hand (the build environment has no prometheus_client).

Each gunicorn worker counts in memory and, at most once a second, writes a snapshot to
``<dir>/worker-<pid>.json``; ``/metrics`` adds up every worker's snapshot (its own taken live),
so a scrape answered by any worker shows the whole server. Snapshots of exited workers stay:
counters must never go backwards.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000)
PREFIX = "auto_model"


class Histogram:
    __slots__ = ("buckets", "count", "counts", "total")

    def __init__(self, buckets: Sequence[float]) -> None:
        self.buckets = tuple(buckets)
        self.counts = [0] * len(self.buckets)
        self.count = 0
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.count += 1
        self.total += value
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
                break

    def snapshot(self) -> dict[str, Any]:
        return {"counts": list(self.counts), "count": self.count, "sum": self.total}


class Metrics:
    """One worker's counters. Thread-safe; cheap enough for the request path."""

    def __init__(self, info: Mapping[str, str], directory: Path | None = None) -> None:
        self.info = dict(info)
        self.directory = directory
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str], int] = {}  # (route, code) -> n
        self.errors: dict[str, int] = {}  # reason -> n
        self.latency = Histogram(LATENCY_BUCKETS)
        self.batch = Histogram(BATCH_BUCKETS)
        self.log_errors = 0
        self.log_dropped = 0
        self._dirty = False
        self._written = 0.0

    def observe(self, route: str, code: int, seconds: float, rows: int | None) -> None:
        with self._lock:
            key = (route, str(code))
            self.requests[key] = self.requests.get(key, 0) + 1
            self.latency.observe(seconds)
            if rows is not None:
                self.batch.observe(rows)
            self._dirty = True

    def error(self, reason: str) -> None:
        with self._lock:
            self.errors[reason] = self.errors.get(reason, 0) + 1
            self._dirty = True

    def log_error(self, dropped: bool = False) -> None:
        with self._lock:
            if dropped:
                self.log_dropped += 1
            else:
                self.log_errors += 1
            self._dirty = True

    def snapshot(self) -> dict[str, Any]:
        from qwak_auto.runtime import timings

        timers = {name: [count, total] for name, (count, total) in timings().items()}
        with self._lock:
            return {
                "timers": timers,
                "requests": [[r, c, n] for (r, c), n in self.requests.items()],
                "errors": dict(self.errors),
                "latency": self.latency.snapshot(),
                "batch": self.batch.snapshot(),
                "log_errors": self.log_errors,
                "log_dropped": self.log_dropped,
            }

    def persist(self, force: bool = False, now: float | None = None) -> None:
        """Write this worker's snapshot (at most once a second unless forced)."""
        if self.directory is None:
            return
        now = time.monotonic() if now is None else now
        if not force and (not self._dirty or now - self._written < 1.0):
            return
        self._dirty = False
        self._written = now
        target = self.directory / f"worker-{os.getpid()}.json"
        tmp = target.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(self.snapshot()), encoding="utf-8")
            tmp.replace(target)
        except OSError:
            pass  # metrics never fail a worker

    def collect(self) -> list[dict[str, Any]]:
        """Every worker's snapshot: this one live, the others from their files."""
        snaps = [self.snapshot()]
        if self.directory is None:
            return snaps
        own = f"worker-{os.getpid()}.json"
        try:
            files = sorted(self.directory.glob("worker-*.json"))
        except OSError:
            files = []
        for path in files:
            if path.name == own:
                continue
            try:
                snaps.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue
        return snaps

    def render(self, ready: bool) -> str:
        return render(self.collect(), self.info, ready)


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in pairs)
    return "{" + inner + "}" if inner else ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _merge_hist(snaps: list[dict[str, Any]], key: str, size: int) -> tuple[list[int], int, float]:
    counts = [0] * size
    count, total = 0, 0.0
    for snap in snaps:
        hist = snap.get(key) or {}
        for i, n in enumerate(hist.get("counts", [])[:size]):
            counts[i] += int(n)
        count += int(hist.get("count", 0))
        total += float(hist.get("sum", 0.0))
    return counts, count, total


def _hist_lines(
    name: str, buckets: Sequence[float], merged: tuple[list[int], int, float]
) -> list[str]:
    counts, count, total = merged
    lines, running = [], 0
    for bound, n in zip(buckets, counts, strict=True):
        running += n
        lines.append(f'{name}_bucket{{le="{bound:g}"}} {running}')
    lines.append(f'{name}_bucket{{le="+Inf"}} {count}')
    lines.append(f"{name}_sum {total:.6f}")
    lines.append(f"{name}_count {count}")
    return lines


def render(snaps: list[dict[str, Any]], info: Mapping[str, str], ready: bool) -> str:
    """The Prometheus text exposition (version 0.0.4) of the merged snapshots."""
    requests: dict[tuple[str, str], int] = {}
    errors: dict[str, int] = {}
    timers: dict[str, tuple[int, float]] = {}
    log_errors = log_dropped = 0
    for snap in snaps:
        for name, (count, total) in (snap.get("timers") or {}).items():
            seen = timers.get(name, (0, 0.0))
            timers[name] = (seen[0] + int(count), seen[1] + float(total))
        for route, code, n in snap.get("requests", []):
            requests[(route, code)] = requests.get((route, code), 0) + int(n)
        for reason, n in (snap.get("errors") or {}).items():
            errors[reason] = errors.get(reason, 0) + int(n)
        log_errors += int(snap.get("log_errors", 0))
        log_dropped += int(snap.get("log_dropped", 0))
    p = PREFIX
    out = [
        f"# HELP {p}_build_info The build this server serves.",
        f"# TYPE {p}_build_info gauge",
        f"{p}_build_info{_labels(sorted(info.items()))} 1",
        f"# HELP {p}_ready 1 when the model is loaded.",
        f"# TYPE {p}_ready gauge",
        f"{p}_ready {int(ready)}",
        f"# HELP {p}_requests_total Requests answered, by route and HTTP status.",
        f"# TYPE {p}_requests_total counter",
    ]
    for (route, code), n in sorted(requests.items()):
        out.append(f"{p}_requests_total{_labels([('route', route), ('code', code)])} {n}")
    out += [
        f"# HELP {p}_errors_total Failed requests, by reason.",
        f"# TYPE {p}_errors_total counter",
    ]
    for reason, n in sorted(errors.items()):
        out.append(f"{p}_errors_total{_labels([('reason', reason)])} {n}")
    out += [
        f"# HELP {p}_request_duration_seconds Time to answer a prediction request.",
        f"# TYPE {p}_request_duration_seconds histogram",
        *_hist_lines(
            f"{p}_request_duration_seconds",
            LATENCY_BUCKETS,
            _merge_hist(snaps, "latency", len(LATENCY_BUCKETS)),
        ),
        f"# HELP {p}_batch_size Rows per prediction request.",
        f"# TYPE {p}_batch_size histogram",
        *_hist_lines(
            f"{p}_batch_size", BATCH_BUCKETS, _merge_hist(snaps, "batch", len(BATCH_BUCKETS))
        ),
        f"# HELP {p}_prediction_log_errors_total Prediction-log writes that failed.",
        f"# TYPE {p}_prediction_log_errors_total counter",
        f"{p}_prediction_log_errors_total {log_errors}",
        f"# HELP {p}_prediction_log_dropped_total Prediction-log records dropped (queue full).",
        f"# TYPE {p}_prediction_log_dropped_total counter",
        f"{p}_prediction_log_dropped_total {log_dropped}",
        f"# HELP {p}_timer_seconds Time spent in the model's qwak_timer(name) sections.",
        f"# TYPE {p}_timer_seconds summary",
    ]
    for name, (count, total) in sorted(timers.items()):
        out.append(f"{p}_timer_seconds_sum{_labels([('name', name)])} {total:.6f}")
        out.append(f"{p}_timer_seconds_count{_labels([('name', name)])} {count}")
    return "\n".join(out) + "\n"
