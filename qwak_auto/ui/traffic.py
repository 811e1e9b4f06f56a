"""How each serving deployment is doing: requests, error share and p99 over the last hour.

Read from the model servers' own metrics (Prometheus text from each backend's ``/metrics``,
see qwak_auto/serve/metrics.py), sampled by the dashboard every few seconds and kept in
memory for an hour. Counters only grow while a server runs, so what happened in a window is
the growth of each counter across it (a counter that drops was restarted: its new value is
the growth, as Prometheus' ``increase()`` counts it). A server started less than an hour ago
began at zero, so its whole count is in the window even when the dashboard started later;
otherwise the window starts at the dashboard's first sample and says so (``since``).

Only the standard library; the sampler thread never raises (a backend that does not answer
is a status, not an error of the page).
"""

from __future__ import annotations

import itertools
import math
import re
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

WINDOW = 3600.0  # seconds of history kept and summarised
BINS = 60  # one per minute, for the sparkline
PREFIX = "auto_model"
_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True, slots=True)
class Sample:
    """The counters of one deployment at one moment (all its backends added up)."""

    at: float  # epoch seconds
    requests: float  # prediction requests answered, any status
    errors: float  # of which 5xx
    buckets: tuple[tuple[float, float], ...] = ()  # (le, cumulative count) of the latency


def parse(text: str) -> tuple[float, float, dict[float, float]]:
    """(requests, 5xx errors, latency buckets) from a model server's Prometheus text."""
    requests = errors = 0.0
    buckets: dict[float, float] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        name, labels_text, raw = match.groups()
        try:
            value = float(raw)
        except ValueError:
            continue
        labels = dict(_LABEL.findall(labels_text or ""))
        if name == f"{PREFIX}_requests_total":
            requests += value
            if labels.get("code", "").startswith("5"):
                errors += value
        elif name == f"{PREFIX}_request_duration_seconds_bucket" and "le" in labels:
            le = math.inf if labels["le"] == "+Inf" else float(labels["le"])
            buckets[le] = buckets.get(le, 0.0) + value
    return requests, errors, buckets


def combine(at: float, texts: Iterable[str]) -> Sample:
    requests = errors = 0.0
    buckets: dict[float, float] = {}
    for text in texts:
        r, e, b = parse(text)
        requests, errors = requests + r, errors + e
        for le, n in b.items():
            buckets[le] = buckets.get(le, 0.0) + n
    return Sample(at, requests, errors, tuple(sorted(buckets.items())))


def _growth(before: float, after: float) -> float:
    return after - before if after >= before else after  # a drop: the counter restarted


def quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """Prometheus' histogram_quantile over cumulative (le, count) buckets; None if empty."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_le, lower_count = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if math.isinf(le):
                return lower_le  # beyond the largest finite bucket: its bound, as Prometheus
            if count == lower_count:
                return le
            return lower_le + (le - lower_le) * (rank - lower_count) / (count - lower_count)
        lower_le, lower_count = le, count
    return lower_le


@dataclass(frozen=True, slots=True, kw_only=True)
class Traffic:
    """A deployment's last hour, as the page and /api/traffic.json show it."""

    requests: int
    errors: int
    error_share: float | None  # errors / requests; None without requests
    p99_ms: float | None
    since: float  # epoch seconds the window starts at
    per_minute: tuple[int, ...]  # requests in each of the last BINS minutes, oldest first


