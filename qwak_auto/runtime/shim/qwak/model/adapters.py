"""``qwak.model.adapters``: qwak-core's input and output adapters, with its constructors.

``@qwak.api(input_adapter=..., output_adapter=...)`` names them; auto's server and
``run_local`` then give ``predict`` what the input adapter reads from the request body and
answer with what the output adapter makes of its result (qwak_auto/serve/adapters.py and
outputs.py do both, as Qwak's runtime does). The methods below work on their own too, for a
model's tests.
"""

from __future__ import annotations

import contextlib
import json
from abc import ABC, abstractmethod
from enum import Enum
from typing import Any

from qwak import exceptions as _exc
from qwak_auto.serve import adapters as _serve
from qwak_auto.serve import outputs as _out

__all__ = [
    "AutodetectOutputAdapter",
    "BaseInputAdapter",
    "BaseOutputAdapter",
    "DataFrameInputAdapter",
    "DataFrameOutputAdapter",
    "DefaultOutputAdapter",
    "FileInputAdapter",
    "ImageInputAdapter",
    "JsonInputAdapter",
    "JsonOutputAdapter",
    "MultiInputAdapter",
    "NumpyInputAdapter",
    "NumpyOutputAdapter",
    "ProtoInputAdapter",
    "ProtoOutputAdapter",
    "ProtobufFlavor",
    "StringInputAdapter",
    "TfTensorInputAdapter",
    "TfTensorOutputAdapter",
]


# ------------------------------------------------------------------ input adapters


class BaseInputAdapter(ABC):
    @abstractmethod
    def extract_user_func_arg(self, data: Any) -> Any:
        pass


class DataFrameInputAdapter(BaseInputAdapter):
    def __init__(self, input_orient: str | None = None) -> None:
        self.input_orient = input_orient

    def extract_user_func_arg(self, data: Any) -> Any:
        """The DataFrame ``predict`` receives (any pandas JSON orient, records, CSV)."""
        from qwak_auto.serve.io import parse_predict

        body = data.encode() if isinstance(data, str) else bytes(data)
        return parse_predict(body, "", self.input_orient).frame()


class _BodyInputAdapter(BaseInputAdapter):
    """An adapter whose argument auto's server reads from the body as its ``_kind``."""

    _kind: str

    def extract_user_func_arg(self, data: Any) -> Any:
        body = data.encode() if isinstance(data, str) else bytes(data)
        return _serve.decode_input(self._kind, self, body, {})


class FileInputAdapter(_BodyInputAdapter):
    """A binary file object over the body."""

    _kind = "file"


class ImageInputAdapter(_BodyInputAdapter):
    """The image as an RGB array (needs imageio)."""

    _kind = "image"


class JsonInputAdapter(_BodyInputAdapter):
    """The body's JSON, parsed."""

    _kind = "json"


class StringInputAdapter(_BodyInputAdapter):
    """The body as text."""

    _kind = "string"


class TfTensorInputAdapter(_BodyInputAdapter):
    """``{"instances": [...]}`` as a TensorFlow tensor (needs tensorflow)."""

    _kind = "tf_tensor"


class ProtobufFlavor(Enum):
    GOOGLE_PROTO = 1
    BETTERPROTO = 2


class ProtoInputAdapter(BaseInputAdapter):
    def __init__(self, message: Any, flavor: ProtobufFlavor = ProtobufFlavor.GOOGLE_PROTO) -> None:
        self.message = message
        self.flavor = flavor

    def extract_user_func_arg(self, data: Any) -> Any:
        try:
            model_input = self.message()
            if self.flavor is ProtobufFlavor.GOOGLE_PROTO:
                model_input.ParseFromString(data)
            if self.flavor is ProtobufFlavor.BETTERPROTO:
                model_input.parse(data)
            return model_input
        except Exception as e:  # noqa: BLE001 - qwak-core's message
            raise ValueError(f"Failed to serialize Proto message. Error is {e}") from None


class MultiInputAdapter(BaseInputAdapter):
    def __init__(self, adapters: list[BaseInputAdapter]) -> None:
        self.adapters = adapters

    def extract_user_func_arg(self, data: Any, headers: Any = None) -> Any:
        """What the first inner adapter that can read ``data`` reads (a proto adapter named
        by the ``Adapter-Name`` header first)."""
        body = data.encode() if isinstance(data, str) else bytes(data)
        named = {str(k).lower(): str(v) for k, v in dict(headers or {}).items()}
        return _serve.multi_input(self, body, named)


