"""Fixtures for the local deployer: real venv, real artifacts, real SQLite store, real
gunicorn and proxy processes on 127.0.0.1 (all stopped at the end of each test)."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from qwak_auto.config import Config, load_config
from qwak_auto.deploy import backends, traffic
from qwak_auto.run.contracts import BuildResult
from qwak_auto.state import open_url
from qwak_auto.state.base import StateStore
from tests.integration.serve.artifacts import make_artifact, make_python


@pytest.fixture(scope="session")
def build_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_python(tmp_path_factory.mktemp("deploy-env"))


@pytest.fixture(scope="session")
def artifacts(build_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("artifacts")
    return {
        "A": make_artifact(build_python, root / "A", tag="A"),
        "B": make_artifact(build_python, root / "B", tag="B"),
        "C": make_artifact(build_python, root / "C", tag="C"),
        "crash": make_artifact(build_python, root / "crash", tag="crash", init_fail=True),
        "slow": make_artifact(build_python, root / "slow", tag="slow", init_sleep=30),
        # fails only when served (its tests passed); the sample request catches it
        "broken": make_artifact(
            build_python, root / "broken", tag="broken", fail_after=0, sample_request=True
        ),
        # answers its smoke, then starts failing under live traffic
        "flaky": make_artifact(build_python, root / "flaky", tag="flaky", fail_after=25),
    }


@dataclass
class World:
    config: Config
    store: StateStore
    python: Path
    artifacts: dict[str, Path]

    def build(self, name: str, model_id: str = "churn") -> BuildResult:
        return BuildResult(
            build_id=f"build-{name}",
            model_id=model_id,
            commit="c0ffee",
            builder="local",
            artifact_dir=self.artifacts[name],
            metrics={},
            params={},
            log_path=self.artifacts[name] / "build.log",
            python=self.python,
        )


@pytest.fixture
def world(tmp_path: Path, build_python: Path, artifacts: dict[str, Path]) -> Iterator[World]:
    home = tmp_path / ".auto"
    config = load_config(env={"AUTO_HOME": str(home)}, cwd=tmp_path)
    store = open_url(f"sqlite:///{home / 'state.db'}")
    try:
        yield World(config, store, build_python, artifacts)
    finally:
        for record in store.deployments(limit=500):
            backends.stop(record.detail, None, grace=5)
        traffic.stop(home)
        store.close()


@dataclass
class Load:
    """Bounded steady traffic at the stable address: ``rate`` requests/s over ``threads``
    keep-alive connections, at most ``limit`` seconds. Records every outcome."""

    port: int
    rate: float = 50.0
    threads: int = 5
    limit: float = 120.0
    results: list[tuple[int, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Load:
        for _ in range(self.threads):
            worker = threading.Thread(target=self._run, daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(30)

    def _run(self) -> None:
        interval = self.threads / self.rate
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        deadline = time.monotonic() + self.limit
        body = json.dumps([{"x": 1}])
        while not self._stop.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            try:
                status, data, conn = _post(conn, self.port, body)
                if status == 200:
                    self.results.append((200, json.loads(data)[0]["build"]))
                else:
                    self.failures.append(f"HTTP {status}: {data[:200]!r}")
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                self.failures.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self._stop.wait(max(0.0, interval - (time.monotonic() - started)))
        conn.close()

    def builds(self) -> list[str]:
        return [build for _, build in self.results]


_CLOSED_IDLE = (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected)


def _post(
    conn: http.client.HTTPConnection, port: int, body: str
) -> tuple[int, bytes, http.client.HTTPConnection]:
    """One POST on a kept-alive connection, as a careful HTTP/1.1 client sends it: when the
    server had closed the idle connection (a proxy reloading its configuration does; HTTP/1.1
    allows it any time) and nothing came back, the request goes once more on a new
    connection, as Go's transport and urllib3 do for a reused connection."""
    reused = conn.sock is not None
    try:
        conn.request("POST", "/v1/churn/predict", body=body)
        resp = conn.getresponse()
        return resp.status, resp.read(), conn
    except _CLOSED_IDLE:
        if not reused:
            raise
    conn.close()
    fresh = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    fresh.request("POST", "/v1/churn/predict", body=body)
    resp = fresh.getresponse()
    return resp.status, resp.read(), fresh
