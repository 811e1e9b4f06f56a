"""Log lines for long work: plain or JSON (``--log-format json``), always redacted."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from qwak_auto import streams
from qwak_auto.redact import redact, redact_obj

_settings: dict[str, Any] = {"format": "text", "debug": False}


def configure(*, log_format: str = "text", debug: bool = False) -> None:
    if log_format not in ("text", "json"):
        from qwak_auto.errors import UsageError

        raise UsageError(f"--log-format: {log_format!r} is not a format", "use `text` or `json`")
    _settings["format"] = log_format
    _settings["debug"] = debug


def is_json() -> bool:
    return bool(_settings["format"] == "json")


def event(message: str, *, level: str = "info", **fields: Any) -> None:
    """One log line on stderr: ``message key=value ...`` or a JSON object."""
    if level == "debug" and not _settings["debug"]:
        return
    if _settings["format"] == "json":
        record = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "level": level,
            "message": message,
            **fields,
        }
        line = json.dumps(redact_obj(record), default=str)
    else:
        extras = " ".join(f"{k}={v}" for k, v in fields.items())
        line = f"{message} {extras}".rstrip()
    # Log lines are for whoever watches: a closed stderr stops them, never the work.
    streams.write(sys.stderr, redact(line) + "\n")
