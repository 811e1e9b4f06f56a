"""Secrets the `auto` program holds in memory instead of in its environment.

At start-up `auto` takes every ``AUTO_SECRET_*`` variable and the Vault login
(``VAULT_TOKEN``, ``VAULT_ROLE_ID``, ``VAULT_SECRET_ID``) out of its own environment and keeps
them here, so that no child inherits them: not the programs auto starts (each is given what
its step needs by name), and not the ones a library starts by itself (croniter's
``platform.architecture()`` runs ``file`` with a copy of the environment). The backends read
them through :func:`with_held`.
"""

from __future__ import annotations

import os
from collections import ChainMap
from collections.abc import Mapping

PREFIX = "AUTO_SECRET_"
CREDENTIALS = frozenset({"VAULT_TOKEN", "VAULT_ROLE_ID", "VAULT_SECRET_ID"})

_held: dict[str, str] = {}


def hold() -> None:
    """Move the secrets out of this process's environment (once, at start-up)."""
    for key in [k for k in os.environ if k.startswith(PREFIX) or k in CREDENTIALS]:
        _held[key] = os.environ.pop(key)


def with_held(environ: Mapping[str, str]) -> Mapping[str, str]:
    """``environ``, and behind it what :func:`hold` took out of the environment."""
    return ChainMap(dict(environ), _held) if _held else environ
