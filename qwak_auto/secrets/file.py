"""The ``file`` backend: a directory with one file per secret, or one dotenv file.

Where: ``secrets_dir`` in ``auto.yaml`` (``AUTO_SECRETS_DIR``), else ``<home>/secrets``.
- a directory: the secret ``gh_token`` is the file ``gh_token`` in it; its content is the
  value, without the trailing newline an editor adds;
- a file: dotenv lines ``NAME=value`` (``export`` prefix, ``#`` comments, single or double
  quotes allowed; ``\\n`` in double quotes is a newline).

A file readable or writable by group or others is refused, with the ``chmod`` that fixes it:
a secret anyone on the machine can read is not a secret (ssh refuses such keys too).
"""

from __future__ import annotations

import re
import shlex
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from qwak_auto.errors import BackendError
from qwak_auto.secrets.base import check_name

if TYPE_CHECKING:
    from qwak_auto.config import Config


def secrets_location(config: Config) -> Path:
    return config.secrets_dir if config.secrets_dir is not None else config.home / "secrets"


def check_private(path: Path) -> None:
    """Refuse a file that group or others may read or write."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise BackendError(f"{path}: cannot read secret file: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise BackendError(
            f"{path}: secret file is accessible by group or others "
            f"(mode {stat.filemode(mode)}); refusing to use it",
            f"chmod 600 {shlex.quote(str(path))}",
        )


_ESCAPE = re.compile(r"\\(.)")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def _unquote(raw: str, path: Path, lineno: int) -> str:
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        inner = value[1:-1]
        if value[0] == '"':
            inner = _ESCAPE.sub(lambda m: _ESCAPES.get(m[1], m[1]), inner)
        return inner
    if value[:1] in ("'", '"'):
        # Never echo the line: it holds a secret.
        raise BackendError(f"{path}:{lineno}: unterminated quote", "close the quote on that line")
    # An unquoted value may carry a trailing comment: `KEY=value  # note`.
    if " #" in value:
        value = value.split(" #", 1)[0].rstrip()
    return value


def parse_dotenv(text: str, path: Path) -> dict[str, str]:
    """Parse dotenv text. Errors name the file and line, never the line's content."""
    out: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export "):
            stripped = stripped[len("export ") :].lstrip()
        key, sep, raw = stripped.partition("=")
        key = key.strip()
        if not sep or not key or any(c.isspace() for c in key):
            raise BackendError(
                f"{path}:{lineno}: not a NAME=value line", "write one NAME=value per line"
            )
        out[key] = _unquote(raw, path, lineno)
    return out


class FileBackend:
    name = "file"
    description = "files in secrets_dir (default <home>/secrets): one file per secret, or dotenv"

    def __init__(self, config: Config, environ: Mapping[str, str] | None = None) -> None:
        del environ
        self.location = secrets_location(config)

    def get(self, name: str) -> str | None:
        if "/" in name or "#" in name:
            return None  # a reference into another backend (kubernetes, vault)
        check_name(name)
        location = self.location
        if location.is_dir():
            path = location / name
            if not path.is_file():
                return None
            check_private(path)
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise BackendError(f"{path}: cannot read secret file: {exc}") from None
            return text.removesuffix("\n").removesuffix("\r") or None
        if location.is_file():
            check_private(location)
            try:
                text = location.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise BackendError(f"{location}: cannot read secrets file: {exc}") from None
            return parse_dotenv(text, location).get(name) or None
        return None
