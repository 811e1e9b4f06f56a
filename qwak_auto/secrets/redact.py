"""The redactor: every resolved secret value is registered here, and every log line,
error message, step detail, state record and notification body passes through
:func:`redact` before it leaves the process."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

MASK = "***"
_MIN_LEN = 4  # shorter values would mask ordinary words; backends refuse such secrets

_lock = threading.Lock()
_values: set[str] = set()


def register(value: str) -> None:
    """Remember a secret value so that it is masked everywhere from now on."""
    if len(value) < _MIN_LEN:
        return
    with _lock:
        _values.add(value)
        stripped = value.strip()
        if len(stripped) >= _MIN_LEN:
            _values.add(stripped)


def clear() -> None:
    with _lock:
        _values.clear()


def redact(text: str) -> str:
    if not _values or not text:
        return text
    with _lock:
        values = sorted(_values, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    return text


def redact_obj(obj: Any) -> Any:
    """Redact every string inside a JSON-like value (dicts, lists, tuples, strings)."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, Mapping):
        return {redact(str(k)): redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [redact_obj(v) for v in obj]
    return obj
