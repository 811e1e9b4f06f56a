"""auto's model runtime and the qwak compatibility package (imported from the shim dir)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from qwak_auto import runtime


def shim(name: str) -> Any:
    """A module of the compatibility packages (on sys.path only in build environments)."""
    return importlib.import_module(name)


@pytest.fixture(autouse=True)
def _shim(qwak_shim: Path) -> None:
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
        @qwak.api(analytics=False)
        def predict(self, df):
            return df * 2

        @qwak.analytics()
        def third(self, x):
            return x + 1

    assert M().predict(2) == 4
    assert M().third(1) == 2
    # As in qwak-core, the decorator must be called: a bare `@qwak.api` raises.
    with pytest.raises(TypeError, match="You forgot to call the `@api` decorator"):

        class Bare:
            @qwak.api
            def predict(self, df):
                return df


def test_input_adapters_are_left_on_predict_and_calls_pass_through() -> None:
    qwak = shim("qwak")
    adapters = shim("qwak.model.adapters")

    class M:
        @qwak.api(
            input_adapter=adapters.JsonInputAdapter(), output_adapter=adapters.JsonOutputAdapter()
        )
        def as_json(self, rows):
            return rows

    frame = pd.DataFrame({"a": [1, 2], "b": [3, 4]})
    # Called directly, predict gets what it is given (qwak-core's wrapper adapts nothing);
    # the server and run_local read the adapters (tests/unit/runtime/test_qwak_shim.py).
    assert M().as_json(frame) is frame
    assert isinstance(M.as_json._input_adapter, adapters.JsonInputAdapter)
    assert isinstance(M.as_json._output_adapter, adapters.JsonOutputAdapter)
    entities = shim("qwak.model.schema_entities")
    assert entities.RequestInput("x", str).name == "x"


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

    client = RealTimeClient(model_id="churn", model_api="http://127.0.0.1:9/")
    assert client.model_api == "http://127.0.0.1:9/v1/churn/predict"
    full = RealTimeClient(model_id="churn", model_api="http://127.0.0.1:9/v1/churn/predict")
    assert full.model_api == "http://127.0.0.1:9/v1/churn/predict"
    blue = RealTimeClient(model_id="churn", variation="blue", model_api="http://127.0.0.1:9")
    assert blue.model_api == "http://127.0.0.1:9/v1/churn/blue/predict"
