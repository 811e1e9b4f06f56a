"""auto's model runtime and the qwak compatibility package (imported from the shim dir)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from qwak_auto import runtime

SHIM = Path(runtime.__file__).resolve().parent / "shim"


def shim(name: str) -> Any:
    """A module of the compatibility packages (on sys.path only in build environments)."""
    return importlib.import_module(name)


@pytest.fixture(autouse=True)
def _shim(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(SHIM))
    runtime.reset()


def test_model_parameters_and_logging() -> None:
    runtime.reset({"n": "3"}, {"K": "V"})

    class M(runtime.Model):
        def build(self) -> None:
            self.log_metric("f1", 0.5)
            self.log_param("n", int(self.parameters["n"]))

    model = M()
    model.build()
    assert runtime.current().metrics == {"f1": 0.5}
    assert runtime.current().params == {"n": "3"}
    assert model.env_vars == {"K": "V"}
    model.parameters = {"own": "x"}  # Qwak models may assign attributes of that name
    assert model.parameters == {"own": "x"}


def test_qwak_logging_takes_dicts() -> None:
    qwak = shim("qwak")

    qwak.log_metric({"f1_score": 0.9, "accuracy": 0.8})
    qwak.log_param({"n_estimators": 300})
    qwak.log_data(dataframe=pd.DataFrame({"a": [1, 2]}), tag="train_data")
    log = runtime.current()
    assert log.metrics == {"f1_score": 0.9, "accuracy": 0.8}
    assert log.params == {"n_estimators": "300"}
    assert log.data == {"train_data": (2, 1)}
    with pytest.raises(TypeError, match="dict"):
        qwak.log_metric(0.5)


def test_qwak_model_is_an_auto_model() -> None:
    base = shim("qwak.model.base")
    QwakModel, QwakModelInterface = base.QwakModel, base.QwakModelInterface

    assert issubclass(QwakModel, runtime.Model)
    assert QwakModelInterface is QwakModel


def test_api_decorator_forms() -> None:
    qwak = shim("qwak")

    class M:
        @qwak.api(analytics=False, feature_extraction=True)
        def predict(self, df):
            return df * 2

        @qwak.api
        def other(self, x):
            return x

        @qwak.analytics()
        def third(self, x):
            return x + 1

    assert M().predict(2) == 4
    assert M().other(1) == 1
    assert M().third(1) == 2


def test_input_adapters_shape_what_predict_receives() -> None:
    qwak = shim("qwak")
    adapters = shim("qwak.model.adapters")

    class M:
        @qwak.api(
            input_adapter=adapters.JsonInputAdapter(), output_adapter=adapters.JsonOutputAdapter()
        )
        def as_json(self, rows):
            return rows

        @qwak.api(input_adapter=adapters.NumpyInputAdapter())
        def as_array(self, array):
            return array.shape

    frame = pd.DataFrame({"a": [1, 2], "b": [3, 4]})
    assert M().as_json(frame) == [{"a": 1, "b": 3}, {"a": 2, "b": 4}]
    assert M().as_array(frame) == (2, 2)
    entities = shim("qwak.model.schema_entities")
    assert entities.RequestInput("x").name == "x"


def test_schema_accepts_both_spellings() -> None:
    schema = shim("qwak.model.schema")
    ExplicitFeature, InferenceOutput = schema.ExplicitFeature, schema.InferenceOutput
    ModelSchema, Prediction = schema.ModelSchema, schema.Prediction

    old = ModelSchema(features=[ExplicitFeature("a", int)], predictions=[Prediction("p", float)])
    new = ModelSchema(inputs=[ExplicitFeature("a", int)], outputs=[InferenceOutput("p", float)])
    assert (
        old.to_dict()
        == new.to_dict()
        == {
            "inputs": [{"name": "a", "type": "int"}],
            "outputs": [{"name": "p", "type": "float"}],
        }
    )


def test_run_local_builds_once_and_returns_json() -> None:
    run_local = shim("qwak.model.tools").run_local

    class Doubler(shim("qwak.model.base").QwakModel):  # type: ignore[misc]
        builds = 0

        def build(self) -> None:
            type(self).builds += 1

        def predict(self, df):
            return pd.DataFrame({"y": df["x"] * 2})

    model = Doubler()
    payload = pd.DataFrame({"x": [1, 2]}).to_json()
    assert json.loads(run_local(model, payload)) == [{"y": 2}, {"y": 4}]
    run_local(model, pd.DataFrame({"x": [3]}).to_json(orient="records"))
    assert Doubler.builds == 1


def test_realtime_client_url() -> None:
    RealTimeClient = shim("qwak_inference").RealTimeClient
    _records = shim("qwak_inference.realtime_client.client")._records

    client = RealTimeClient(model_id="churn", model_api="http://127.0.0.1:9/")
    assert client._url() == "http://127.0.0.1:9/v1/churn/predict"
    assert _records(pd.DataFrame({"a": [1]})) == ([{"a": 1}], True)
    assert _records({"a": 1}) == ([{"a": 1}], False)
