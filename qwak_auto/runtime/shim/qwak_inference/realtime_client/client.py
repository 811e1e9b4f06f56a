"""``RealTimeClient(model_id, model_api=URL).predict(data)``: POST to ``URL/v1/<model_id>/predict``.

Without ``model_api`` the client uses ``AUTO_MODEL_URL`` (set while a build runs
``tests/it``), else ``http://127.0.0.1:8000``.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from enum import Enum
from typing import Any


class InferenceOutputFormat(Enum):
    DICT = "DICT"
    PANDAS = "PANDAS"


class RealTimeClient:
    def __init__(
        self,
        model_id: str,
        environment: str | None = None,
        model_api: str | None = None,
        timeout: float = 30.0,
        **_ignored: Any,
    ) -> None:
        self.model_id = model_id
        self.environment = environment
        base = model_api or os.environ.get("AUTO_MODEL_URL") or "http://127.0.0.1:8000"
        self.model_api = base.rstrip("/")
        self.timeout = timeout

    def _url(self) -> str:
        if self.model_api.endswith("/predict"):
            return self.model_api
        return f"{self.model_api}/v1/{self.model_id}/predict"

    def predict(
        self,
        feature_vector: Any,
        metadata: Any = None,  # noqa: ARG002 - accepted like the Qwak client
        output_format: InferenceOutputFormat | None = None,
    ) -> Any:
        """Send rows (a DataFrame, a list of dicts or one dict) and return the prediction:
        a DataFrame when a DataFrame was sent or PANDAS asked for, else decoded JSON."""
        records, was_frame = _records(feature_vector)
        body = json.dumps(records, default=_default).encode("utf-8")
        request = urllib.request.Request(
            self._url(),
            data=body,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:500]
            raise RuntimeError(f"prediction failed: HTTP {exc.code}: {detail}") from None
        if output_format is InferenceOutputFormat.PANDAS or (output_format is None and was_frame):
            import pandas as pd

            return pd.DataFrame(payload if isinstance(payload, list) else [payload])
        return payload


def _records(data: Any) -> tuple[list[Any], bool]:
    to_dict = getattr(data, "to_dict", None)
    if callable(to_dict) and hasattr(data, "columns"):
        return list(to_dict(orient="records")), True
    if isinstance(data, dict):
        return [data], False
    return list(data), False


def _default(value: Any) -> Any:
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    return str(value)
