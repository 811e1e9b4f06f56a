"""A private image registry for the session: Debian's ``docker-registry`` (distribution 2.x)
on 127.0.0.1:PORT with filesystem storage in a temporary directory and its own config (the
packaged one wants htpasswd and port 5000). Docker treats 127.0.0.0/8 registries as insecure
by default, so the session's engine pushes to it over plain HTTP.

Without the program the registry tests skip (``missing_service("docker", ...)``: CI, which
requires docker, fails instead). Tests never install it: .ci/system-packages.sh does.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import missing_service

CONFIG = """\
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


@dataclass(frozen=True)
class Registry:
    address: str  # 127.0.0.1:PORT, what image references start with

    def get(self, path: str) -> tuple[int, object]:
        try:
            with urllib.request.urlopen(f"http://{self.address}{path}", timeout=10) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, None

    def tags(self, repository: str) -> list[str]:
        """``GET /v2/<repository>/tags/list`` ([] when the repository is unknown)."""
        status, body = self.get(f"/v2/{repository}/tags/list")
        if status != 200 or not isinstance(body, dict):
            return []
        return list(body.get("tags") or [])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def image_registry() -> Iterator[Registry]:
    program = shutil.which("docker-registry")
    if program is None:
        missing_service(
            "docker", "docker-registry is not installed (bash .ci/system-packages.sh as root)"
        )
        raise AssertionError("unreachable")
    root = Path(tempfile.mkdtemp(prefix="auto-registry-", dir="/tmp"))
    port = _free_port()
    config = root / "config.yml"
    config.write_text(CONFIG.format(root=root / "store", port=port), encoding="utf-8")
    log = (root / "registry.log").open("wb")
    popen = subprocess.Popen(
        [program, "serve", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()
    registry = Registry(f"127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 30
        while True:
            if popen.poll() is not None:
                tail = (root / "registry.log").read_text(errors="replace")[-300:]
                missing_service("docker", f"docker-registry exited: {tail.strip()}")
            try:
                if registry.get("/v2/")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                missing_service("docker", "docker-registry did not answer within 30s")
            time.sleep(0.1)
        yield registry
    finally:
        if popen.poll() is None:
            popen.terminate()
            try:
                popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)
