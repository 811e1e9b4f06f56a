"""The server honours a Qwak model's input and output adapters (``@qwak.api(...)``)."""

from __future__ import annotations

import importlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from qwak_auto.serve.app import ServeApp
from tests.unit.serve.test_app import call, make_app

Seen = list[tuple[str, list[tuple[str, str]]]]


@pytest.fixture
def qwak(qwak_shim: Path) -> Any:
    return importlib.import_module("qwak")


@pytest.fixture
def adapters(qwak_shim: Path) -> Any:
    return importlib.import_module("qwak.model.adapters")


def serving(tmp_path: Path, model: Any, **settings: Any) -> ServeApp:
    app = make_app(tmp_path, lambda: model, **settings)
    app.start(lambda error: None)
    app.holder.wait(5)
    return app


def content_type(seen: Seen) -> str:
    return dict(seen[-1][1])["Content-Type"]


def test_json_in_json_out(tmp_path: Path, qwak: Any, adapters: Any) -> None:
    received: list[Any] = []

    class M:
        @qwak.api(
            input_adapter=adapters.JsonInputAdapter(), output_adapter=adapters.JsonOutputAdapter()
        )
        def predict(self, data):
            received.append(data)
            return {"n": len(data), "first": data[0]}

    app = serving(tmp_path, M())
    try:
        assert call(app, "POST", "/v1/churn/predict", [{"a": 1}, {"a": 2}]) == (
            200,
            {"n": 2, "first": {"a": 1}},
        )
        assert received == [[{"a": 1}, {"a": 2}]]
        # MLflow's envelope: the adapter gets the value under its key.
        assert call(app, "POST", "/invocations", {"inputs": [5, 6]}) == (
            200,
            {"predictions": {"n": 2, "first": 5}},
        )
        code, body = call(app, "POST", "/predict", b"{nope")
        assert code == 400
        assert "malformed JSON" in body["error"]
    finally:
        app.close()


def test_default_adapters_answer_as_qwak(tmp_path: Path, qwak: Any, adapters: Any) -> None:
    class Frame:
        @qwak.api()
        def predict(self, df):
            return pd.DataFrame({"y": df["x"] * 2})

    class Split:
        @qwak.api(output_adapter=adapters.DataFrameOutputAdapter(output_orient="split"))
        def predict(self, df):
            return pd.DataFrame({"y": df["x"] * 2})

    class Plain:
        @qwak.api(output_adapter=adapters.DefaultOutputAdapter())
        def predict(self, df):
            return {"total": int(df["x"].sum())}

    frame = pd.DataFrame({"x": [1, 2]})
    split = serving(tmp_path / "s", Split())
    try:  # MLflow's predictions and the log hold records, whatever the body's orient
        assert call(split, "POST", "/invocations", {"inputs": {"x": [1]}}) == (
            200,
            {"predictions": [{"y": 2}]},
        )
    finally:
        split.close()
    (segment,) = (tmp_path / "s" / "predictions" / "churn" / "default").iterdir()
    (line,) = [json.loads(text) for text in segment.read_text().splitlines()]
    assert (line["features"], line["prediction"]) == ({"x": 1}, {"y": 2})
    for model, expected in (
        (Frame(), [{"y": 2}, {"y": 4}]),
        (Split(), {"columns": ["y"], "index": [0, 1], "data": [[2], [4]]}),
        (Plain(), {"total": 3}),
    ):
        app = serving(tmp_path, model, sample_rate=0.0)
        try:
            body = frame.to_json(orient="split").encode()  # what RealTimeClient sends
            assert call(app, "POST", "/v1/churn/predict", body) == (200, expected)
        finally:
            app.close()


def test_index_orient_input(tmp_path: Path, qwak: Any, adapters: Any) -> None:
    class M:
        @qwak.api(input_adapter=adapters.DataFrameInputAdapter(input_orient="index"))
        def predict(self, df):
            return pd.DataFrame({"y": df["x"] * 2})

    app = serving(tmp_path, M(), sample_rate=0.0)
    try:
        body = pd.DataFrame({"x": [1, 2]}).to_json(orient="index").encode()
        assert call(app, "POST", "/predict", body) == (200, [{"y": 2}, {"y": 4}])
    finally:
        app.close()


