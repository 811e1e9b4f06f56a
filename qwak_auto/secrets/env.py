"""The ``env`` backend: a secret NAME is read from ``AUTO_SECRET_<NAME>``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from qwak_auto.secrets.base import check_name, env_var_name

PREFIX = "AUTO_SECRET_"
# The AUTO_SECRET_* variables this process was started with, once hold() took them out of its
# environment: read from here, so that no child inherits them (not even a program a library
# starts by itself, as croniter's platform.architecture() starts `file`).
_held: dict[str, str] = {}


def hold() -> None:
    """Take every AUTO_SECRET_* variable out of this process's environment, keeping its value
    for the env backend. Called once at start-up by the `auto` program; a child then holds a
    secret only when the step that starts it passes it on by name."""
    for key in [k for k in os.environ if k.startswith(PREFIX)]:
        _held[key] = os.environ.pop(key)


if TYPE_CHECKING:
    from qwak_auto.config import Config


class EnvBackend:
    name = "env"
    description = "environment variables AUTO_SECRET_<NAME> (upper-cased, . and - become _)"

    def __init__(
        self, config: Config | None = None, environ: Mapping[str, str] | None = None
    ) -> None:
        del config  # nothing to configure
        self._environ = os.environ if environ is None else environ

    def get(self, name: str) -> str | None:
        if "/" in name or "#" in name:
            return None  # a reference into another backend (kubernetes, vault)
        variable = env_var_name(check_name(name))
        value = self._environ.get(variable) or _held.get(variable)
        # An empty variable is "not set": an empty secret is never what the user meant.
        return value or None
