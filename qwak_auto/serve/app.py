"""The model server's WSGI app (gunicorn serves it locally and in the container).

Routes: POST ``/v1/<model_id>/predict``, ``/v1/<model_id>/<variation>/predict`` (the paths
Qwak's RealTimeClient calls), ``/predict``, ``/invocations`` (MLflow's shapes); GET
``/health`` (alive), ``/ready`` (model loaded in every worker), ``/metrics`` (Prometheus).

A worker loads the model in a thread, so ``/ready`` can answer 503 while it loads; a
prediction that arrives meanwhile waits for the load (within the request timeout) rather
than failing. ``predict`` runs on a small thread pool so a slow model is answered 504 after
``http_request_timeout_ms`` and the worker goes on serving. The prediction log and metric
snapshots are written by one background thread per worker, never on the request path.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qwak_auto.redact import redact
from qwak_auto.serve.io import BadRequest, Payload, parse_invocations, parse_predict, to_frame_json
from qwak_auto.serve.metrics import Metrics
from qwak_auto.serve.predlog import PredictionLog
from qwak_auto.serve.worker import Background, ModelHolder, PredictPool, load_model

StartResponse = Callable[..., Any]
JSON = "application/json"


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    artifact: Path
    model_id: str
    variation: str = "default"
    build_id: str = ""
    environment: str = ""
    workers: int = 1
    timeout_ms: int = 5000
    max_batch_size: int = 1
    predictions_dir: Path | None = None
    sample_rate: float = 1.0
    rotate_records: int = 1000
    rotate_seconds: float = 60.0
    state_dir: Path | None = None  # shared by the workers: metric snapshots, ready markers
    max_body_bytes: int = 64 * 1024 * 1024


class ServeApp:
    def __init__(self, settings: Settings, holder: ModelHolder) -> None:
        self.settings = settings
        self.holder = holder
        info = {
            "model_id": settings.model_id,
            "build_id": settings.build_id,
            "variation": settings.variation,
            "environment": settings.environment,
        }
        self.metrics = Metrics(info, settings.state_dir)
        log = None
        if settings.predictions_dir is not None and settings.sample_rate > 0:
            log = PredictionLog(
                settings.predictions_dir,
                model_id=settings.model_id,
                build_id=settings.build_id,
                variation=settings.variation,
                environment=settings.environment,
                max_records=settings.rotate_records,
                max_seconds=settings.rotate_seconds,
            )
        self.background = Background(log, self.metrics)
        self.pool = PredictPool()
        self.timeout = settings.timeout_ms / 1000.0

    # ------------------------------------------------------------------ lifecycle

    def start(self, on_failure: Callable[[str], None]) -> None:
        self.holder.start(self._mark_ready, on_failure)

    def close(self) -> None:
        self.background.close()

    def _mark_ready(self) -> None:
        if self.settings.state_dir is not None:
            with contextlib.suppress(OSError):
                (self.settings.state_dir / f"ready-{os.getpid()}").touch()

    def all_ready(self) -> bool:
        if not self.holder.ready:
            return False
        if self.settings.state_dir is None:
            return True
        live = 0
        with contextlib.suppress(OSError):
            for marker in self.settings.state_dir.glob("ready-*"):
                with contextlib.suppress(ValueError, OSError):
                    os.kill(int(marker.name.split("-", 1)[1]), 0)
                    live += 1
        return live >= self.settings.workers

    # ------------------------------------------------------------------ WSGI

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/").rstrip("/") or "/"
        if method == "GET" or method == "HEAD":
            return self._get(path, start_response)
        if method != "POST":
            return _reply(start_response, 405, {"error": f"{method} is not allowed"})
        route = self._route(path)
        if route is None:
            return _reply(start_response, 404, {"error": self._not_found(path)})
        return self._predict(route, environ, start_response)

    def _get(self, path: str, start_response: StartResponse) -> Iterable[bytes]:
        if path == "/health":
            return _reply(start_response, 200, {"status": "alive"})
        if path == "/ready":
            if self.holder.error:
                return _reply(start_response, 503, {"status": "failed", "error": "model load"})
            if self.all_ready():
                body = {"status": "ready", "build_id": self.settings.build_id}
                return _reply(start_response, 200, body)
            return _reply(start_response, 503, {"status": "loading"})
        if path == "/metrics":
            text = self.metrics.render(self.holder.ready).encode()
            start_response(
                "200 OK",
                [("Content-Type", "text/plain; version=0.0.4"), ("Content-Length", str(len(text)))],
            )
            return [text]
        if self._route(path) is not None:
            return _reply(start_response, 405, {"error": "predictions are POST requests"})
        return _reply(start_response, 404, {"error": self._not_found(path)})

    def _route(self, path: str) -> str | None:
        if path in ("/predict", "/invocations"):
            return path[1:]
        parts = path.split("/")
        # ['', 'v1', model, 'predict'] or ['', 'v1', model, variation, 'predict']
        if len(parts) in (4, 5) and parts[1] == "v1" and parts[-1] == "predict":
            if parts[2] != self.settings.model_id:
                return None
            if len(parts) == 5 and parts[3] != self.settings.variation:
                return None
            return "v1"
        return None

    def _not_found(self, path: str) -> str:
        s = self.settings
        return (
            f"no route {path}: this server serves model {s.model_id!r} variation "
            f"{s.variation!r} at POST /v1/{s.model_id}/predict, "
            f"/v1/{s.model_id}/{s.variation}/predict, /predict and /invocations"
        )

    def _predict(
        self, route: str, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        started = time.perf_counter()
        payload: Payload | None = None
        output: str | None = None
        try:
            body = _read_body(environ, self.settings.max_body_bytes)
            if route == "invocations":
                payload = parse_invocations(body)
            else:
                payload = parse_predict(body, environ.get("CONTENT_TYPE", ""))
            if payload.size > self.settings.max_batch_size:
                raise _Refused(
                    413,
                    f"batch of {payload.size} rows exceeds max_batch_size="
                    f"{self.settings.max_batch_size}; send at most "
                    f"{self.settings.max_batch_size} rows per request",
                    "batch_too_large",
                )
            model = self.holder.wait(self.timeout)
            if model is None:
                raise _Refused(503, "the model is not loaded yet", "not_ready")
            frame = payload.frame()
            try:
                result = self.pool.run(lambda: model.predict(frame), self.timeout)
            except concurrent.futures.TimeoutError:
                raise _Refused(
                    504,
                    f"prediction took longer than http_request_timeout_ms="
                    f"{self.settings.timeout_ms}",
                    "timeout",
                ) from None
            except Exception as exc:  # noqa: BLE001 - the model's own failure: a 500
                raise _Refused(
                    500, f"predict failed: {type(exc).__name__}: {exc}", "predict"
                ) from None
            output = to_frame_json(result)
        except BadRequest as exc:
            return self._fail(route, 400, str(exc), "bad_request", started, None, start_response)
        except _Refused as exc:
            return self._fail(
                route, exc.code, exc.message, exc.reason, started, payload, start_response
            )
        except Exception as exc:  # noqa: BLE001 - never a traceback to the client
            message = f"cannot encode the prediction: {type(exc).__name__}: {exc}"
            return self._fail(route, 500, message, "encode", started, payload, start_response)
        text = '{"predictions": ' + output + "}" if route == "invocations" else output
        data = text.encode()
        start_response("200 OK", [("Content-Type", JSON), ("Content-Length", str(len(data)))])
        elapsed = time.perf_counter() - started
        self.metrics.observe(route, 200, elapsed, payload.size)
        if self._sampled():
            self.background.submit(payload, output, elapsed * 1000.0, 200)
        return [data]

    def _fail(
        self,
        route: str,
        code: int,
        message: str,
        reason: str,
        started: float,
        payload: Payload | None,
        start_response: StartResponse,
    ) -> Iterable[bytes]:
        elapsed = time.perf_counter() - started
        self.metrics.observe(route, code, elapsed, payload.size if payload else None)
        self.metrics.error(reason)
        if payload is not None and code in (500, 504) and self._sampled():
            self.background.submit(payload, None, elapsed * 1000.0, code)
        return _reply(start_response, code, {"error": redact(message)})

    def _sampled(self) -> bool:
        rate = self.settings.sample_rate
        return rate >= 1.0 or (rate > 0 and random.random() < rate)


class _Refused(Exception):
    def __init__(self, code: int, message: str, reason: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason


_STATUS = {
    200: "200 OK",
    400: "400 Bad Request",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    413: "413 Payload Too Large",
    500: "500 Internal Server Error",
    503: "503 Service Unavailable",
    504: "504 Gateway Timeout",
}


def _reply(start_response: StartResponse, code: int, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        _STATUS.get(code, f"{code} Error"),
        [("Content-Type", JSON), ("Content-Length", str(len(data)))],
    )
    return [data]


def _read_body(environ: dict[str, Any], limit: int) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH") or ""
    if length.strip():
        try:
            size = int(length)
        except ValueError:
            raise BadRequest(f"bad Content-Length {length!r}") from None
        if size > limit:
            raise _Refused(413, f"request body of {size} bytes exceeds {limit} bytes", "too_big")
        data: bytes = stream.read(size)
        return data
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise _Refused(413, f"request body exceeds {limit} bytes", "too_big")
    return data


def build_app(settings: Settings, on_failure: Callable[[str], None] | None = None) -> ServeApp:
    """The app with its model loading in the background (``on_failure`` gets the traceback)."""
    app = ServeApp(settings, ModelHolder(lambda: load_model(settings.artifact)))
    app.start(on_failure or (lambda _error: None))
    return app
