"""A local moto server (STS) on 127.0.0.1 for the tests that assume roles."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROLE = "arn:aws:iam::123456789012:role/auto-build"
RUNNER_KEY = "AKIAAUTOTESTRUNNER01"
RUNNER_SECRET = "runner-secret-canary-5b1e0f"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def moto_binary() -> str | None:
    beside = Path(sys.executable).parent / "moto_server"
    if beside.is_file():
        return str(beside)
    return shutil.which("moto_server")


@contextmanager
def moto_server() -> Iterator[str]:
    """Start ``moto_server -H 127.0.0.1 -p PORT``; yields its URL; stops it afterwards."""
    exe = moto_binary()
    if exe is None:
        raise RuntimeError("moto_server is not installed (pip install 'moto[server]')")
    port = _free_port()
    log = tempfile.NamedTemporaryFile(prefix="moto-", suffix=".log", delete=False)  # noqa: SIM115
    popen = subprocess.Popen(
        [exe, "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if popen.poll() is not None:
                raise RuntimeError(f"moto_server exited: {Path(log.name).read_text()[-500:]}")
            try:
                with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not answer within 30s") from None
                time.sleep(0.2)
        yield url
    finally:
        popen.terminate()
        try:
            popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(timeout=10)
        log.close()
        os.unlink(log.name)


def runner_environ(url: str) -> dict[str, str]:
    """The runner's own (dummy) AWS credentials, pointed at the moto server."""
    return {
        "AWS_ACCESS_KEY_ID": RUNNER_KEY,
        "AWS_SECRET_ACCESS_KEY": RUNNER_SECRET,
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ENDPOINT_URL_STS": url,
    }
