"""auto's ``qwak`` package: the APIs model code uses, and the clear error for what it leaves
out (the signatures are compared with qwak-core's in tests/integration/runtime/)."""

from __future__ import annotations

import importlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from qwak_auto import runtime
from qwak_auto.serve.metrics import render


@pytest.fixture(autouse=True)
def _shim(qwak_shim: Path) -> None:
    runtime.reset()


def shim(name: str) -> Any:
    return importlib.import_module(name)


def test_exceptions_keep_qwak_cores_fields() -> None:
    exceptions = shim("qwak.exceptions")

    error = exceptions.QwakException("no good", status_code=3)
    assert (error.message, error.status_code, str(error)) == ("no good", 3, "no good")
    assert isinstance(error, exceptions.QuietError)
    http = exceptions.QwakHTTPException(422, {"why": "x"})
    assert (http.status_code, http.message, http.exception_class_name) == (
        422,
        {"why": "x"},
        "QwakHTTPException",
    )
    assert isinstance(exceptions.QwakNotFoundException("m"), exceptions.QwakException)
    assert "Recommendation: retry." in str(
        exceptions.QwakRemoteBuildFailedException("failed", suggestion="retry")
    )


def test_qwak_timer_times_sections_into_the_metrics() -> None:
    qwak = shim("qwak")
    before = runtime.timings().get("prep", (0, 0.0))[0]

    with qwak.qwak_timer("prep"):
        pass

    @qwak.qwak_timer("prep")  # type: ignore[untyped-decorator]
    def step() -> int:
        return 1

    assert step() == 1
    count, seconds = runtime.timings()["prep"]
    assert count == before + 2
    assert seconds >= 0
    text = render([{"timers": {"prep": [2, 0.5]}}], {}, True)
    assert 'auto_model_timer_seconds_sum{name="prep"} 0.500000' in text
    assert 'auto_model_timer_seconds_count{name="prep"} 2' in text


def test_decorators_module_is_the_api() -> None:
    qwak = shim("qwak")
    api_module = shim("qwak.model.decorators.api")
    timer_module = shim("qwak.model.decorators.timer")
    assert qwak.api is api_module.api_decorator
    assert qwak.qwak_timer is timer_module.qwak_timer
    assert api_module.API_NOT_CONFIGURED_ERROR_MESSAGE.startswith("There has been an error")


def test_inference_output_formats() -> None:
    client = shim("qwak_inference.realtime_client.client")
    assert [f.name for f in client.InferenceOutputFormat] == ["PANDAS", "DICTIONARY", "RAW"]


@pytest.mark.parametrize(
    ("statement", "what"),
    [
        ("import qwak.feature_store", "Qwak's feature store"),
        ("from qwak.feature_store.online.client import OnlineClient", "Qwak's feature store"),
        ("from qwak import QwakClient", "Qwak's platform client"),
        ("from qwak.clients.build_orchestrator import BuildOrchestratorClient", "platform clients"),
        ("from qwak import load_file", "Qwak's hosted artifact store"),
        ("import qwak; qwak.load_model('m', 'b')", "Qwak's hosted model store"),
        ("from qwak.automations import Automation", "auto import-qwak"),
        ("from qwak.model.tools import wire_runtime_with_run_local", "dependency injection"),
        ("from qwak_inference import BatchInferenceClient", "batch inference"),
        ("from qwak_inference.feedback_client import FeedbackClient", "feedback service"),
        ("from qwak.exceptions.qwak_exception import QwakException", "not part of auto's"),
    ],
)
def test_left_out_apis_fail_with_a_clear_message(statement: str, what: str) -> None:
    with pytest.raises(ImportError) as caught:
        exec(statement, {})
    text = str(caught.value)
    assert what in text
    assert "migrating-from-qwak.md" in text


def test_feature_extraction_needs_the_feature_store() -> None:
    qwak = shim("qwak")
    with pytest.raises(ImportError, match=r"feature_extraction=True"):
        qwak.api(feature_extraction=True)


def test_unknown_names_stay_attribute_errors() -> None:
    qwak = shim("qwak")
    assert not hasattr(qwak, "no_such_thing")


def test_run_local_goes_through_the_adapters() -> None:
    qwak = shim("qwak")
    adapters = shim("qwak.model.adapters")
    run_local = shim("qwak.model.tools").run_local
    QwakModel: Any = shim("qwak.model.base").QwakModel

    class Json(QwakModel):  # type: ignore[misc]
        def build(self) -> None:
            qwak.log_metric({"built": 1})

        @qwak.api(
            input_adapter=adapters.JsonInputAdapter(), output_adapter=adapters.JsonOutputAdapter()
        )
        def predict(self, data):
            return {"sum": sum(data)}

    class Array(QwakModel):  # type: ignore[misc]
        def build(self) -> None:
            pass

        @qwak.api(
            input_adapter=adapters.NumpyInputAdapter(), output_adapter=adapters.NumpyOutputAdapter()
        )
        def predict(self, array):
            return array + 1

    class Frame(QwakModel):  # type: ignore[misc]
        def build(self) -> None:
            pass

        @qwak.api()
        def predict(self, df):
            return pd.DataFrame({"y": df["x"] * 2})

    assert json.loads(run_local(Json(), "[1, 2, 3]")) == {"sum": 6}
    assert runtime.current().metrics == {"built": 1}
    packed = run_local(Array(), b"[[1, 2]]")
    assert np.load(io.BytesIO(packed)).tolist() == [[2, 3]]
    payload = pd.DataFrame({"x": [1, 2]}).to_json()
    assert json.loads(run_local(Frame(), payload)) == [{"y": 2}, {"y": 4}]


def test_adapter_methods_work_on_their_own() -> None:
    adapters = shim("qwak.model.adapters")
    exceptions = shim("qwak.exceptions")

    assert adapters.JsonInputAdapter().extract_user_func_arg('{"a": 1}') == {"a": 1}
    assert adapters.StringInputAdapter().extract_user_func_arg(b"hi") == "hi"
    (array,) = adapters.NumpyInputAdapter(dtype="int64").extract_user_func_arg(b"[1, 2]")
    assert array.dtype == np.int64
    strict = adapters.NumpyInputAdapter(shape=(3,), enforce_shape=True)
    with pytest.raises(exceptions.QwakException, match="Expecting ndarray of shape"):
        strict.extract_user_func_arg(b"[1, 2]")
    with pytest.raises(exceptions.QwakException, match="Invalid dtype"):
        adapters.NumpyInputAdapter(dtype="no-such-type")
    frame = adapters.DataFrameInputAdapter().extract_user_func_arg('[{"x": 1}]')
    assert frame.to_dict("records") == [{"x": 1}]
    assert adapters.JsonOutputAdapter.pack_user_func_return_value({"é": np.int64(1)}) == '{"é": 1}'
    assert (
        adapters.DataFrameOutputAdapter.pack_user_func_return_value(pd.DataFrame({"y": [1]}))
        == '[{"y":1}]'
    )
    with pytest.raises(exceptions.QwakException, match=r"numpy\.ndarray"):
        adapters.NumpyOutputAdapter.pack_user_func_return_value([1])
    assert adapters.NumpyOutputAdapter.http_content_type() == {"Content-Type": "application/x-npy"}
    assert issubclass(adapters.AutodetectOutputAdapter, adapters.ProtoOutputAdapter)
    with pytest.raises(TypeError):
        adapters.BaseInputAdapter()  # abstract, as in qwak-core
