"""The dashboard's WSGI app. GET/HEAD only: there are no write actions, and no secrets.

Routes: ``/`` (automations, deployed builds with their last hour of traffic, gated metrics,
run history), ``/runs/ID`` (``/logs/NAME``), ``/builds/ID`` (``/log``), ``/deployments/ID``
(``/log``), ``/api/overview.json``, ``/api/traffic.json``, ``/static/dashboard.js`` and
``/health``. Every page and log is passed through the secrets redactor.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qwak_auto.config import Config
from qwak_auto.redact import redact, redact_obj
from qwak_auto.ui import data, detail, pages
from qwak_auto.ui.static import SCRIPT
from qwak_auto.ui.traffic import Sampler, Traffic

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Environ = dict[str, Any]

SECURITY_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; script-src 'self'; "
        "connect-src 'self'",
    ),
    ("Cache-Control", "no-store"),
]
_ID = re.compile(r"[A-Za-z0-9_.:-]{1,200}\Z")
_LOG_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}\.log\Z")


class NotFound(Exception):
    pass


class Dashboard:
    def __init__(self, paths: list[Path], config: Config, sample_every: float = 10.0) -> None:
        self.paths = paths
        self.config = config
        self.sampler = Sampler(self._serving, interval=sample_every)

    # ---------------------------------------------------------------- data
    def _store(self) -> Any:
        from qwak_auto.state import open_store

        return open_store(self.config)

    def _serving(self) -> Sequence[Any]:
        store = self._store()
        try:
            return list(store.deployments(status="serving", limit=200))
        finally:
            store.close()

    def _automations(self) -> tuple[list[Any], list[Any]]:
        from qwak_auto.automation.validate import load_automations

        if not self.paths:
            return [], []
        automations, problems = load_automations(self.paths, self.config)
        return list(automations), list(problems)

    def _zones(self) -> dict[str, str]:
        return {a.name: data.zone_of(a) for a in self._automations()[0]}

    def _view(self) -> data.Overview:
        from qwak_auto.automation.problems import Severity

        automations, problems = self._automations()
        messages = [f"{p.location}: {p.message}" for p in problems if p.severity is Severity.ERROR]
        store = self._store()
        try:
            return data.overview(automations, store, problems=messages)
        finally:
            store.close()

    def _traffic(self, deployments: Sequence[Any]) -> dict[str, tuple[Traffic | None, str]]:
        return {d.deployment_id: self.sampler.traffic(d.deployment_id) for d in deployments}

    def traffic_json(self) -> dict[str, Any]:
        """{generated_at, window_seconds, deployments: [{deployment_id, model_id, environment,
        variation, build_id, address, state, requests, errors, error_share, p99_ms, since,
        per_minute}]}: the last hour of each serving deployment (nulls until sampled)."""
        out = []
        for record in self._serving():
            traffic, state = self.sampler.traffic(record.deployment_id)
            numbers = (
                asdict(traffic)
                if traffic is not None
                else dict.fromkeys(
                    ("requests", "errors", "error_share", "p99_ms", "since", "per_minute")
                )
            )
            if traffic is not None:
                numbers["since"] = datetime.fromtimestamp(traffic.since, tz=UTC).isoformat()
            out.append(
                {
                    "deployment_id": record.deployment_id,
                    "model_id": record.model_id,
                    "environment": record.environment,
                    "variation": record.variation,
                    "build_id": record.build_id,
                    "address": record.address,
                    "state": state,
                    **numbers,
                }
            )
        return {
            "generated_at": datetime.now(UTC).isoformat(),
            "window_seconds": 3600,
            "deployments": out,
        }

    # ---------------------------------------------------------------- pages
    def _overview(self) -> str:
        view = self._view()
        return pages.overview_page(view, self._traffic(view.deployments))

    def _run(self, rest: str) -> tuple[str, str]:
        run_id, _, tail = rest.partition("/logs/")
        store = self._store()
        try:
            view = data.run_view(store, self.config.home, _checked(run_id), self._zones())
        finally:
            store.close()
        if view is None:
            raise NotFound(f"run {run_id}")
        if tail:
            if tail not in view.logs:
                raise NotFound(f"log {tail} of run {run_id}")
            path = self.config.home / "runs" / view.run.run_id / tail
            return "text/plain", redact(data.read_tail(path))
        return "text/html", detail.run_page(view)

    def _build(self, rest: str) -> tuple[str, str]:
        build_id, _, tail = rest.partition("/")
        store = self._store()
        try:
            build = data.build_record(store, _checked(build_id))
            deployments = data.deployments_of_build(store, build) if build else ()
        finally:
            store.close()
        if build is None:
            raise NotFound(f"build {build_id}")
        if tail == "log":
            path = Path(build.log_path) if build.log_path else None
            if path is None or not path.is_file():
                raise NotFound(f"the log of build {build_id}")
            return "text/plain", redact(data.read_tail(path))
        if tail:
            raise NotFound(f"/builds/{build_id}/{tail}")
        zone = self._zones().get(build.automation, "UTC")
        return "text/html", detail.build_page(build, deployments, zone)

    def _deployment(self, rest: str) -> tuple[str, str]:
        deployment_id, _, tail = rest.partition("/")
        store = self._store()
        try:
            record = data.deployment_record(store, _checked(deployment_id))
        finally:
            store.close()
        if record is None:
            raise NotFound(f"deployment {deployment_id}")
        if tail == "log":
            log = record.detail.get("log")
            if not isinstance(log, str) or not Path(log).is_file():
                raise NotFound(f"the server log of deployment {deployment_id}")
            return "text/plain", redact(data.read_tail(Path(log)))
        if tail:
            raise NotFound(f"/deployments/{deployment_id}/{tail}")
        zone = self._zones().get(record.automation, "UTC")
        traffic = self.sampler.traffic(record.deployment_id)
        return "text/html", detail.deployment_page(record, zone, traffic)

    def _route(self, path: str) -> tuple[str, str, str]:
        """(status, content type, body) of a GET."""
        if path == "/health":
            return "200 OK", "text/plain", "ok\n"
        if path == "/":
            return "200 OK", "text/html", self._overview()
        if path == "/static/dashboard.js":
            return "200 OK", "text/javascript", SCRIPT
        if path == "/api/overview.json":
            body = json.dumps(redact_obj(asdict(self._view())), default=str, indent=2)
            return "200 OK", "application/json", body
        if path == "/api/traffic.json":
            body = json.dumps(redact_obj(self.traffic_json()), default=str)
            return "200 OK", "application/json", body
        for prefix, handler in (
            ("/runs/", self._run),
            ("/builds/", self._build),
            ("/deployments/", self._deployment),
        ):
            if path.startswith(prefix):
                kind, body = handler(path.removeprefix(prefix).strip("/"))
                return "200 OK", kind, body
        raise NotFound(path)

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
        self.sampler.start()  # here, not in __init__: gunicorn workers fork after the app
        try:
            code, kind, body = self._route(path)
        except NotFound as exc:
            return self._send(
                start_response, "404 Not Found", "text/html", pages.not_found(str(exc))
            )
        except Exception as exc:  # noqa: BLE001 - a page must never leak a traceback
            message = f"the dashboard could not read its data: {type(exc).__name__}: {exc}\n"
            return self._send(
                start_response, "500 Internal Server Error", "text/plain", str(redact_obj(message))
            )
        return self._send(start_response, code, kind, body)

    @staticmethod
    def _send(
        start_response: StartResponse,
        status: str,
        content_type: str,
        body: str,
        extra: list[tuple[str, str]] | None = None,
    ) -> list[bytes]:
        payload = body.encode("utf-8")
        headers = [
            ("Content-Type", f"{content_type}; charset=utf-8"),
            ("Content-Length", str(len(payload))),
            *SECURITY_HEADERS,
            *(extra or []),
        ]
        start_response(status, headers)
        return [payload]


def _checked(identifier: str) -> str:
    if not _ID.match(identifier):
        raise NotFound(identifier)
    return identifier
