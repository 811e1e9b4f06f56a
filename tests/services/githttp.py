"""A private git repository over smart HTTP on 127.0.0.1 (LOCAL-SERVICES.md).

``git http-backend`` runs as a CGI program behind a small threaded ``http.server``; a request
whose Basic ``Authorization`` does not carry the expected token as its password gets 401.
Every request's method, path and headers are kept (``seen``) so tests can assert the token
never travelled in a URL; ``accepted``/``refused`` count the answers.
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def backend() -> Path | None:
    """git-http-backend of the installed git, or None."""
    try:
        exec_path = subprocess.run(
            ["git", "--exec-path"], capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    path = Path(exec_path) / "git-http-backend"
    return path if path.is_file() else None


@dataclass
class GitServer:
    root: Path
    token: str
    url: str = ""
    delay: float = 0.0  # seconds each answer waits (keeps git running long enough to look at)
    accepted: int = 0
    refused: int = 0
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def repo_url(self, name: str) -> str:
        return f"{self.url}/{name}"

    def authorised(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            _user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return password == self.token


def _cgi_response(raw: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    head, found, payload = raw.partition(b"\r\n\r\n")
    if not found:
        head, _, payload = raw.partition(b"\n\n")
    status = 200
    headers = []
    for line in head.decode("latin-1").splitlines():
        key, _, value = line.partition(":")
        if key.lower() == "status":
            status = int(value.strip().split()[0])
        elif key:
            headers.append((key, value.strip()))
    return status, headers, payload


def _handler(server: GitServer, cgi: Path) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks: list[bytes] = []
                while True:
                    size = int(self.rfile.readline().strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _serve(self) -> None:
            server.seen.append((self.command, self.path, dict(self.headers.items())))
            time.sleep(server.delay)
            if not server.authorised(self.headers.get("Authorization")):
                server.refused += 1
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="auto-test"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            server.accepted += 1
            body = self._body()
            path, _, query = self.path.partition("?")
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "GIT_PROJECT_ROOT": str(server.root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_ADDR": "127.0.0.1",
                "REMOTE_USER": "token",
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            }
            done = subprocess.run(
                [str(cgi)], input=body, env=env, capture_output=True, timeout=60, check=False
            )
            status, headers, payload = _cgi_response(done.stdout)
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _serve
        do_POST = _serve

    return Handler


@contextmanager
def serve(root: Path, token: str, delay: float = 0.0) -> Iterator[GitServer]:
    cgi = backend()
    if cgi is None:
        raise RuntimeError("git-http-backend is not installed (it ships with git)")
    server = GitServer(root=root, token=token, delay=delay)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server, cgi))
    httpd.daemon_threads = True
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
