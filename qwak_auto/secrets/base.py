"""The secret backend interface.

A backend maps a secret NAME (as written in an automation file, e.g. ``gh_token``) to its
value, or ``None`` when it does not hold that name. Backends are registered by name: the
built-ins in :data:`qwak_auto.registry.SECRET_BACKENDS`, plugins through the entry-point group
``qwak_auto.secret_backends``.

A plugin's entry point names a *factory*: a callable (usually the backend class) called as
``factory(config, environ)`` with the project :class:`~qwak_auto.config.Config` and the
environment mapping, returning an object with ``name``, ``description`` and ``get``::

    [project.entry-points."qwak_auto.secret_backends"]
    onepassword = "auto_onepassword:OnePasswordBackend"

The factory should also carry ``name`` and ``description`` as class attributes, so that
``auto secrets list-backends`` can describe it without constructing it. ``get`` raises
:class:`~qwak_auto.errors.BackendError` when the backend itself fails (unreachable, refused);
it never puts the value in an error message.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Protocol

from qwak_auto.errors import BackendError

if TYPE_CHECKING:
    pass

# The grammar of secret names in automation files (SPEC-REFERENCE.md).
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,127}")


class SecretBackend(Protocol):
    name: str
    description: str

    def get(self, name: str) -> str | None: ...


def check_name(name: str, *, allow_slash: bool = False) -> str:
    """Refuse names outside the grammar (they could smuggle paths or options into lookups)."""
    # With allow_slash, references into a backend are accepted too: `secret/key` (kubernetes,
    # vault paths) and `path#key` (vault).
    candidate = name.replace("/", "_").replace("#", "_") if allow_slash else name
    if not NAME_RE.fullmatch(candidate) or ".." in name:
        raise BackendError(
            f"{name!r} is not a valid secret name",
            "secret names match [A-Za-z_][A-Za-z0-9_.-]* and are at most 128 characters",
        )
    return name


def env_var_name(name: str) -> str:
    """``gh-token.prod`` → ``AUTO_SECRET_GH_TOKEN_PROD``."""
    return "AUTO_SECRET_" + name.upper().replace(".", "_").replace("-", "_")
