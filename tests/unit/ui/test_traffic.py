"""qwak_auto/ui/traffic.py: a model server's Prometheus text to requests, 5xx share, p99 and
requests per minute over the last hour."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from qwak_auto.serve.metrics import Metrics
from qwak_auto.ui import traffic


def server_text(requests: list[tuple[int, float]]) -> str:
    """What a real model server's /metrics says after answering ``requests`` (code, s)."""
    metrics = Metrics({"model_id": "m", "build_id": "b"})
    for code, seconds in requests:
        metrics.observe("predict", code, seconds, 1)
    return metrics.render(ready=True)


def test_parse_counts_requests_errors_and_latency() -> None:
    text = server_text([(200, 0.004)] * 8 + [(500, 0.2), (400, 0.001)])
    requests, errors, buckets = traffic.parse(text)
    assert (requests, errors) == (10, 1)
    assert buckets[float("inf")] == 10
    assert buckets[0.005] == 9  # cumulative: everything up to 5 ms


def test_quantile_interpolates_as_prometheus_does() -> None:
    buckets = [(0.1, 50.0), (0.2, 100.0), (float("inf"), 100.0)]
    assert traffic.quantile(0.5, buckets) == pytest.approx(0.1)
    assert traffic.quantile(0.99, buckets) == pytest.approx(0.198)
    assert traffic.quantile(0.99, [(0.1, 0.0), (float("inf"), 0.0)]) is None
    assert traffic.quantile(0.99, [(0.1, 1.0), (float("inf"), 10.0)]) == 0.1  # beyond: the bound


def sample(at: float, text: str) -> traffic.Sample:
    return traffic.combine(at, [text])


def test_the_window_counts_growth_and_survives_a_restart() -> None:
    now = 10_000.0
    first = sample(now - 300, server_text([(200, 0.01)] * 5))
    second = sample(now - 100, server_text([(200, 0.01)] * 9 + [(503, 1.0)]))
    restarted = sample(now, server_text([(200, 0.02)] * 2))  # counters began again
    summary = traffic.summarise([first, second, restarted], now)
    assert summary is not None
    assert (summary.requests, summary.errors) == (5 + 2, 1)
    assert summary.error_share == pytest.approx(1 / 7)
    assert summary.p99_ms is not None
    assert 500 < summary.p99_ms <= 1000  # the one slow 503 is the slowest percent
    assert sum(summary.per_minute) == 7
    assert summary.per_minute[-1] == 2  # the last minute
    assert summary.since == now - 300


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def record(port: int | None, started: float, deployer: str = "local") -> SimpleNamespace:
    return SimpleNamespace(
        deployment_id="dep-1",
        deployer=deployer,
        created_at=datetime.fromtimestamp(started, tz=UTC),
        detail={"backend_port": port} if port else {},
    )


def test_a_server_started_within_the_hour_counts_from_zero() -> None:
    clock = FakeClock(50_000.0)
    answers = {8123: server_text([(200, 0.01)] * 4)}
    sampler = traffic.Sampler(
        lambda: [record(8123, clock.now - 600)], fetch=answers.__getitem__, clock=clock
    )
    sampler.sample_once()  # the dashboard's first look: all 4 happened in the last hour
    found, state = sampler.traffic("dep-1")
    assert state == "ok"
    assert found is not None
    assert found.requests == 4


def test_an_older_server_counts_from_the_first_sample() -> None:
    clock = FakeClock(50_000.0)
    answers = {8123: server_text([(200, 0.01)] * 4)}
    sampler = traffic.Sampler(
        lambda: [record(8123, clock.now - 7200)], fetch=answers.__getitem__, clock=clock
    )
    sampler.sample_once()
    answers[8123] = server_text([(200, 0.01)] * 6)
    clock.now += 10
    sampler.sample_once()
    found, _ = sampler.traffic("dep-1")
    assert found is not None
    assert (found.requests, found.since) == (2, 50_000.0)


def test_states_say_why_there_are_no_numbers() -> None:
    def refuse(port: int) -> str:
        raise ConnectionRefusedError(111, "Connection refused")

    sampler = traffic.Sampler(lambda: [record(9, 0.0)], fetch=refuse)
    sampler.sample_once()
    assert sampler.traffic("dep-1")[1].startswith("no answer from 127.0.0.1:9")
    assert traffic.Sampler(lambda: []).traffic("dep-1") == (None, "waiting for the first sample")
    k8s = traffic.Sampler(lambda: [record(9, 0.0, deployer="kubernetes")], fetch=refuse)
    k8s.sample_once()
    assert "kubernetes" in k8s.traffic("dep-1")[1]


def test_backend_ports_of_a_canary() -> None:
    detail = {"port": 1, "backend_port": 2, "backends": [{"port": 3}, {"port": 2}]}
    assert traffic.backend_ports(detail) == (2, 3)
    assert traffic.backend_ports({"port": 1}) == (1,)
