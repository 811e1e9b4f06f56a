"""The stable address of a local deployment: a small threaded reverse proxy.

``python -m qwak_auto.deploy.proxy --listen 127.0.0.1:PORT [--upstream 127.0.0.1:P2]
--state-file F`` forwards every request to the current backend (a gunicorn serving one build).
The deployer switches the backend with ``POST /-/auto/upstream {"upstream": "HOST:PORT"}``
(loopback clients only) and then waits until ``GET /-/auto/state`` shows no request in flight
to the old backend before stopping it, so a swap drops nothing. A request whose backend
refuses the connection (or closes a kept-alive connection unanswered) is retried on the
current backend: it was never processed. Standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CONTROL = "/-/auto/"
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "host",
        "expect",  # answered here (100 Continue); the body is forwarded whole
    }
)
RETRIES = 20  # attempts on a refused connection (a backend restarting), 50 ms apart


class Upstreams:
    """The current backend and the requests in flight to each backend."""

    def __init__(self, current: str | None, state_file: Path | None) -> None:
        self._lock = threading.Lock()
        self.current = current
        self.inflight: dict[str, int] = {}
        self.state_file = state_file
        self.switched_at = time.time()

    def acquire(self) -> str | None:
        with self._lock:
            upstream = self.current
            if upstream is not None:
                self.inflight[upstream] = self.inflight.get(upstream, 0) + 1
            return upstream

    def release(self, upstream: str) -> None:
        with self._lock:
            left = self.inflight.get(upstream, 1) - 1
            if left > 0:
                self.inflight[upstream] = left
            else:
                self.inflight.pop(upstream, None)

    def switch(self, upstream: str | None) -> None:
        with self._lock:
            self.current = upstream
            self.switched_at = time.time()
        self.save()

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "upstream": self.current,
                "inflight": dict(self.inflight),
                "pid": os.getpid(),
                "switched_at": self.switched_at,
            }

    def save(self) -> None:
        if self.state_file is None:
            return
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"upstream": self.current}), encoding="utf-8")
        tmp.replace(self.state_file)


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], upstreams: Upstreams, timeout: float) -> None:
        super().__init__(address, Handler)
        self.upstreams = upstreams
        self.upstream_timeout = timeout
        self.roles: Any = None  # iam.RoleCache, made on the first credentials request


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: ProxyServer

    def setup(self) -> None:
        super().setup()
        self._conns: dict[str, http.client.HTTPConnection] = {}

    def finish(self) -> None:
        for conn in self._conns.values():
            conn.close()
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        del format, args  # one line per request would be the noisiest log here

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_GET

    def _handle(self) -> None:
        try:
            body = self._body()
        except ValueError as exc:
            self._send(400, {"error": f"bad request body: {exc}"})
            return
        if self.path.startswith(CONTROL):
            self._control(body)
            return
        self._forward(body)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _control(self, body: bytes) -> None:
        upstreams = self.server.upstreams
        if self.client_address[0] not in ("127.0.0.1", "::1"):
            self._send(403, {"error": "control requests only from loopback"})
            return
        if self.command == "GET" and self.path == CONTROL + "state":
            self._send(200, upstreams.state())
            return
        if self.path == CONTROL + "credentials":
            self._credentials(body)
            return
        if self.command == "POST" and self.path == CONTROL + "upstream":
            try:
                target = json.loads(body or b"{}").get("upstream")
            except (ValueError, AttributeError):
                self._send(400, {"error": 'expected {"upstream": "HOST:PORT"}'})
                return
            upstreams.switch(str(target) if target else None)
            self._send(200, upstreams.state())
            return
        self._send(404, {"error": f"unknown control request {self.command} {self.path}"})

    def _credentials(self, body: bytes) -> None:
        """POST: grant a token a role (the deployer); GET: the role's temporary credentials
        for the token in Authorization (the AWS SDK in the model server)."""
        roles = self.server.roles
        if roles is None:
            from qwak_auto.deploy.iam import RoleCache

            roles = self.server.roles = RoleCache(os.environ)
        if self.command == "POST":
            try:
                grant = json.loads(body or b"{}")
                roles.grant(
                    str(grant["token"]),
                    str(grant["role"]),
                    str(grant["session"]),
                    {str(k): str(v) for k, v in (grant.get("environ") or {}).items()},
                )
            except (ValueError, KeyError, TypeError):
                self._send(400, {"error": 'expected {"token", "role", "session"}'})
                return
            self._send(200, {"granted": grant["role"]})
            return
        try:
            creds = roles.get(self.headers.get("Authorization", ""))
        except Exception as exc:  # noqa: BLE001 - told to the SDK, which retries
            self._send(502, {"error": f"cannot assume the role: {exc}"})
            return
        if creds is None:
            self._send(401, {"error": "unknown authorization token"})
            return
        self._send(200, creds)

    def _forward(self, body: bytes) -> None:
        upstreams = self.server.upstreams
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        for attempt in range(RETRIES):
            upstream = upstreams.acquire()
            if upstream is None:
                self._send(503, {"error": "no backend is serving this address"})
                return
            try:
                status, reason, resp_headers, data = self._exchange(upstream, body, headers)
            except (ConnectionRefusedError, http.client.RemoteDisconnected, BrokenPipeError):
                # Never processed: the backend refused it, or closed a kept-alive
                # connection before reading it. Try again on the (maybe new) backend.
                self._drop(upstream)
                if attempt + 1 < RETRIES:
                    time.sleep(0.05)
                continue
            except OSError as exc:
                self._drop(upstream)
                self._send(502, {"error": f"backend {upstream} failed: {exc}"})
                return
            finally:
                upstreams.release(upstream)
            self._reply(status, reason, resp_headers, data)
            return
        self._send(502, {"error": "the backend refused the connection"})

    def _exchange(
        self, upstream: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        conn = self._conns.get(upstream)
        if conn is None:
            host, _, port = upstream.rpartition(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=self.server.upstream_timeout)
            conn.connect()
            if conn.sock is not None:
                conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._conns[upstream] = conn
        conn.request(self.command, self.path, body=body or None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        if resp.will_close:
            self._drop(upstream)
        return resp.status, resp.reason, resp.getheaders(), data

    def _drop(self, upstream: str) -> None:
        conn = self._conns.pop(upstream, None)
        if conn is not None:
            conn.close()

    def _reply(self, status: int, reason: str, headers: list[tuple[str, str]], data: bytes) -> None:
        # One write for status line, headers and body: two small writes would meet Nagle's
        # algorithm and the client's delayed ACK (40 ms a request).
        phrase = reason or self.responses.get(status, ("",))[0]
        lines = [f"{self.protocol_version} {status} {phrase}\r\n"]
        for key, value in headers:
            if key.lower() not in HOP_BY_HOP and key.lower() not in ("server", "date"):
                lines.append(f"{key}: {value}\r\n")
        length = str(len(data))
        if self.command == "HEAD":  # no body came back: tell the length the backend told
            length = next((v for k, v in headers if k.lower() == "content-length"), length)
        lines.append(f"Content-Length: {length}\r\n")
        if self.close_connection:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        head = "".join(lines).encode("latin-1", "replace")
        self.wfile.write(head if self.command == "HEAD" else head + data)

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self._reply(status, "", [("Content-Type", "application/json")], data)


def serve(listen: str, upstream: str | None, state_file: Path | None, timeout: float) -> None:
    if state_file is not None and state_file.is_file():
        with contextlib.suppress(OSError, ValueError):
            upstream = json.loads(state_file.read_text(encoding="utf-8")).get("upstream")
    upstreams = Upstreams(upstream, state_file)
    upstreams.save()
    host, _, port = listen.rpartition(":")
    server = ProxyServer((host, int(port)), upstreams, timeout)

    def stop(_signum: int, _frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stderr.write(f"auto-proxy: {listen} -> {upstream} (pid {os.getpid()})\n")
    sys.stderr.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        deadline = time.monotonic() + 10
        while upstreams.state()["inflight"] and time.monotonic() < deadline:
            time.sleep(0.05)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m qwak_auto.deploy.proxy", description=__doc__)
    p.add_argument("--listen", required=True, help="HOST:PORT, the stable address")
    p.add_argument("--upstream", default=None, help="HOST:PORT of the backend serving now")
    p.add_argument("--state-file", type=Path, default=None, help="remembers the backend")
    p.add_argument("--upstream-timeout", type=float, default=600.0)
    args = p.parse_args(argv)
    serve(args.listen, args.upstream, args.state_file, args.upstream_timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
