"""The dashboard's WSGI app. GET/HEAD only: there are no write actions, and no secrets."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from qwak_auto.config import Config
from qwak_auto.redact import redact_obj
from qwak_auto.ui import pages

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Environ = dict[str, Any]

SECURITY_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'"),
    ("Cache-Control", "no-store"),
]


class Dashboard:
    def __init__(self, paths: list[Path], config: Config) -> None:
        self.paths = paths
        self.config = config

    def _view(self) -> Any:
        from qwak_auto.automation.problems import Severity
        from qwak_auto.automation.validate import load_automations
        from qwak_auto.state import open_store
        from qwak_auto.ui.data import overview

        automations, problems = (
            load_automations(self.paths, self.config) if self.paths else ([], [])
        )
        messages = [f"{p.location}: {p.message}" for p in problems if p.severity is Severity.ERROR]
        store = open_store(self.config)
        try:
            return overview(automations, store, problems=messages)
        finally:
            store.close()

    def _run(self, run_id: str) -> str:
        from qwak_auto.state import open_store
        from qwak_auto.ui.data import run_detail

        store = open_store(self.config)
        try:
            found = run_detail(store, run_id)
        finally:
            store.close()
        if found is None:
            raise LookupError(run_id)
        return pages.run_page(*found)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/") or "/"
        if method not in ("GET", "HEAD"):
            return self._send(
                start_response,
                "405 Method Not Allowed",
                "text/plain",
                "read-only\n",
                [("Allow", "GET, HEAD")],
            )
        try:
            if path == "/health":
                return self._send(start_response, "200 OK", "text/plain", "ok\n")
            if path == "/":
                return self._send(
                    start_response, "200 OK", "text/html", pages.overview_page(self._view())
                )
            if path == "/api/overview.json":
                data = json.dumps(redact_obj(asdict(self._view())), default=str, indent=2)
                return self._send(start_response, "200 OK", "application/json", data)
            if path.startswith("/runs/"):
                run_id = path.removeprefix("/runs/").strip("/")
                try:
                    return self._send(start_response, "200 OK", "text/html", self._run(run_id))
                except LookupError:
                    return self._send(
                        start_response,
                        "404 Not Found",
                        "text/html",
                        pages.not_found(f"run {run_id}"),
                    )
        except Exception as exc:  # noqa: BLE001 - a page must never leak a traceback
            message = f"the dashboard could not read its data: {type(exc).__name__}: {exc}\n"
            return self._send(
                start_response, "500 Internal Server Error", "text/plain", str(redact_obj(message))
            )
        return self._send(start_response, "404 Not Found", "text/html", pages.not_found(path))

    @staticmethod
    def _send(
        start_response: StartResponse,
        status: str,
        content_type: str,
        body: str,
        extra: list[tuple[str, str]] | None = None,
    ) -> list[bytes]:
        data = body.encode("utf-8")
        headers = [
            ("Content-Type", f"{content_type}; charset=utf-8"),
            ("Content-Length", str(len(data))),
            *SECURITY_HEADERS,
            *(extra or []),
        ]
        start_response(status, headers)
        return [data]
