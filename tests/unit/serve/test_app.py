"""The WSGI app driven directly (no gunicorn): routes, refusals, readiness, the log."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from qwak_auto.serve.app import ServeApp, Settings
from qwak_auto.serve.worker import ModelHolder


class Doubler:
    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        if "sleep" in df.columns:
            time.sleep(float(df["sleep"].iloc[0]))
        if "fail" in df.columns:
            raise ValueError("no good")
        return pd.DataFrame({"score": df["x"] * 2})


def call(app: ServeApp, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    raw = (
        body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
    )
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_LENGTH": str(len(raw)),
        "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(raw),
    }
    seen: list[str] = []
    chunks = app(environ, lambda status, headers: seen.append(status))
    data = b"".join(chunks)
    code = int(seen[0].split()[0])
    try:
        return code, json.loads(data)
    except ValueError:
        return code, data.decode()


def make_app(tmp_path: Path, loader: Any = Doubler, **kw: Any) -> ServeApp:
    settings = Settings(
        artifact=tmp_path, model_id="churn", build_id="b1", timeout_ms=300,
        max_batch_size=3, predictions_dir=tmp_path / "predictions", **kw,
    )  # fmt: skip
    return ServeApp(settings, ModelHolder(loader))


@pytest.fixture
def app(tmp_path: Path):
    app = make_app(tmp_path)
    app.start(lambda error: None)
    app.holder.wait(5)
    yield app
    app.close()


def test_routes(app: ServeApp) -> None:
    for path in ("/v1/churn/predict", "/v1/churn/default/predict", "/predict"):
        assert call(app, "POST", path, [{"x": 1}]) == (200, [{"score": 2}])
    assert call(app, "POST", "/invocations", {"instances": [{"x": 1}]}) == (
        200,
        {"predictions": [{"score": 2}]},
    )
    assert call(app, "POST", "/v1/churn/blue/predict", [{"x": 1}])[0] == 404
    assert call(app, "GET", "/v1/churn/predict")[0] == 405
    assert call(app, "PUT", "/predict", [{"x": 1}])[0] == 405
    assert call(app, "GET", "/nope")[0] == 404
    assert call(app, "GET", "/health") == (200, {"status": "alive"})


def test_refusals(app: ServeApp) -> None:
    code, body = call(app, "POST", "/predict", [{"x": 1}] * 4)
    assert (code, body["error"]) == (
        413,
        "batch of 4 rows exceeds max_batch_size=3; send at most 3 rows per request",
    )
    assert call(app, "POST", "/predict", b"{nope")[0] == 400
    code, body = call(app, "POST", "/predict", [{"x": 1, "sleep": 1}])
    assert (code, body["error"]) == (504, "prediction took longer than http_request_timeout_ms=300")
    code, body = call(app, "POST", "/predict", [{"x": 1, "fail": 1}])
    assert (code, body["error"]) == (500, "predict failed: ValueError: no good")
    assert call(app, "POST", "/predict", [{"x": 1}]) == (200, [{"score": 2}])
    metrics = call(app, "GET", "/metrics")[1]
    assert 'auto_model_errors_total{reason="timeout"} 1' in metrics


def test_ready_waits_for_the_model_and_predictions_wait_too(tmp_path: Path) -> None:
    gate = threading.Event()

    def slow_loader() -> Doubler:
        gate.wait(5)
        return Doubler()

    app = make_app(tmp_path, slow_loader, sample_rate=0.0)
    app.start(lambda error: None)
    try:
        assert call(app, "GET", "/ready") == (503, {"status": "loading"})
        threading.Timer(0.1, gate.set).start()
        assert call(app, "POST", "/predict", [{"x": 2}]) == (200, [{"score": 4}])
        assert call(app, "GET", "/ready")[0] == 200
    finally:
        app.close()


def test_load_failure_is_reported(tmp_path: Path) -> None:
    def broken() -> Doubler:
        raise RuntimeError("cannot unpickle")

    errors: list[str] = []
    app = make_app(tmp_path, broken)
    app.start(errors.append)
    try:
        app.holder.wait(5)
        assert "RuntimeError: cannot unpickle" in errors[0]
        assert call(app, "GET", "/ready")[1]["status"] == "failed"
        assert call(app, "POST", "/predict", [{"x": 1}])[0] == 503
    finally:
        app.close()


def test_predictions_are_logged_on_close(app: ServeApp, tmp_path: Path) -> None:
    call(app, "POST", "/predict", {"columns": ["x"], "data": [[1], [2]]})
    call(app, "POST", "/predict", b"{nope")  # not logged: nothing was predicted
    app.close()
    (segment,) = (tmp_path / "predictions" / "churn" / "default").iterdir()
    lines = [json.loads(line) for line in segment.read_text().splitlines()]
    assert [(x["features"], x["prediction"]) for x in lines] == [
        ({"x": 1}, {"score": 2}),
        ({"x": 2}, {"score": 4}),
    ]
