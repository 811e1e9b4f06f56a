"""Qwak's input/output adapters, accepted by ``@qwak.api(input_adapter=..., output_adapter=...)``.

auto's server hands ``predict`` a pandas DataFrame built from the request's JSON rows and
encodes whatever it returns as JSON. An input adapter turns that frame into what the model
was written for (JSON rows, a numpy array); output adapters need nothing more.
"""

from __future__ import annotations

from typing import Any


class _Adapter:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs

    def adapt(self, data: Any) -> Any:
        return data


class DataFrameInputAdapter(_Adapter):
    pass


class DefaultInputAdapter(_Adapter):
    pass


class JsonInputAdapter(_Adapter):
    def adapt(self, data: Any) -> Any:
        to_dict = getattr(data, "to_dict", None)
        return to_dict(orient="records") if callable(to_dict) else data


class NumpyInputAdapter(_Adapter):
    def adapt(self, data: Any) -> Any:
        to_numpy = getattr(data, "to_numpy", None)
        return to_numpy() if callable(to_numpy) else data


class StringInputAdapter(_Adapter):
    def adapt(self, data: Any) -> Any:
        to_dict = getattr(data, "to_dict", None)
        if callable(to_dict):
            return [str(v) for row in to_dict(orient="records") for v in row.values()]
        return data


class FileInputAdapter(_Adapter):
    pass


class ImageInputAdapter(_Adapter):
    pass


class ProtoInputAdapter(_Adapter):
    pass


class DataFrameOutputAdapter(_Adapter):
    pass


class DefaultOutputAdapter(_Adapter):
    pass


class JsonOutputAdapter(_Adapter):
    pass


class NumpyOutputAdapter(_Adapter):
    pass


class ProtoOutputAdapter(_Adapter):
    pass


class TfTensorOutputAdapter(_Adapter):
    pass
