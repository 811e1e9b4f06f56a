"""Qwak's input and output adapters, honoured by auto's server and by ``run_local``.

A Qwak model declares with ``@qwak.api(input_adapter=..., output_adapter=...)`` what its
``predict`` takes (a DataFrame by default; parsed JSON, a string, a numpy array, a TensorFlow
tensor, an image, a file, a protobuf message) and how its result is sent back (JSON records by
default; JSON, ``.npy`` bytes, protobuf bytes). The decorator leaves the adapters on the
function as ``_input_adapter`` / ``_output_adapter`` (as qwak-core does); this module reads
them and does what Qwak's runtime does with each. A model without ``@qwak.api`` keeps auto's
own behaviour: a DataFrame in, JSON records out (see io.to_frame_json).

Adapters are recognised by class name along the MRO, so a model's subclass of
``JsonInputAdapter`` is a JSON adapter. Only stdlib, numpy and pandas are imported here;
TensorFlow, imageio and protobuf only when a model's adapter needs them.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qwak_auto.serve.io import (
    BadRequest,
    Payload,
    decode,
    is_csv,
    mlflow_input,
    parse_invocations,
    parse_predict,
)

INPUT_KINDS = {
    "DataFrameInputAdapter": "dataframe",
    "JsonInputAdapter": "json",
    "StringInputAdapter": "string",
    "NumpyInputAdapter": "numpy",
    "TfTensorInputAdapter": "tf_tensor",
    "ImageInputAdapter": "image",
    "FileInputAdapter": "file",
    "ProtoInputAdapter": "proto",
    "MultiInputAdapter": "multi",
}
OUTPUT_KINDS = {
    "DataFrameOutputAdapter": "dataframe",
    "JsonOutputAdapter": "json",
    "DefaultOutputAdapter": "default",
    "NumpyOutputAdapter": "numpy",
    "AutodetectOutputAdapter": "autodetect",
    "ProtoOutputAdapter": "proto",
    "TfTensorOutputAdapter": "tf_tensor",
}
JSON = "application/json"
TABULAR = ("records", "dataframe")


class AdapterError(Exception):
    """The model's adapter cannot work here (answered with ``code`` and this message)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Interface:
    """How a model's ``predict`` takes input and gives output, and what Qwak's analytics
    options say about logging it. ``records`` is auto's own default (no ``@qwak.api``)."""

    input_kind: str = "records"
    output_kind: str = "records"
    input_adapter: Any = None
    output_adapter: Any = None
    analytics: bool = True
    sample_ratio: float = 1.0
    exclude_columns: tuple[str, ...] = ()


def kind_of(adapter: Any, kinds: Mapping[str, str], default: str) -> str:
    if adapter is None:
        return default
    for cls in type(adapter).__mro__:
        if cls.__name__ in kinds:
            return kinds[cls.__name__]
    return "custom"


def interface_of(model: Any) -> Interface:
    predict = getattr(model, "predict", None)
    adapter_in = getattr(predict, "_input_adapter", None)
    adapter_out = getattr(predict, "_output_adapter", None)
    if adapter_in is None and adapter_out is None:
        return Interface()
    ratio = getattr(predict, "_analytics_sample_ratio", 1.0)
    return Interface(
        input_kind=kind_of(adapter_in, INPUT_KINDS, "dataframe"),
        output_kind=kind_of(adapter_out, OUTPUT_KINDS, "dataframe"),
        input_adapter=adapter_in,
        output_adapter=adapter_out,
        analytics=bool(getattr(predict, "_analytics", True)),
        sample_ratio=float(ratio) if isinstance(ratio, int | float) else 1.0,
        exclude_columns=tuple(str(c) for c in getattr(predict, "_analytics_exclude_columns", ())),
    )


# ------------------------------------------------------------------ input


@dataclass(frozen=True, slots=True)
class Request:
    """A parsed request: ``payload`` (rows: the batch size and the prediction log) and, for
    a non-tabular adapter, ``value``, what ``predict`` receives (else ``payload.frame()``)."""

    payload: Payload
    value: Any = None
    tabular: bool = True

    def model_input(self) -> Any:
        return self.payload.frame() if self.tabular else self.value


def read_request(
    iface: Interface, route: str, body: bytes, content_type: str, headers: Mapping[str, str]
) -> Request:
    """Parse a request body for ``iface``. MLflow's ``/invocations`` keeps its own envelope:
    a non-tabular adapter gets the JSON of the value under MLflow's key."""
    if iface.input_kind in TABULAR:
        orient = getattr(iface.input_adapter, "input_orient", None)
        if route == "invocations":
            return Request(parse_invocations(body, content_type))
        return Request(
            parse_predict(body, content_type, orient if isinstance(orient, str) else None)
        )
    if route == "invocations" and not is_csv(content_type):
        _key, inner = mlflow_input(body)
        body = json.dumps(inner).encode()
    value = decode_input(iface.input_kind, iface.input_adapter, body, headers, content_type)
    return Request(payload_of(value, body), value, tabular=False)


