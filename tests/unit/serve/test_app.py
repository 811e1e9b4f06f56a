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


def call(
    app: ServeApp,
    method: str,
    path: str,
    body: Any = None,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
    seen: list[tuple[str, list[tuple[str, str]]]] | None = None,
) -> tuple[int, Any]:
    raw = (
        body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
    )
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_LENGTH": str(len(raw)),
        "CONTENT_TYPE": content_type,
        "wsgi.input": io.BytesIO(raw),
    }
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    answers: list[tuple[str, list[tuple[str, str]]]] = [] if seen is None else seen
    chunks = app(environ, lambda status, hdrs: answers.append((status, hdrs)))
    data = b"".join(chunks)
    code = int(answers[-1][0].split()[0])
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


def test_ping_and_version_answer_as_mlflow(app: ServeApp) -> None:
    from qwak_auto import __version__

    seen: list[tuple[str, list[tuple[str, str]]]] = []
    assert call(app, "GET", "/ping", seen=seen) == (200, "\n")
    assert ("Content-Type", "application/json") in seen[-1][1]
    assert call(app, "GET", "/version") == (200, __version__)


def test_ping_answers_503_while_the_model_loads(tmp_path: Path) -> None:
    gate = threading.Event()

    def slow_loader() -> Doubler:
        gate.wait(5)
        return Doubler()

    app = make_app(tmp_path, slow_loader, sample_rate=0.0)
    app.start(lambda error: None)
    try:
        assert call(app, "GET", "/ping") == (503, {"status": "loading"})
        gate.set()
        app.holder.wait(5)
        assert call(app, "GET", "/ping") == (200, "\n")
    finally:
        app.close()


def test_csv_bodies_on_every_route(app: ServeApp) -> None:
    csv = b"x,name\n1,a\n2,b\n"
    for path in ("/predict", "/v1/churn/predict", "/"):
        assert call(app, "POST", path, csv, "text/csv") == (200, [{"score": 2}, {"score": 4}])
    assert call(app, "POST", "/invocations", csv, "text/csv; charset=utf-8") == (
        200,
        {"predictions": [{"score": 2}, {"score": 4}]},
    )
    code, body = call(app, "POST", "/predict", b'x,name\n1,"a\n', "text/csv")
    assert code == 400
    assert body["error"].startswith("malformed CSV")


def test_rows_without_names_the_model_cannot_take_are_400(app: ServeApp) -> None:
    """MLflow answers 400 for `instances` as a list of lists a model cannot take; so do we,
    with the reason, where the model's own failure on named rows stays a 500."""
    code, body = call(app, "POST", "/invocations", {"instances": [[1, 2]]})
    assert code == 400
    assert body["error_code"] == "BAD_REQUEST"
    assert "rows without column names" in body["message"]
    assert "KeyError" in body["message"]
    assert call(app, "POST", "/predict", [[1, 2]])[0] == 400
    code, body = call(app, "POST", "/invocations", {"instances": [{"x": 1, "fail": 1}]})
    assert (code, body["error_code"]) == (500, "INTERNAL_ERROR")


def test_positional_rows_reach_a_model_that_takes_them(tmp_path: Path) -> None:
    class Positional:
        def predict(self, df: pd.DataFrame) -> pd.DataFrame:
            return pd.DataFrame({"sum": df.iloc[:, 0] + df.iloc[:, 1]})

    app = make_app(tmp_path, Positional, sample_rate=0.0)
    app.start(lambda error: None)
    try:
        assert call(app, "POST", "/invocations", {"instances": [[1, 2], [3, 4]]}) == (
            200,
            {"predictions": [{"sum": 3}, {"sum": 7}]},
        )
    finally:
        app.close()


def test_api_keys_guard_predictions_not_probes(tmp_path: Path) -> None:
    key = "k3y-" + "x" * 28
    app = make_app(tmp_path, api_keys=(key, "another-key-of-length-24"), sample_rate=0.0)
    app.start(lambda error: None)
    app.holder.wait(5)
    try:
        seen: list[tuple[str, list[tuple[str, str]]]] = []
        code, body = call(app, "POST", "/v1/churn/predict", [{"x": 1}], seen=seen)
        assert code == 401
        assert "Authorization: Bearer" in body["error"]
        assert ("WWW-Authenticate", 'Bearer realm="auto"') in seen[-1][1]
        wrong = {"Authorization": "Bearer not-the-key-at-all-no"}
        assert call(app, "POST", "/predict", [{"x": 1}], headers=wrong)[0] == 401
        basic = {"Authorization": f"Basic {key}"}
        assert call(app, "POST", "/predict", [{"x": 1}], headers=basic)[0] == 401
        for given in (key, "another-key-of-length-24"):
            ok = {"Authorization": f"bearer {given}"}
            assert call(app, "POST", "/predict", [{"x": 1}], headers=ok) == (200, [{"score": 2}])
        code, body = call(app, "POST", "/invocations", {"instances": [{"x": 1}]})
        assert (code, body["error_code"]) == (401, "UNAUTHENTICATED")
        for path in ("/ping", "/health", "/ready", "/version"):
            assert call(app, "GET", path)[0] == 200
        assert 'auto_model_errors_total{reason="unauthorized"} 4' in call(app, "GET", "/metrics")[1]
    finally:
        app.close()


def test_a_qwak_http_exception_sets_the_answer(tmp_path: Path) -> None:
    class QwakHTTPException(Exception):  # what qwak.exceptions.QwakHTTPException carries
        def __init__(self, status_code: int, message: str) -> None:
            self.status_code = status_code
            self.message = message
            self.exception_class_name = "QwakHTTPException"

    class Picky:
        def predict(self, df: pd.DataFrame) -> pd.DataFrame:
            raise QwakHTTPException(422, "x must be positive")

    app = make_app(tmp_path, Picky, sample_rate=0.0)
    app.start(lambda error: None)
    try:
        seen: list[tuple[str, list[tuple[str, str]]]] = []
        code, body = call(app, "POST", "/predict", [{"x": -1}], seen=seen)
        assert (code, body) == (422, {"error": "x must be positive"})
        assert seen[-1][0] == "422 Unprocessable Entity"
        assert ("X-Exception-Class", "QwakHTTPException") in seen[-1][1]
    finally:
        app.close()