def summarise(samples: Sequence[Sample], now: float) -> Traffic | None:
    """What happened between the first and last sample (at most :data:`WINDOW` apart)."""
    if not samples:
        return None
    requests = errors = 0.0
    per_minute = [0.0] * BINS
    latency: dict[float, float] = {}
    for before, after in itertools.pairwise(samples):
        grown = _growth(before.requests, after.requests)
        requests += grown
        errors += _growth(before.errors, after.errors)
        index = BINS - 1 - int((now - after.at) // 60)
        if 0 <= index < BINS:
            per_minute[index] += grown
        old = dict(before.buckets)
        for le, count in after.buckets:
            latency[le] = latency.get(le, 0.0) + _growth(old.get(le, 0.0), count)
    p99 = quantile(0.99, sorted(latency.items()))
    return Traffic(
        requests=round(requests),
        errors=round(errors),
        error_share=(errors / requests) if requests else None,
        p99_ms=None if p99 is None else p99 * 1000.0,
        since=samples[0].at,
        per_minute=tuple(round(n) for n in per_minute),
    )


@dataclass(slots=True)
class _Series:
    started: float  # when the deployment's servers started (epoch seconds)
    samples: deque[Sample] = field(default_factory=deque)
    status: str = "waiting for the first sample"

    def add(self, sample: Sample) -> None:
        if not self.samples and sample.at - self.started <= WINDOW:
            # Started within the hour: its counters began at zero then.
            self.samples.append(Sample(self.started, 0.0, 0.0, ()))
        self.samples.append(sample)
        while len(self.samples) > 2 and self.samples[1].at <= sample.at - WINDOW:
            self.samples.popleft()


Fetch = Callable[[int], str]


def fetch_metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2.0) as response:
        return str(response.read(2_000_000).decode("utf-8", errors="replace"))


def backend_ports(detail: Mapping[str, Any]) -> tuple[int, ...]:
    """The model servers of a local deployment: ``backend_port``, and each entry of a
    ``backends`` list (canary steps), falling back to the stable address's ``port``."""
    ports: list[int] = []
    if isinstance(detail.get("backend_port"), int):
        ports.append(detail["backend_port"])
    for backend in detail.get("backends") or ():
        if isinstance(backend, Mapping) and isinstance(backend.get("port"), int):
            ports.append(backend["port"])
    if not ports and isinstance(detail.get("port"), int):
        ports.append(detail["port"])
    return tuple(dict.fromkeys(ports))


class Sampler:
    """Samples every serving local deployment each ``interval`` seconds, in a daemon thread
    started by the first request (gunicorn workers fork after the app is made)."""

    def __init__(
        self,
        deployments: Callable[[], Sequence[Any]],
        interval: float = 10.0,
        fetch: Fetch = fetch_metrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._deployments = deployments
        self.interval = interval
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._series: dict[str, _Series] = {}
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()

    def start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._loop, name="traffic", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            self.sample_once()
            self._wake.wait(self.interval)
            self._wake.clear()

    def sample_once(self) -> None:
        try:
            records = list(self._deployments())
        except Exception:  # noqa: BLE001 - the store may be busy: try again next time
            return
        live = set()
        for record in records:
            live.add(record.deployment_id)
            self._sample(record)
        with self._lock:
            for gone in set(self._series) - live:
                del self._series[gone]

    def _sample(self, record: Any) -> None:
        with self._lock:
            series = self._series.get(record.deployment_id)
            if series is None:
                series = _Series(started=record.created_at.timestamp())
                self._series[record.deployment_id] = series
        if record.deployer != "local":
            series.status = f"not sampled here ({record.deployer}: see its Prometheus)"
            return
        ports = backend_ports(record.detail)
        if not ports:
            series.status = "no model server recorded for it"
            return
        texts: list[str] = []
        for port in ports:
            try:
                texts.append(self._fetch(port))
            except (OSError, ValueError) as exc:
                series.status = f"no answer from 127.0.0.1:{port}: {exc}"
                return
        sample = combine(self._clock(), texts)
        with self._lock:
            series.add(sample)
            series.status = "ok"

    def traffic(self, deployment_id: str) -> tuple[Traffic | None, str]:
        with self._lock:
            series = self._series.get(deployment_id)
            if series is None:
                return None, "waiting for the first sample"
            return summarise(list(series.samples), self._clock()), series.status
