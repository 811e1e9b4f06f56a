"""The model server's WSGI app (gunicorn serves it locally and in the container).

Routes: POST ``/v1/<model_id>/predict``, ``/v1/<model_id>/<variation>/predict`` and ``/``
(the paths Qwak's RealTimeClient calls), ``/predict``, ``/invocations`` (MLflow's shapes); GET
``/health`` (alive), ``/ready`` (model loaded in every worker), ``/metrics`` (Prometheus),
``/ping`` and ``/version`` (as MLflow's scoring server answers them). A Qwak model's adapters
(``@qwak.api``) decide what ``predict`` receives and how its answer is encoded
(serve/adapters.py, serve/outputs.py). With API keys (``--api-keys-file``) a prediction needs
``Authorization: Bearer <key>`` (serve/auth.py).

A worker loads the model in a thread, so ``/ready`` can answer 503 while it loads; a
prediction that arrives meanwhile waits for the load (within the request timeout) rather
than failing. ``predict`` runs on a small thread pool so a slow model is answered 504 after
``http_request_timeout_ms`` and the worker goes on serving. The prediction log and metric
snapshots are written by one background thread per worker, never on the request path.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import json
import os
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qwak_auto import __version__
from qwak_auto.redact import redact
from qwak_auto.serve import adapters, auth, outputs
from qwak_auto.serve.io import BadRequest, Payload
from qwak_auto.serve.metrics import Metrics
from qwak_auto.serve.predlog import PredictionLog
from qwak_auto.serve.replies import JSON, Refused, StartResponse, raw, read_body, reply
from qwak_auto.serve.worker import Background, ModelHolder, PredictPool, load_model

HTTP_EXCEPTIONS = frozenset({"QwakHTTPException", "InferenceException", "MockHttpException"})


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
    api_keys: tuple[str, ...] = ()  # non-empty: predictions need `Authorization: Bearer KEY`


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
        self._iface: tuple[Any, adapters.Interface] | None = None

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
            return reply(start_response, 405, {"error": f"{method} is not allowed"})
        route = self._route(path)
        if route is None:
            return reply(start_response, 404, {"error": self._not_found(path)})
        if self.settings.api_keys and not auth.authorized(
            environ.get("HTTP_AUTHORIZATION", ""), self.settings.api_keys
        ):
            self.metrics.observe(route, 401, 0.0, None)
            self.metrics.error("unauthorized")
            body = {"error": auth.REFUSED}
            return reply(start_response, 401, body, [auth.CHALLENGE], route=route)
        return self._predict(route, environ, start_response)

    def _get(self, path: str, start_response: StartResponse) -> Iterable[bytes]:
        if path == "/health":
            return reply(start_response, 200, {"status": "alive"})
        if path == "/ping":
            # MLflow's scoring server: 200 with a newline once the model is loaded.
            if self.holder.ready:
                return raw(start_response, 200, b"\n", JSON)
            status = "failed" if self.holder.error else "loading"
            return reply(start_response, 503, {"status": status})
        if path == "/version":
            return raw(start_response, 200, __version__.encode(), JSON)
        if path == "/ready":
            if self.holder.error:
                return reply(start_response, 503, {"status": "failed", "error": "model load"})
            if self.all_ready():
                body = {"status": "ready", "build_id": self.settings.build_id}
                return reply(start_response, 200, body)
            return reply(start_response, 503, {"status": "loading"})
        if path == "/metrics":
            text = self.metrics.render(self.holder.ready).encode()
            return raw(start_response, 200, text, "text/plain; version=0.0.4")
        if self._route(path) is not None:
            return reply(start_response, 405, {"error": "predictions are POST requests"})
        return reply(start_response, 404, {"error": self._not_found(path)})

    def _route(self, path: str) -> str | None:
        if path in ("/predict", "/invocations"):
            return path[1:]
        if path == "/":
            return "v1"  # Qwak's RealTimeClient posts to `model_api` as given
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
            f"/v1/{s.model_id}/{s.variation}/predict, /predict, / and /invocations"
        )

    def _interface(self, model: Any) -> adapters.Interface:
        if self._iface is None or self._iface[0] is not model:
            self._iface = (model, adapters.interface_of(model))
        return self._iface[1]

    def _predict(
        self, route: str, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        started = time.perf_counter()
        # auto's own smoke requests before a build takes traffic: answered like any other,
        # never counted as client traffic nor logged as production predictions
        record = environ.get("HTTP_X_AUTO_SMOKE") != "1"
        fail = functools.partial(self._fail, record=record)
        request: adapters.Request | None = None
        stage = "read the request"
        try:
            body = read_body(environ, self.settings.max_body_bytes)
            model = self.holder.wait(self.timeout)
            if model is None:
                raise Refused(503, "the model is not loaded yet", "not_ready")
            iface = self._interface(model)
            content_type = environ.get("CONTENT_TYPE", "")
            headers = {"adapter-name": environ.get("HTTP_ADAPTER_NAME", "")}
            request = adapters.read_request(iface, route, body, content_type, headers)
            size = request.payload.size
            if size > self.settings.max_batch_size:
                raise Refused(
                    413,
                    f"batch of {size} rows exceeds max_batch_size="
                    f"{self.settings.max_batch_size}; send at most "
                    f"{self.settings.max_batch_size} rows per request",
                    "batch_too_large",
                )
            value = request.model_input()
            result = self._run(model, value, request)
            stage = "encode the prediction"
            output = outputs.write_output(iface, result)
        except BadRequest as exc:
            return fail(route, 400, str(exc), "bad_request", started, None, start_response)
        except Refused as exc:
            payload = request.payload if request else None
            return fail(
                route, exc.code, exc.message, exc.reason, started, payload, start_response,
                exc.headers,
            )  # fmt: skip
        except adapters.AdapterError as exc:
            payload = request.payload if request else None
            return fail(route, exc.code, exc.message, "adapter", started, payload, start_response)
        except Exception as exc:  # noqa: BLE001 - never a traceback to the client
            message = f"cannot {stage}: {type(exc).__name__}: {exc}"
            payload = request.payload if request else None
            return fail(route, 500, message, "encode", started, payload, start_response)
        data, content_type = output.body, output.content_type
        if route == "invocations":
            if output.log_text is None:
                message = (
                    f"the model answers {output.content_type}, which MLflow's JSON protocol "
                    f"cannot carry; call POST /v1/{self.settings.model_id}/predict instead"
                )
                return fail(route, 406, message, "not_acceptable", started, None, start_response)
            data, content_type = ('{"predictions": ' + output.log_text + "}").encode(), JSON
        start_response(
            "200 OK", [("Content-Type", content_type), ("Content-Length", str(len(data)))]
        )
        elapsed = time.perf_counter() - started
        if not record:
            return [data]
        self.metrics.observe(route, 200, elapsed, request.payload.size)
        iface = self._interface(model)
        if self._sampled(iface):
            payload = _without(request.payload, iface.exclude_columns)
            self.background.submit(payload, output.log_text, elapsed * 1000.0, 200)
        return [data]

    def _run(self, model: Any, value: Any, request: adapters.Request) -> Any:
        """``model.predict(value)`` on the pool, within the request timeout."""
        try:
            return self.pool.run(lambda: model.predict(value), self.timeout)
        except concurrent.futures.TimeoutError:
            raise Refused(
                504,
                f"prediction took longer than http_request_timeout_ms={self.settings.timeout_ms}",
                "timeout",
            ) from None
        except Exception as exc:  # noqa: BLE001 - the model's own failure
            raise _model_failure(exc, request) from None

    def _fail(
        self,
        route: str,
        code: int,
        message: str,
        reason: str,
        started: float,
        payload: Payload | None,
        start_response: StartResponse,
        headers: Sequence[tuple[str, str]] = (),
        *,
        record: bool = True,
    ) -> Iterable[bytes]:
        if not record:
            return reply(start_response, code, {"error": redact(message)}, headers, route=route)
        elapsed = time.perf_counter() - started
        self.metrics.observe(route, code, elapsed, payload.size if payload else None)
        self.metrics.error(reason)
        if payload is not None and code in (500, 504) and self._sampled(None):
            self.background.submit(payload, None, elapsed * 1000.0, code)
        return reply(start_response, code, {"error": redact(message)}, headers, route=route)

    def _sampled(self, iface: adapters.Interface | None) -> bool:
        rate = self.settings.sample_rate
        if iface is not None:
            if not iface.analytics:
                return False  # @qwak.api(analytics=False)
            rate *= min(max(iface.sample_ratio, 0.0), 1.0)
        return rate >= 1.0 or (rate > 0 and random.random() < rate)


def _model_failure(exc: Exception, request: adapters.Request) -> Refused:
    """How a failed ``predict`` is answered: a QwakHTTPException's own status and message;
    400 when the rows came without column names (the model could not take them as
    records, as MLflow answers); else 500."""
    status = getattr(exc, "status_code", None)
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & HTTP_EXCEPTIONS and isinstance(status, int) and 400 <= status < 600:
        message = getattr(exc, "message", None)
        text = message if isinstance(message, str) else json.dumps(message, default=str)
        header = (
            "X-Exception-Class",
            str(getattr(exc, "exception_class_name", type(exc).__name__)),
        )
        return Refused(status, text, "model_http_error", (header,))
    detail = f"{type(exc).__name__}: {exc}"
    if request.tabular and not request.payload.named:
        return Refused(
            400,
            "the model cannot take rows without column names (lists, not records): "
            f"{detail}; send records (objects with column names), `dataframe_split` with "
            "`columns`, or CSV with a header line",
            "bad_request",
        )
    return Refused(500, f"predict failed: {detail}", "predict")


def _without(payload: Payload, columns: Sequence[str]) -> Payload:
    """The payload without ``analytics_exclude_columns`` (kept out of the prediction log)."""
    if not columns:
        return payload
    drop = set(columns)
    return Payload(
        records=[{k: v for k, v in r.items() if k not in drop} for r in payload.as_records()]
    )


def build_app(settings: Settings, on_failure: Callable[[str], None] | None = None) -> ServeApp:
    """The app with its model loading in the background (``on_failure`` gets the traceback)."""
    app = ServeApp(settings, ModelHolder(lambda: load_model(settings.artifact)))
    app.start(on_failure or (lambda _error: None))
    return app
