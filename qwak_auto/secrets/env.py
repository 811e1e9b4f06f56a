"""The ``env`` backend: a secret NAME is read from ``AUTO_SECRET_<NAME>``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from qwak_auto.secrets.base import check_name, env_var_name
from qwak_auto.secrets.held import with_held

if TYPE_CHECKING:
    from qwak_auto.config import Config


class EnvBackend:
    name = "env"
    description = "environment variables AUTO_SECRET_<NAME> (upper-cased, . and - become _)"

    def __init__(
        self, config: Config | None = None, environ: Mapping[str, str] | None = None
    ) -> None:
        del config  # nothing to configure
        self._environ = with_held(os.environ if environ is None else environ)

    def get(self, name: str) -> str | None:
        if "/" in name or "#" in name:
            return None  # a reference into another backend (kubernetes, vault)
        variable = env_var_name(check_name(name))
        value = self._environ.get(variable)
        # An empty variable is "not set": an empty secret is never what the user meant.
        return value or None
