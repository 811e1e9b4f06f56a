"""Fixtures for the model server: a real build venv, real artifacts, a real gunicorn."""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.serve.artifacts import make_artifact, make_python, serve_argv, wait_ready


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def build_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_python(tmp_path_factory.mktemp("serve-env"))


@pytest.fixture(scope="session")
def artifact(build_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_artifact(build_python, tmp_path_factory.mktemp("artifact") / "a", tag="b1")


class Server:
    def __init__(self, port: int, proc: subprocess.Popen[bytes], log: Path, preds: Path) -> None:
        self.port = port
        self.proc = proc
        self.log = log
        self.predictions = preds

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode


@pytest.fixture(scope="module")
def server(
    build_python: Path, artifact: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("server")
    port = free_port()
    argv = serve_argv(
        build_python,
        artifact,
        port,
        workers=2,
        timeout_ms=700,
        max_batch_size=5,
        build_id="b1",
        environment="dev",
        predictions_dir=root / "predictions",
        rotate_seconds=3600,
    )
    log = root / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=_env())
    srv = Server(port, proc, log, root / "predictions")
    try:
        wait_ready(port, proc)
        yield srv
    finally:
        srv.stop()


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["MODEL_FLAVOUR"] = "vanilla"
    return env
