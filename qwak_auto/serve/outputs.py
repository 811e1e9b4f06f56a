"""Responses made by a model's output adapter (see serve/adapters.py for the input side).

``DataFrameOutputAdapter`` (the default of ``@qwak.api()``): a DataFrame or Series as JSON in
its ``output_orient``, anything else as JSON; ``JsonOutputAdapter``: JSON; ``DefaultOutputAdapter``:
a DataFrame as records, anything else as JSON; ``NumpyOutputAdapter``: ``.npy`` bytes;
``ProtoOutputAdapter``: the message's bytes; ``AutodetectOutputAdapter``: a message's bytes,
else as the default; ``TfTensorOutputAdapter``: the tensor as JSON. Without ``@qwak.api`` the
result becomes JSON records (io.to_frame_json), auto's own default.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

from qwak_auto.serve.adapters import JSON, AdapterError, Interface


@dataclass(frozen=True, slots=True)
class Output:
    body: bytes
    content_type: str
    # The result as JSON rows, for the prediction log and MLflow's {"predictions": ...}
    # (records for a DataFrame whatever the orient of the body); None for binary answers.
    log_text: str | None


def write_output(iface: Interface, result: Any) -> Output:
    """The response body for ``result``, as the model's output adapter makes it."""
    kind = iface.output_kind
    if kind == "autodetect":
        first = result[0] if isinstance(result, list) and result else result
        kind = "proto" if callable(getattr(first, "SerializeToString", None)) else "default"
    if kind == "default":
        kind = "dataframe" if _is_frame(result) else "tf_tensor" if _is_tensor(result) else "json"
    if kind == "records":
        from qwak_auto.serve.io import to_frame_json

        return _json(to_frame_json(result))
    if kind == "dataframe":
        orient = getattr(iface.output_adapter, "output_orient", "records")
        orient = orient if isinstance(orient, str) else "records"
        text = frame_json(result, orient)
        if orient == "records" or not _is_frame(result):
            return _json(text)
        from qwak_auto.serve.io import to_frame_json

        return Output(text.encode(), JSON, to_frame_json(result))
    if kind == "json":
        return _json(json.dumps(result, default=jsonable, ensure_ascii=False))
    if kind == "tf_tensor":
        return _json(json.dumps(_tensor_value(result), default=jsonable))
    if kind == "numpy":
        return Output(npy_bytes(result), "application/x-npy", None)
    if kind == "proto":
        return Output(proto_bytes(result), "application/octet-stream", None)
    return custom_output(iface.output_adapter, result)


def frame_json(result: Any, orient: str) -> str:
    """DataFrameOutputAdapter: a DataFrame or Series in ``orient``, anything else as JSON."""
    import pandas as pd

    if isinstance(result, pd.DataFrame):
        text: str = result.to_json(orient=orient)
        return text
    if isinstance(result, pd.Series):
        return frame_json(pd.DataFrame(result), orient)
    return json.dumps(result, default=jsonable)


def npy_bytes(result: Any) -> bytes:
    import numpy as np

    if not isinstance(result, np.ndarray):
        raise AdapterError(500, "NumpyOutputAdapter can only work with numpy.ndarray type")
    buffer = io.BytesIO()
    np.save(buffer, result, allow_pickle=False)  # no pickles: CVE-2019-6446
    return buffer.getvalue()


def proto_bytes(result: Any) -> bytes:
    serialize = getattr(result, "SerializeToString", None)
    if not callable(serialize):
        raise AdapterError(
            500, f"ProtoOutputAdapter needs a protobuf message, got {type(result).__name__}"
        )
    data: bytes = serialize()
    return data


def custom_output(adapter: Any, result: Any) -> Output:
    packed = adapter.pack_user_func_return_value(result)
    content_type = JSON
    header = getattr(adapter, "http_content_type", None)
    if callable(header):
        content_type = str(header().get("Content-Type", JSON))
    if isinstance(packed, bytes):
        return Output(packed, content_type, None)
    text = packed if isinstance(packed, str) else json.dumps(packed, default=jsonable)
    return Output(text.encode(), content_type, text if "json" in content_type else None)


def _json(text: str) -> Output:
    return Output(text.encode(), JSON, text)


def _is_frame(result: Any) -> bool:
    import pandas as pd

    return isinstance(result, pd.DataFrame | pd.Series)


def _is_tensor(result: Any) -> bool:
    return type(result).__module__.startswith("tensorflow") and callable(
        getattr(result, "numpy", None)
    )


def _tensor_value(result: Any) -> Any:
    if isinstance(result, list | tuple):
        return [_tensor_value(item) for item in result]
    to_numpy = getattr(result, "numpy", None)
    return to_numpy() if callable(to_numpy) else result


def jsonable(value: Any) -> Any:
    """json.dumps fallback as qwak-core's encoders: numpy values, bytes, anything else."""
    import base64

    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return {"b64": base64.b64encode(value).decode("ascii")}
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        return item()
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return {"unknown_obj": str(value)}
