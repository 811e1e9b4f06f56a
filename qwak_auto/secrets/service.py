"""What `auto secrets list-backends` and `auto secrets check` report (plain data)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from qwak_auto.errors import AutoError
from qwak_auto.secrets.registry import SECRET_BACKENDS, Resolver, unresolved_error

if TYPE_CHECKING:
    from collections.abc import Mapping

    from qwak_auto.config import Config


def backends_report(config: Config) -> dict[str, Any]:
    cat = SECRET_BACKENDS.catalog()
    chain = list(config.secrets)
    backends = [
        {
            "name": info.name,
            "description": info.description,
            "origin": info.origin,
            "position": chain.index(info.name) + 1 if info.name in chain else None,
        }
        for info in cat.plugins.values()
    ]
    return {
        "chain": chain,
        "source": config.origins.get("secrets", "default"),
        "backends": backends,
        "failures": [
            {"name": f.name, "distribution": f.distribution, "error": f.error} for f in cat.failures
        ],
    }


def check_secret(
    name: str, config: Config, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Which backend resolves ``name``. The value never leaves this function."""
    found = Resolver(config, environ).lookup(name)
    hint = "" if found.value is not None else unresolved_error(found).hint
    return {
        "name": name,
        "resolved": found.value is not None,
        "backend": found.backend,
        "tried": list(found.tried),
        "errors": dict(found.errors),
        "hint": hint,
    }


def secret_checker(
    config: Config, environ: Mapping[str, str] | None = None
) -> Callable[[str], tuple[bool, str, str]]:
    """For `auto validate --check-secrets`: name -> (resolved?, what was tried, how to fix)."""
    resolver = Resolver(config, environ)

    def check(name: str) -> tuple[bool, str, str]:
        try:
            found = resolver.lookup(name)
        except AutoError as exc:
            return False, exc.message, exc.hint or "fix the secret backends in auto.yaml"
        if found.value is not None:
            return True, f"found in {found.backend}", ""
        tried = ", ".join(found.tried) or "none"
        return False, f"backends tried: {tried}", unresolved_error(found).hint

    return check
