"""``RealTimeClient``: qwak-inference's real-time client, for models served by auto.

Same constructor and ``predict`` as qwak-inference 0.2.1, and the same answers: a list of
dicts (``InferenceOutputFormat.DICTIONARY``, the default), a DataFrame (``PANDAS``) or the
body's bytes (``RAW``); a DataFrame is sent in ``orient`` (default ``split``); an error is
``QwakHTTPException``. Where the real client asks Qwak's platform for the model's address,
this one uses ``model_api`` (the deployment's address, with or without the
``/v1/<model>/predict`` path), else ``AUTO_MODEL_URL`` (set while a build runs ``tests/it``),
else ``http://127.0.0.1:8000``. When ``AUTO_API_KEY`` is set it is sent as
``Authorization: Bearer <key>`` (a deployment with ``api_keys_secret``).
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from enum import Enum
from typing import Any

from qwak import _auto_leftout
from qwak.exceptions import QwakHTTPException

__all__ = ["InferenceOutputFormat", "QwakHTTPException", "RealTimeClient", "SocketConfiguration"]

_TRAFFIC_SPLIT_HEADER = "x-realtime-route-mode"


class InferenceOutputFormat(Enum):
    PANDAS = 1
    DICTIONARY = 2
    RAW = 3


@dataclass
class SocketConfiguration:
    """Accepted for compatibility; urllib's connections here are short-lived."""

    tcp_keepalive: bool = True
    tcp_keepidle: int = 120
    tcp_keepintvl: int = 75
    tcp_keepcnt: int = 9


class RealTimeClient:
    timeout: float = 30.0  # seconds per request (the real client waits without a limit)

    def __init__(
        self,
        model_id: str,
        environment: str | None = None,
        variation: str | None = None,
        model_api: str | None = None,
        log_level: int = logging.INFO,
        socket_configuration: SocketConfiguration = SocketConfiguration(),  # noqa: B008
    ) -> None:
        self.model_id = model_id
        self.environment = environment
        self.variation = variation
        self.content_type = "application/json; format=pandas-split"
        base = model_api or os.environ.get("AUTO_MODEL_URL") or "http://127.0.0.1:8000"
        self.model_api = _predict_url(base.rstrip("/"), model_id, variation)

    def predict(
        self,
        feature_vectors: Any,
        output_format: InferenceOutputFormat = InferenceOutputFormat.DICTIONARY,
        metadata: dict = {},  # type: ignore[type-arg]  # noqa: B006 - qwak-inference's
        orient: str = "split",
    ) -> Any:
        if type(feature_vectors).__name__ == "DataFrame":
            feature_vectors = feature_vectors.to_json(orient=orient)
        if isinstance(feature_vectors, dict | list):
            feature_vectors = json.dumps(feature_vectors)
        body = feature_vectors.encode() if isinstance(feature_vectors, str) else feature_vectors
        headers = {"Content-Type": "application/json"}
        if metadata:
            headers.update({str(k): str(v) for k, v in metadata.items()})
            headers[_TRAFFIC_SPLIT_HEADER] = "true"
        key = os.environ.get("AUTO_API_KEY")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(self.model_api, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                content = response.read()
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", "replace")
            name = exc.headers.get("X-Exception-Class")
            raise QwakHTTPException(exc.code, f"{exc.code}: {text}", name) from None
        except OSError as exc:
            raise RuntimeError(f"Failed to make a prediction request. Error is: {exc}") from None
        if output_format == InferenceOutputFormat.RAW:
            return content
        if output_format == InferenceOutputFormat.DICTIONARY:
            return json.loads(content)
        if output_format == InferenceOutputFormat.PANDAS:
            import pandas as pd

            return pd.DataFrame(json.loads(content))
        raise ValueError(f"Non supported inference output parameter {output_format}")


def _predict_url(base: str, model_id: str, variation: str | None) -> str:
    if base.endswith("/predict"):
        return base
    if "://" not in base:
        base = f"https://{base}"
    route = f"{model_id}/{variation}" if variation else model_id
    return f"{base}/v1/{route}/predict"


def __getattr__(name: str) -> Any:
    raise _auto_leftout.missing(__name__, name)