class NumpyInputAdapter(BaseInputAdapter):
    def __init__(
        self,
        dtype: str | None = None,
        enforce_dtype: bool = False,
        shape: tuple[int, ...] | None = None,
        enforce_shape: bool = False,
    ) -> None:
        import numpy as np

        self._dtype: Any = dtype
        if dtype is not None and not isinstance(self._dtype, np.dtype):
            try:
                self._dtype = np.dtype(dtype)
            except TypeError as e:
                raise _exc.QwakException(f'NumpyNdarray: Invalid dtype "{dtype}": {e}') from None
        self._shape = shape
        self._enforce_dtype = enforce_dtype
        self._enforce_shape = enforce_shape

    def _verify_ndarray(self, obj: Any, exception_cls: type[Exception] = _exc.QwakException) -> Any:
        import numpy as np

        name = type(self).__name__
        if self._dtype is not None and self._dtype != obj.dtype:
            if np.can_cast(obj.dtype, self._dtype, casting="same_kind"):
                obj = obj.astype(self._dtype, casting="same_kind")
            elif self._enforce_dtype:
                raise exception_cls(
                    f'{name}: Expecting ndarray of dtype "{self._dtype}", but "{obj.dtype}" '
                    "was received."
                )
        if self._shape is not None and not _matched_shape(self._shape, obj.shape):
            if self._enforce_shape:
                raise exception_cls(
                    f'{name}: Expecting ndarray of shape "{self._shape}", but "{obj.shape}" '
                    "was received."
                )
            with contextlib.suppress(ValueError):
                obj = obj.reshape(self._shape)
        return obj

    def extract_user_func_arg(self, data: Any) -> list[Any]:
        """``[array]``, as qwak-core returns it; ``predict`` receives the array itself."""
        import numpy as np

        parsed = json.loads(data)
        try:
            res = np.array(parsed, dtype=self._dtype)
        except ValueError:
            res = np.array(parsed)
        return [self._verify_ndarray(res, _exc.QwakException)]


def _matched_shape(left: tuple[int, ...] | None, right: tuple[int, ...] | None) -> bool:
    if left is None or right is None or len(left) != len(right):
        return False
    return all(i == -1 or j == -1 or i == j for i, j in zip(left, right, strict=True))


# ------------------------------------------------------------------ output adapters


class BaseOutputAdapter(ABC):
    @staticmethod
    def http_content_type() -> dict[str, str]:
        return {"Content-Type": "text/plain; charset=utf-8"}

    @staticmethod
    @abstractmethod
    def pack_user_func_return_value(return_result: Any) -> Any:
        pass


class DataFrameOutputAdapter(BaseOutputAdapter):
    """The default: a DataFrame or Series as JSON in ``output_orient``, anything else as
    JSON."""

    def __init__(self, output_orient: str = "records") -> None:
        self.output_orient = output_orient

    @staticmethod
    def pack_user_func_return_value(return_result: Any) -> str:
        return _out.frame_json(return_result, "records")


class DefaultOutputAdapter(BaseOutputAdapter):
    """A DataFrame as records, a tensor or anything else as JSON."""

    @staticmethod
    def pack_user_func_return_value(return_result: Any) -> str:
        iface = _serve.Interface(output_kind="default")
        return _out.write_output(iface, return_result).body.decode()


class JsonOutputAdapter(BaseOutputAdapter):
    @staticmethod
    def pack_user_func_return_value(return_result: Any) -> str:
        return json.dumps(return_result, default=_out.jsonable, ensure_ascii=False)


class NumpyOutputAdapter(BaseOutputAdapter):
    @staticmethod
    def http_content_type() -> dict[str, str]:
        return {"Content-Type": "application/x-npy"}

    @staticmethod
    def pack_user_func_return_value(return_result: Any) -> bytes:
        try:
            return _out.npy_bytes(return_result)
        except _serve.AdapterError as exc:
            raise _exc.QwakException(exc.message) from None


class ProtoOutputAdapter(BaseOutputAdapter):
    @staticmethod
    def http_content_type() -> dict[str, str]:
        return {"Content-Type": "application/octet-stream"}

    @staticmethod
    def pack_user_func_return_value(return_result: Any) -> bytes:
        try:
            data: bytes = return_result.SerializeToString()
        except Exception as e:  # noqa: BLE001 - qwak-core's message
            raise ValueError(f"Failed to serialize proto message. Error is {e}") from None
        return data


class AutodetectOutputAdapter(ProtoOutputAdapter):
    """A protobuf message as bytes, anything else as DefaultOutputAdapter packs it."""


class TfTensorOutputAdapter(BaseOutputAdapter):
    @staticmethod
    def pack_user_func_return_value(return_result: Any) -> str:
        iface = _serve.Interface(output_kind="tf_tensor")
        return _out.write_output(iface, return_result).body.decode()
