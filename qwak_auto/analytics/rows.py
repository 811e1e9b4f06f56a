"""Prediction records: checked and normalised into rows of the ``predictions`` table.

A record (one JSON line of a prediction-log segment, a CSV row or a Parquet row) needs
``model_id`` (unless given from outside), ``ts`` (ISO-8601; UTC when it has no offset) and
``prediction`` (an object, a scalar, or null when the model gave no row). Optional:
``build_id``, ``variation`` ('default'), ``environment``, ``latency_ms`` (number), ``status``
(integer HTTP status, 200), ``features`` (object), ``label`` (any JSON value). Each
top-level field of an object ``prediction`` also becomes a column of its own; a scalar
prediction becomes ``prediction_value``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from qwak_auto.analytics.store import PREDICTION_COLUMNS

KNOWN_FIELDS = tuple(PREDICTION_COLUMNS)
REQUIRED_FIELDS = ("model_id", "ts", "prediction")
SCALAR_COLUMN = "prediction_value"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
# Output fields that would shadow a base column (or the scalar column) stay in the JSON only.
_RESERVED = {name.lower() for name in (*KNOWN_FIELDS, SCALAR_COLUMN)}


class RowError(ValueError):
    """One record that cannot be loaded, and why."""


@dataclass(frozen=True, slots=True)
class Row:
    base: Mapping[str, Any]  # JSON-ready values of the base columns (ts as ISO text)
    outputs: Mapping[str, Any]  # output column -> JSON-ready value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse_ts(value: Any) -> str:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise RowError(f"ts: {value!r} is not an ISO-8601 time") from None
    else:
        raise RowError(f"ts: {value!r} is not an ISO-8601 time")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat()


def _json_value(field: str, value: Any) -> Any:
    """Decode a JSON text (CSV cells carry JSON as text); other values pass through."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            if field == "prediction":
                return value  # a plain string prediction
            raise RowError(f"{field}: {value[:40]!r} is not valid JSON") from None
    return value


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN; keep the row, lose the value
    return value


def output_fields(prediction: Any) -> dict[str, Any]:
    """The columns a prediction adds: its top-level fields, or ``prediction_value``."""
    if isinstance(prediction, Mapping):
        return {
            str(k): v
            for k, v in prediction.items()
            if _IDENT.match(str(k)) and str(k).lower() not in _RESERVED
        }
    if isinstance(prediction, list):
        return {}
    return {SCALAR_COLUMN: prediction}


def column_type(value: Any) -> str | None:
    """DOUBLE for numbers and booleans, VARCHAR for other values, None for null."""
    if value is None:
        return None
    if _is_number(value) or isinstance(value, bool):
        return "DOUBLE"
    return "VARCHAR"


def normalise(record: Mapping[str, Any], model_id: str | None = None) -> Row:
    """Check one record and return its row; raises RowError naming the field at fault."""
    fields = {k: v for k, v in record.items() if not (v == "" and k not in REQUIRED_FIELDS)}
    unknown = sorted(set(fields) - set(KNOWN_FIELDS))
    if unknown:
        raise RowError(f"unknown field(s) {', '.join(unknown)} (known: {', '.join(KNOWN_FIELDS)})")
    if model_id:
        fields["model_id"] = model_id
    # A logged prediction may be null (the model returned fewer rows than it was given),
    # so `prediction` must be present; the others must have a value.
    missing = [
        f
        for f in REQUIRED_FIELDS
        if f not in fields or fields[f] == "" or (fields[f] is None and f != "prediction")
    ]
    if missing:
        raise RowError(f"missing required field(s): {', '.join(missing)}")
    for name in ("model_id", "build_id", "variation", "environment"):
        value = fields.get(name)
        if value is not None and not isinstance(value, str):
            raise RowError(f"{name}: expected text, got {value!r}")
    latency = fields.get("latency_ms")
    if isinstance(latency, str):
        try:
            latency = float(latency)
        except ValueError:
            raise RowError(f"latency_ms: {latency!r} is not a number") from None
    if latency is not None and not _is_number(latency):
        raise RowError(f"latency_ms: {latency!r} is not a number")
    status = fields.get("status", 200)
    if isinstance(status, str) and status.strip().isdigit():
        status = int(status)
    if isinstance(status, float) and status.is_integer():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool):
        raise RowError(f"status: {status!r} is not an integer HTTP status")
    features = _json_value("features", fields.get("features", {}))
    if features is None:
        features = {}
    if not isinstance(features, Mapping):
        raise RowError("features: expected a JSON object")
    prediction = _json_value("prediction", fields["prediction"])
    label = _json_value("label", fields.get("label"))
    base = {
        "model_id": fields["model_id"],
        "build_id": fields.get("build_id") or "",
        "variation": fields.get("variation") or "default",
        "environment": fields.get("environment") or "",
        "ts": _parse_ts(fields["ts"]),
        "latency_ms": _finite(latency),
        "status": status,
        "features": features,
        "prediction": prediction,
        "label": label,
    }
    outputs = {k: _finite(v) for k, v in output_fields(prediction).items()}
    return Row(base=base, outputs=outputs)


def cell(value: Any, kind: str) -> Any:
    """A value for an output column of type ``kind`` (a mismatch becomes NULL, not an error)."""
    if value is None:
        return None
    if kind == "DOUBLE":
        if isinstance(value, bool):
            return 1.0 if value else 0.0
        return float(value) if _is_number(value) else None
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)
