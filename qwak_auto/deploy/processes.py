"""The programs of a local deployment: the gunicorn backends, and small HTTP helpers.

They are started through ``proc.start`` in their own session, so they outlive the ``auto``
process that started them; afterwards they are found again by the pids and ports recorded
in the state store. Every wait here is bounded.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qwak_auto import proc
from qwak_auto.errors import DeployError
from qwak_auto.redact import redact

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def http_json(
    port: int, method: str, path: str, body: Mapping[str, Any] | None = None, timeout: float = 2.0
) -> tuple[int, Any]:
    """One request to 127.0.0.1:port; (status, parsed JSON or None). Raises OSError."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    try:
        return resp.status, json.loads(raw) if raw else None
    except ValueError:
        return resp.status, None


def http_text(port: int, path: str, timeout: float = 2.0) -> tuple[int, str]:
    """GET 127.0.0.1:port/path; (status, body as text). Raises OSError."""
    status, body = http_bytes(port, "GET", path, timeout=timeout)
    return status, body.decode("utf-8", errors="replace")


def http_bytes(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    content_type: str = "application/json",
    timeout: float = 2.0,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, bytes]:
    """One request to 127.0.0.1:port; (status, body). Raises OSError."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        headers = {
            **({"Content-Type": content_type} if body is not None else {}),
            **(headers or {}),
        }
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def alive(pid: int | None) -> bool:
    """True when ``pid`` runs (a zombie counts as dead)."""
    if not pid or pid <= 0:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return fields[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def _ours(pid: int) -> bool:
    """Only signal a pid whose command line is one of ours (pids get reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc: trust the recorded pid
    return any(mark in cmdline for mark in (b"qwak_auto", b"auto-serve", b"gunicorn", b"caddy"))


def stop_pid(pid: int | None, grace: float = 15.0) -> bool:
    """SIGTERM (graceful: gunicorn finishes in-flight requests), SIGKILL after ``grace``."""
    if not alive(pid) or pid is None or not _ours(pid):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap(pid)
        if not alive(pid):
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        _reap(pid)
        if not alive(pid):
            break
        time.sleep(0.05)
    return True


def _reap(pid: int) -> None:
    # A server started by this very process must be reaped, or it lingers as a zombie.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def log_tail(path: Path, limit: int = 1500) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return redact("\n".join(lines)[-limit:])


# ------------------------------------------------------------------ backends


@dataclass(frozen=True, slots=True)
class Backend:
    pid: int
    port: int
    log: Path


def start_backend(
    argv: Sequence[str],
    *,
    port: int,
    directory: Path,
    env: Mapping[str, str],
    daemon: bool,
    ready_timeout: float,
) -> Backend:
    """Start a model server and wait until GET /ready answers 200. On a crash or timeout the
    server is stopped and DeployError carries the reason with the tail of its log."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "serve.log"
    pid_file = directory / "gunicorn.pid"
    started = proc.start(argv, env=env, log=log, cwd=directory)
    deadline = time.monotonic() + ready_timeout
    pid: int | None = None if daemon else started.pid
    while True:
        code = started.poll()
        if daemon and pid is None and pid_file.is_file():
            with contextlib.suppress(ValueError, OSError):
                pid = int(pid_file.read_text().strip())
        crashed = (code is not None and not daemon) or (daemon and code not in (None, 0))
        if daemon and code == 0 and pid is not None and not alive(pid):
            crashed = True
        if crashed:
            time.sleep(0.2)  # let the last lines reach the log
            tail = log_tail(log)
            raise DeployError(
                f"the model server exited before it was ready (status {code}): "
                f"{_why(log_tail(log, 200_000))}",
                f"its log: {log}\n{tail}",
            )
        if _ready(port):
            break
        if time.monotonic() > deadline:
            stop_pid(pid if pid is not None else started.pid, grace=5)
            raise DeployError(
                f"the model server was not ready within {ready_timeout:g}s "
                "(deployment_process_timeout_limit)",
                f"its log: {log}\n{log_tail(log)}",
            )
        time.sleep(0.1)
    if pid is None and pid_file.is_file():
        pid = int(pid_file.read_text().strip())
    return Backend(pid=pid or started.pid, port=port, log=log)


def _why(tail: str) -> str:
    """The line of a server log that says why it stopped (our own summary line if any)."""
    lines = tail.splitlines()
    ours = [line for line in lines if line.startswith("auto-serve: ")]
    if ours:
        return ours[-1].removeprefix("auto-serve: ")
    return lines[-1] if lines else "no output"


def _ready(port: int) -> bool:
    try:
        status, _ = http_json(port, "GET", "/ready", timeout=2.0)
    except OSError:
        return False
    return status == 200