def test_string_and_numpy(tmp_path: Path, qwak: Any, adapters: Any) -> None:
    class Text:
        @qwak.api(
            input_adapter=adapters.StringInputAdapter(), output_adapter=adapters.JsonOutputAdapter()
        )
        def predict(self, text):
            return {"upper": text.upper()}

    class Array:
        @qwak.api(
            input_adapter=adapters.NumpyInputAdapter(dtype="float32", shape=(-1, 2)),
            output_adapter=adapters.NumpyOutputAdapter(),
        )
        def predict(self, array):
            return array * 2

    app = serving(tmp_path, Text(), sample_rate=0.0)
    try:
        assert call(app, "POST", "/predict", b"hello") == (200, {"upper": "HELLO"})
    finally:
        app.close()
    app = serving(tmp_path, Array(), sample_rate=0.0)
    try:
        seen: Seen = []
        environ_body = json.dumps([[1, 2], [3, 4]]).encode()
        answers = app(
            {
                "REQUEST_METHOD": "POST",
                "PATH_INFO": "/predict",
                "CONTENT_LENGTH": str(len(environ_body)),
                "wsgi.input": io.BytesIO(environ_body),
            },
            lambda status, headers: seen.append((status, headers)),
        )
        result = np.load(io.BytesIO(b"".join(answers)), allow_pickle=False)
        assert seen[-1][0] == "200 OK"
        assert content_type(seen) == "application/x-npy"
        assert result.dtype == np.float32
        assert result.tolist() == [[2, 4], [6, 8]]
        code, body = call(app, "POST", "/invocations", {"instances": [[1, 2]]})
        assert code == 406
        assert "call POST /v1/churn/predict" in body["message"]
    finally:
        app.close()


def test_protobuf_in_and_out(tmp_path: Path, qwak: Any, adapters: Any) -> None:
    from google.protobuf.wrappers_pb2 import StringValue  # type: ignore[import-untyped]

    class Echo:
        @qwak.api(
            input_adapter=adapters.MultiInputAdapter(
                [adapters.JsonInputAdapter(), adapters.ProtoInputAdapter(StringValue)]
            ),
            output_adapter=adapters.AutodetectOutputAdapter(),
        )
        def predict(self, value):
            if isinstance(value, StringValue):
                return StringValue(value=value.value + "!")
            return {"json": value}

    app = serving(tmp_path, Echo(), sample_rate=0.0)
    try:
        seen: Seen = []
        code, text = call(
            app,
            "POST",
            "/predict",
            StringValue(value="hi").SerializeToString(),
            "application/octet-stream",
            headers={"Adapter-Name": "google.protobuf.StringValue"},
            seen=seen,
        )
        assert code == 200
        assert content_type(seen) == "application/octet-stream"
        assert StringValue.FromString(text.encode()).value == "hi!"
        assert call(app, "POST", "/predict", [1, 2]) == (200, {"json": [1, 2]})
    finally:
        app.close()


def test_an_adapter_needing_a_missing_package_says_which(
    tmp_path: Path, qwak: Any, adapters: Any
) -> None:
    class Tensor:
        @qwak.api(input_adapter=adapters.TfTensorInputAdapter())
        def predict(self, tensor):
            return tensor

    app = serving(tmp_path, Tensor(), sample_rate=0.0)
    try:
        code, body = call(app, "POST", "/predict", {"instances": [[1.0]]})
        assert code == 500
        assert "TfTensorInputAdapter needs the `tensorflow` package" in body["error"]
        code, body = call(app, "POST", "/predict", {"rows": [[1.0]]})
        assert (code, body["error"]) == (
            400,
            'TfTensorInputAdapter takes {"instances": [...]} (TF Serving format)',
        )
    finally:
        app.close()


def test_analytics_options_shape_the_prediction_log(tmp_path: Path, qwak: Any) -> None:
    class Quiet:
        @qwak.api(analytics=False)
        def predict(self, df):
            return pd.DataFrame({"y": df["x"]})

    class Private:
        @qwak.api(analytics_exclude_columns=["ssn"])
        def predict(self, df):
            return pd.DataFrame({"y": df["x"]})

    quiet = serving(tmp_path / "q", Quiet())
    call(quiet, "POST", "/predict", [{"x": 1}])
    quiet.close()
    assert not (tmp_path / "q" / "predictions").exists() or not any(
        (tmp_path / "q" / "predictions").rglob("*.jsonl")
    )
    private = serving(tmp_path / "p", Private())
    call(private, "POST", "/predict", [{"x": 1, "ssn": "123-45-6789"}])
    private.close()
    (segment,) = (tmp_path / "p" / "predictions" / "churn" / "default").iterdir()
    (line,) = [json.loads(text) for text in segment.read_text().splitlines()]
    assert (line["features"], line["prediction"]) == ({"x": 1}, {"y": 1})
