"""Temporary credentials for one deployment's ``custom_iam_role_arn``, off the traffic path.

Each local deployment with a role gets its own small server on 127.0.0.1 (a process of its
own, started and stopped with the deployment). It answers the AWS SDKs' container
credentials provider: the model server is given ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` (this
server) and ``AWS_CONTAINER_AUTHORIZATION_TOKEN`` (a random token made for this deployment),
and the SDK asks again before the credentials expire. A request without that exact token
gets 401 and nothing else: another local user, or another deployment, cannot obtain the
role. The token reaches this server in its environment, never on its command line; auto's
own AWS credentials stay in this process and never reach the model server.

    python -m qwak_auto.deploy.credentials --port PORT --role ARN --session NAME
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import secrets
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from qwak_auto import proc
from qwak_auto.deploy import processes
from qwak_auto.deploy.iam import STATIC_KEYS, RoleCache, assume, aws_settings
from qwak_auto.errors import DeployError
from qwak_auto.redact import register

TOKEN_VARIABLE = "AUTO_CREDENTIALS_TOKEN"
PATH = "/credentials"
START_TIMEOUT = 15.0


class _Handler(BaseHTTPRequestHandler):
    server: CredentialsServer

    def do_GET(self) -> None:
        given = self.headers.get("Authorization", "")
        if self.path != PATH or not hmac.compare_digest(given, self.server.token):
            self._send(401, {"error": "unknown authorization token"})
            return
        try:
            creds = self.server.roles.get(self.server.token)
        except Exception as exc:  # noqa: BLE001 - told to the SDK, which retries
            self._send(502, {"error": f"cannot assume the role: {exc}"})
            return
        self._send(200, creds or {})

    def _send(self, status: int, body: Mapping[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: ARG002
        return  # nothing of a request is logged: its header is a credential


class CredentialsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, token: str, role: str, session: str) -> None:
        super().__init__((processes.HOST, port), _Handler)
        self.token = token
        self.roles = RoleCache(os.environ)
        self.roles.grant(token, role, session)


@dataclass(frozen=True, slots=True)
class Started:
    pid: int
    port: int
    env: Mapping[str, str]  # what the model server is given


def start(role: str, session: str, environ: Mapping[str, str], directory: Path) -> Started:
    """Check that the role can be assumed (a clear failure before anything serves), then
    start this deployment's credentials server; the model server's variables come back."""
    assume(role, session, environ)
    token = secrets.token_urlsafe(32)
    register(token)
    port = processes.free_port()
    env = {
        **{k: environ[k] for k in ("PATH", "HOME", "TMPDIR") if k in environ},
        **aws_settings(environ),
        TOKEN_VARIABLE: token,
    }
    started = proc.start(
        [sys.executable, "-m", "qwak_auto.deploy.credentials", "--port", str(port),
         "--role", role, "--session", session],
        env=env,
        log=directory / "credentials.log",
    )  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if started.poll() is not None:
            raise DeployError(
                "the credentials server of custom_iam_role_arn exited: "
                f"{processes.log_tail(directory / 'credentials.log', 500) or 'no output'}"
            )
        if processes.port_open(port):
            return Started(
                pid=started.pid,
                port=port,
                env={
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"http://{processes.HOST}:{port}{PATH}",
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN": token,
                },
            )
        time.sleep(0.05)
    started.stop()
    raise DeployError(f"the credentials server did not listen within {START_TIMEOUT:g}s")


def model_env(base: Mapping[str, str], creds: Started | None) -> dict[str, str]:
    """``base`` with the role's provider variables, and without auto's own credentials (the
    SDK would prefer them)."""
    env = dict(base)
    if creds is not None:
        for key in STATIC_KEYS:
            env.pop(key, None)
        env.update(creds.env)
    return env


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m qwak_auto.deploy.credentials")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--role", required=True)
    parser.add_argument("--session", required=True)
    args = parser.parse_args(argv)
    token = os.environ.pop(TOKEN_VARIABLE, "")
    if not token:
        sys.exit(f"{TOKEN_VARIABLE} is not set")
    CredentialsServer(args.port, token, args.role, args.session).serve_forever()


if __name__ == "__main__":
    from qwak_auto.platform.private import restrict_umask

    restrict_umask()  # what it writes in the home is private (issue 14)
    main()