def decode_input(
    kind: str, adapter: Any, body: bytes, headers: Mapping[str, str], content_type: str = ""
) -> Any:
    """What ``predict`` receives from a body, for a non-tabular input adapter (and for a
    DataFrame adapter inside a MultiInputAdapter)."""
    if kind == "json":
        return decode(body)
    if kind == "string":
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("request body is not UTF-8 text") from None
    if kind == "numpy":
        return numpy_input(adapter, body)
    if kind == "tf_tensor":
        return tensor_input(body)
    if kind == "image":
        return image_input(body)
    if kind == "file":
        return io.BytesIO(body)
    if kind == "proto":
        return proto_input(adapter, body)
    if kind == "multi":
        return multi_input(adapter, body, headers, content_type)
    if kind == "dataframe":
        orient = getattr(adapter, "input_orient", None)
        return parse_predict(
            body, content_type, orient if isinstance(orient, str) else None
        ).frame()
    return custom_input(adapter, body)


def numpy_input(adapter: Any, body: bytes) -> Any:
    """NumpyInputAdapter: its own ``extract_user_func_arg`` (dtype and shape checks) gives
    ``[array]``; ``predict`` receives the array."""
    try:
        args = adapter.extract_user_func_arg(body)
    except Exception as exc:  # noqa: BLE001 - JSON, dtype or shape: the input's fault
        raise BadRequest(f"cannot read the body as an array: {exc}") from None
    return args[0] if isinstance(args, list | tuple) and len(args) == 1 else args


def tensor_input(body: bytes) -> Any:
    import base64

    def b64(item: Any) -> Any:
        if isinstance(item, dict) and "b64" in item:
            return base64.b64decode(item["b64"])
        return item

    try:
        parsed = json.loads(body, object_hook=b64)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest("Not a valid JSON format") from None
    if not isinstance(parsed, dict) or parsed.get("instances") is None:
        raise BadRequest('TfTensorInputAdapter takes {"instances": [...]} (TF Serving format)')
    tf = _optional("tensorflow", "TfTensorInputAdapter")
    return tf.constant(parsed["instances"])


def image_input(body: bytes) -> Any:
    imageio = _optional("imageio", "ImageInputAdapter")
    try:
        return imageio.imread(io.BytesIO(body), pilmode="RGB")
    except (ValueError, OSError) as exc:
        raise BadRequest(f"cannot read the body as an image: {exc}") from None


def proto_input(adapter: Any, body: bytes) -> Any:
    try:
        return adapter.extract_user_func_arg(body)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def multi_input(
    adapter: Any, body: bytes, headers: Mapping[str, str], content_type: str = ""
) -> Any:
    """MultiInputAdapter: the proto adapter named by ``Adapter-Name``, else the first inner
    adapter that can read the body (as qwak-core does)."""
    inner = list(getattr(adapter, "adapters", None) or ())
    wanted = headers.get("adapter-name")
    if wanted:
        for one in inner:
            descriptor = getattr(getattr(one, "message", None), "DESCRIPTOR", None)
            if descriptor is not None and wanted in (descriptor.name, descriptor.full_name):
                return proto_input(one, body)
    reasons: list[str] = []
    for one in inner:
        instance = one() if isinstance(one, type) else one
        kind = kind_of(instance, INPUT_KINDS, "dataframe")
        try:
            value = decode_input(kind, instance, body, headers, content_type)
        except (BadRequest, AdapterError) as exc:
            reasons.append(f"{type(instance).__name__}: {exc}")
            continue
        if value is None or (kind == "json" and value == [] and len(body) > 3):
            reasons.append(f"{type(instance).__name__}: nothing read")
            continue
        return value
    raise BadRequest(f"no input adapter could read the body ({'; '.join(reasons) or 'none'})")


def custom_input(adapter: Any, body: bytes) -> Any:
    """A model's own BaseInputAdapter subclass: its ``extract_user_func_arg`` decides."""
    try:
        return adapter.extract_user_func_arg(body)
    except (ValueError, TypeError) as exc:
        raise BadRequest(f"{type(adapter).__name__} cannot read the body: {exc}") from None


def payload_of(value: Any, body: bytes) -> Payload:
    """Rows for the batch size and the prediction log, from a non-tabular input."""
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and hasattr(value, "columns"):  # a DataFrame (MultiInputAdapter)
        return Payload(records=to_dict(orient="records"))
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and hasattr(value, "shape"):
        value = tolist()
    if isinstance(value, list):
        if value and all(isinstance(item, dict) for item in value):
            return Payload(records=value)
        return Payload(records=[{"input": item} for item in value])
    if isinstance(value, dict | str | int | float | bool):
        return Payload(records=[{"input": value}])
    return Payload(records=[{"input_bytes": len(body)}])


def _optional(module: str, adapter: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise AdapterError(
            500, f"{adapter} needs the `{module}` package: add it to the model's requirements"
        ) from None
