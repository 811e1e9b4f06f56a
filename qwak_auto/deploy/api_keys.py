"""``api_keys_secret``: the served model's API keys, resolved by the secret backends at each
deploy and checked before any deployer hands them to a server (a private file for the local
deployer, a Secret on Kubernetes)."""

from __future__ import annotations

from collections.abc import Callable

from qwak_auto.errors import AutoError, DeployError
from qwak_auto.redact import register_secret
from qwak_auto.serve.auth import KeysError, parse_keys


def resolve_keys(name: str, resolve: Callable[[str], str]) -> tuple[str, ...]:
    """The keys in the secret ``name`` (one a line), registered with the redactor;
    DeployError when the secret does not resolve or holds no usable keys."""
    try:
        value = resolve(name)
    except AutoError as exc:
        raise DeployError(f"api_keys_secret {name!r}: {exc.message}", exc.hint) from None
    try:
        keys = parse_keys(value)
    except KeysError as exc:
        raise DeployError(
            f"api_keys_secret {name!r}: {exc}",
            "store the served model's API keys in that secret, one key a line",
        ) from None
    for key in keys:
        register_secret(key)
    return keys
