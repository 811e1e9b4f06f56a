"""The ``qwak_inference`` shim's RealTimeClient against a real HTTP server: what it sends
(qwak-inference's body for each orient, the bearer key) and what it returns (a list of dicts,
a DataFrame, bytes; QwakHTTPException with the server's status)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

ANSWER = [{"score": 0.5}, {"score": 0.25}]


@pytest.fixture
def client_module(qwak_shim: Path) -> Any:
    return importlib.import_module("qwak_inference.realtime_client.client")


def test_predict_sends_like_qwak_inference_and_returns_its_types(
    httpserver: HTTPServer, client_module: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Request] = []

    def answer(request: Request) -> Response:
        seen.append(request)
        return Response(json.dumps(ANSWER), content_type="application/json")

    httpserver.expect_request("/v1/churn/predict", method="POST").respond_with_handler(answer)
    monkeypatch.setenv("AUTO_API_KEY", "k" * 20)
    client = client_module.RealTimeClient("churn", model_api=httpserver.url_for("/"))
    frame = pd.DataFrame({"x": [1, 2]})
    formats = client_module.InferenceOutputFormat

    assert client.predict(frame) == ANSWER
    assert json.loads(seen[-1].get_data()) == json.loads(frame.to_json(orient="split"))
    assert seen[-1].headers["Authorization"] == "Bearer " + "k" * 20
    assert client.predict(frame, orient="records") == ANSWER
    assert json.loads(seen[-1].get_data()) == [{"x": 1}, {"x": 2}]
    assert client.predict({"x": 1}, metadata={"tier": "gold"}) == ANSWER
    assert json.loads(seen[-1].get_data()) == {"x": 1}
    assert seen[-1].headers["x-realtime-route-mode"] == "true"
    table = client.predict(frame, output_format=formats.PANDAS)
    assert table.to_dict("records") == ANSWER
    assert json.loads(client.predict(frame, output_format=formats.RAW)) == ANSWER


def test_errors_carry_the_status(httpserver: HTTPServer, client_module: Any) -> None:
    httpserver.expect_request("/v1/churn/predict").respond_with_response(
        Response(
            '{"error": "x must be positive"}',
            status=422,
            headers={"X-Exception-Class": "QwakHTTPException"},
        )
    )
    client = client_module.RealTimeClient("churn", model_api=httpserver.url_for("/"))
    with pytest.raises(client_module.QwakHTTPException) as caught:
        client.predict([{"x": -1}])
    assert caught.value.status_code == 422
    assert "x must be positive" in caught.value.message
    assert caught.value.exception_class_name == "QwakHTTPException"
