"""``run_local(model, payload)``: build (once), initialize and predict, as Qwak's SDK does."""

from __future__ import annotations

import io
from typing import Any


def run_local(model: Any, payload: str | bytes) -> Any:
    """Run ``model`` on a JSON payload (a DataFrame's ``to_json()`` in any orient the
    frame reader understands, or a list of records) and return the prediction as JSON."""
    import pandas as pd

    if not getattr(model, "initialized", False):
        model.build()
        model.initialize_model()
        model.initialized = True
    text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
    frame = pd.read_json(io.StringIO(text))
    result = model.predict(frame)
    if isinstance(result, pd.DataFrame):
        return result.to_json(orient="records")
    if isinstance(result, pd.Series):
        return result.to_frame().to_json(orient="records")
    import json

    return json.dumps(_plain(result))


def _plain(value: Any) -> Any:
    tolist = getattr(value, "tolist", None)
    return tolist() if callable(tolist) else value
