"""``run_local(model, payload)``: build (once), initialize, and predict through the model's
adapters, as qwak-core's ``run_local`` does and as auto's server answers."""

from __future__ import annotations

from typing import Any

from qwak import _auto_leftout
from qwak_auto.serve import adapters, outputs

__all__ = ["run_local"]


def run_local(model: Any, payload: str | bytes) -> Any:
    """The model's answer to ``payload`` (a request body): a string for JSON output
    adapters, bytes for binary ones (``NumpyOutputAdapter``, ``ProtoOutputAdapter``)."""
    if not getattr(model, "initialized", False):
        model.build()
        model.initialize_model()
        model.initialized = True
    iface = adapters.interface_of(model)
    body = payload.encode("utf-8") if isinstance(payload, str) else payload
    request = adapters.read_request(iface, "v1", body, "", {})
    output = outputs.write_output(iface, model.predict(request.model_input()))
    if output.log_text is not None:
        return output.log_text
    return output.body


def __getattr__(name: str) -> Any:
    raise _auto_leftout.missing(__name__, name)
