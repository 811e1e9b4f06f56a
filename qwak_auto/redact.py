"""The redactor: every resolved secret value is registered here, and every log line,
error message, step detail, state record and notification body passes through
:func:`redact` before it leaves the process."""

from __future__ import annotations

import base64
import threading
import urllib.parse
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


def register_secret(value: str) -> None:
    """Register a resolved secret and the forms it commonly takes on the way out: each line
    of a multi-line value (an ssh key printed in part), its URL-quoted form (a token in a
    URL) and its base64 forms (a token in a header)."""
    register(value)
    lines = value.splitlines()
    if len(lines) > 1:
        for line in lines:
            # PEM framing (-----BEGIN ... KEY-----) is public; very short lines mask words.
            if len(line.strip()) >= 8 and not line.startswith("-----"):
                register(line)
    quoted = urllib.parse.quote(value, safe="")
    if quoted != value:
        register(quoted)
    register_derived(value)


def register_derived(value: str) -> None:
    """Register a value built from a secret, with its base64 forms.

    Whoever builds a credential from a secret (``base64("x-access-token:" + token)`` for an
    HTTP Authorization header, a signed URL, ...) registers what it built here, because the
    redactor cannot guess derived forms from the secret alone."""
    register(value)
    raw = value.encode("utf-8")
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        register(text)
        register(text.rstrip("="))


def basic_auth(user: str, password: str) -> str:
    """The ``Authorization`` header value for HTTP basic auth, registered with the redactor."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    register_derived(f"{user}:{password}")
    register(token)
    return f"Basic {token}"


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
