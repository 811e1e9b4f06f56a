"""Bearer-token auth of a served model (``deployment_spec.api_keys_secret``).

The deployer resolves the secret (one key a line) and writes the keys to a file readable only
by this user; the server reads it once at start (``--api-keys-file``), before any worker or
model code runs, and the deployer removes the file once the server answers. A prediction
request must then carry ``Authorization: Bearer <key>``, what Qwak's clients send; anything
else is answered 401. Health, readiness, ``/ping``, ``/version`` and ``/metrics`` stay open,
as probes and scrapers call them without credentials.
"""

from __future__ import annotations

import hmac
import os
import stat
from collections.abc import Sequence
from pathlib import Path

REFUSED = "missing or unknown API key: send the header `Authorization: Bearer <key>`"
CHALLENGE = ("WWW-Authenticate", 'Bearer realm="auto"')
MIN_KEY_LENGTH = 16


class KeysError(Exception):
    """The keys file cannot be used (the message says why; it never shows a key)."""


def parse_keys(text: str) -> tuple[str, ...]:
    """The keys of a secret's value: one a line, blank lines and surrounding spaces ignored."""
    keys = tuple(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))
    if not keys:
        raise KeysError("it holds no API key (write one key a line)")
    short = [i for i, key in enumerate(keys, 1) if len(key) < MIN_KEY_LENGTH]
    if short:
        lines = ", ".join(str(i) for i in short)
        raise KeysError(
            f"key {lines} is shorter than {MIN_KEY_LENGTH} characters: use long random keys "
            "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )
    if any(" " in key or "\t" in key for key in keys):
        raise KeysError("a key holds a space: write one key a line")
    return keys


def write_keys(path: Path, keys: Sequence[str]) -> None:
    """Write ``keys`` to a new file that only this user can read."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(keys) + "\n")


def read_keys(path: Path) -> tuple[str, ...]:
    try:
        info = path.stat()
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KeysError(f"cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise KeysError("it is not UTF-8 text") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeysError("others may read it: `chmod 600` it")
    return parse_keys(text)


def authorized(header: str, keys: Sequence[str]) -> bool:
    """Whether an ``Authorization`` header carries one of ``keys`` (compared in constant
    time, every key tried, so the answer's timing does not tell which was close)."""
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    given = token.strip().encode()
    found = False
    for key in keys:
        found |= hmac.compare_digest(given, key.encode())
    return found
