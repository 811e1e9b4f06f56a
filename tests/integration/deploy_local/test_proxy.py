"""The stable-address proxy in-process against two real HTTP backends on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from qwak_auto.deploy import processes
from qwak_auto.deploy.proxy import ProxyServer, Upstreams
from tests.integration.serve.artifacts import request


def backend(name: str, delay: float = 0.0) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            time.sleep(delay)
            data = json.dumps({"backend": name, "echo": json.loads(body or b"null")}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def addr(server: ThreadingHTTPServer) -> str:
    return f"127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def proxy() -> Iterator[ProxyServer]:
    server = ProxyServer(("127.0.0.1", 0), Upstreams(None, None), timeout=30)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_switch_waits_for_in_flight_requests(proxy: ProxyServer) -> None:
    port = proxy.server_address[1]
    assert request(port, "POST", "/predict", {"x": 1})[0] == 503  # no backend yet
    slow, fast = backend("old", delay=1.0), backend("new")
    try:
        processes.switch(port, addr(slow))
        answers: list[object] = []
        worker = threading.Thread(
            target=lambda: answers.append(request(port, "POST", "/predict", {"x": 1}))
        )
        worker.start()
        time.sleep(0.3)
        state = processes.switch(port, addr(fast))
        assert state["inflight"] == {addr(slow): 1}
        assert request(port, "POST", "/predict", {"x": 2})[1]["backend"] == "new"
        assert not processes.drain(port, addr(slow), timeout=0.2)
        assert processes.drain(port, addr(slow), timeout=5)
        worker.join(5)
        assert answers == [(200, {"backend": "old", "echo": {"x": 1}})]
    finally:
        slow.shutdown()
        fast.shutdown()


def test_refused_connections_are_retried_on_the_new_backend(proxy: ProxyServer) -> None:
    port = proxy.server_address[1]
    gone = backend("gone")
    gone_addr = addr(gone)
    gone.shutdown()
    gone.server_close()
    processes.switch(port, gone_addr)
    new = backend("new")
    try:
        threading.Timer(0.2, lambda: processes.switch(port, addr(new))).start()
        status, body = request(port, "POST", "/predict", {"x": 3})
        assert (status, body["backend"]) == (200, "new")
    finally:
        new.shutdown()


def test_control_rejects_unknown_requests(proxy: ProxyServer) -> None:
    port = proxy.server_address[1]
    assert request(port, "GET", "/-/auto/nothing")[0] == 404
    assert request(port, "POST", "/-/auto/upstream", raw=b"[1]")[0] == 400
