"""Which secret backends exist, and resolving a name through the configured chain.

The backends are :data:`SECRET_BACKENDS`: the built-ins, then the entry points of
``qwak_auto.secret_backends``.

The chain is ``config.secrets`` (``auto.yaml: secrets: [env, file]``, ``AUTO_SECRETS``); the
first backend that holds the name wins. Every resolved value is registered with the redactor
before it is returned.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from qwak_auto import log, redact
from qwak_auto.errors import AutoError, BackendError, ConfigError
from qwak_auto.platform.plugins import Catalog, Kind
from qwak_auto.secrets.base import SecretBackend, check_name, env_var_name

if TYPE_CHECKING:
    from qwak_auto.config import Config

MIN_LENGTH = redact._MIN_LEN

SecretBackendFactory = Callable[["Config", Mapping[str, str]], SecretBackend]


def _env_secrets() -> SecretBackendFactory:
    from qwak_auto.secrets.env import EnvBackend

    return EnvBackend


def _file_secrets() -> SecretBackendFactory:
    from qwak_auto.secrets.file import FileBackend

    return FileBackend


def _kubernetes_secrets() -> SecretBackendFactory:
    from qwak_auto.secrets.kubernetes import KubernetesBackend

    return KubernetesBackend


def _vault_secrets() -> SecretBackendFactory:
    from qwak_auto.secrets.vault import VaultBackend

    return VaultBackend


SECRET_BACKENDS: Kind[SecretBackendFactory] = Kind(
    "secret backend",
    "qwak_auto.secret_backends",
    {
        "env": _env_secrets,
        "file": _file_secrets,
        "kubernetes": _kubernetes_secrets,
        "vault": _vault_secrets,
    },
)

BackendCatalog = Catalog[SecretBackendFactory]


@dataclass(frozen=True, slots=True, kw_only=True)
class Lookup:
    """The outcome of resolving one name: the value and who held it, or what was tried."""

    name: str
    value: str | None
    backend: str | None
    tried: tuple[str, ...]
    errors: Mapping[str, str] = field(default_factory=dict)  # backend -> why it failed


class Resolver:
    """The chain of backends of one project config. Callable: ``name -> value``.

    Backends are constructed on first use (a Vault login happens only when a name reaches
    Vault); values are not cached here, so a rotated secret is picked up by the next run.
    """

    def __init__(
        self,
        config: Config,
        environ: Mapping[str, str] | None = None,
        cat: BackendCatalog | None = None,
    ) -> None:
        self.config = config
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self._catalog = cat
        self._backends: dict[str, SecretBackend] = {}
        self._lock = threading.Lock()
        self.chain: tuple[str, ...] = tuple(config.secrets)

    @property
    def catalog(self) -> BackendCatalog:
        if self._catalog is None:
            self._catalog = SECRET_BACKENDS.catalog()
            for failure in self._catalog.failures:
                log.event(
                    "secret backend plugin not loaded",
                    level="warning",
                    backend=failure.name,
                    distribution=failure.distribution,
                    error=failure.error,
                )
        return self._catalog

    def _unknown(self, name: str) -> ConfigError:
        known = ", ".join(sorted(self.catalog.plugins))
        failed = [f for f in self.catalog.failures if f.name == name]
        if failed:
            f = failed[0]
            return ConfigError(
                f"secret backend {name!r} (from {f.distribution}) failed to load: {f.error}",
                "reinstall or fix the plugin, or remove it from `secrets:` in auto.yaml",
            )
        source = self.config.origins.get("secrets", "the project config")
        return ConfigError(
            f"secret backend {name!r} (listed in `secrets`, from {source}) is not installed",
            f"known backends: {known}; see `auto secrets list-backends`",
        )

    def backend(self, name: str) -> SecretBackend:
        with self._lock:
            if name in self._backends:
                return self._backends[name]
            info = self.catalog.plugins.get(name)
            if info is None:
                raise self._unknown(name)
            try:
                instance: SecretBackend = info.factory(self.config, self.environ)
            except AutoError:
                raise
            except Exception as exc:  # noqa: BLE001 - a plugin's bug is reported, not a crash
                raise BackendError(
                    f"secret backend {name!r} ({info.origin}) could not start: "
                    f"{type(exc).__name__}: {redact.redact(str(exc))}"
                ) from None
            self._backends[name] = instance
            return instance

    def lookup(self, name: str) -> Lookup:
        """Ask each backend of the chain in turn; a failing backend is noted and skipped."""
        check_name(name, allow_slash=True)
        errors: dict[str, str] = {}
        tried: list[str] = []
        for backend_name in self.chain:
            tried.append(backend_name)
            try:
                value = self.backend(backend_name).get(name)
            except ConfigError:
                raise
            except AutoError as exc:
                text = f"{exc.message} (fix: {exc.hint})" if exc.hint else exc.message
                errors[backend_name] = redact.redact(text)
                continue
            except Exception as exc:  # noqa: BLE001 - a plugin's bug is reported, not a crash
                errors[backend_name] = redact.redact(f"{type(exc).__name__}: {exc}")
                continue
            if value is None or value == "":
                continue
            if len(value) < MIN_LENGTH:
                # Too short to be masked in output without masking ordinary words.
                raise BackendError(
                    f"secret {name!r} from backend {backend_name!r} is shorter than "
                    f"{MIN_LENGTH} characters",
                    "store the real credential; a value this short could not be masked in logs",
                )
            redact.register_secret(value)
            log.event("secret resolved", level="debug", secret=name, backend=backend_name)
            return Lookup(
                name=name, value=value, backend=backend_name, tried=tuple(tried), errors=errors
            )
        return Lookup(name=name, value=None, backend=None, tried=tuple(tried), errors=errors)

    def __call__(self, name: str) -> str:
        found = self.lookup(name)
        if found.value is None:
            raise unresolved_error(found)
        return found.value


def unresolved_error(found: Lookup) -> BackendError:
    tried = ", ".join(found.tried) or "none (the `secrets` chain is empty)"
    message = f"secret {found.name!r} was not found; backends tried: {tried}"
    if found.errors:
        failures = "; ".join(f"{b}: {e}" for b, e in found.errors.items())
        message += f" (failed: {failures})"
    hint = "store it in one of the configured backends"
    if "env" in found.tried:
        hint += f", e.g. export {env_var_name(found.name)}=..."
    return BackendError(message, hint)


def resolver(config: Config, environ: Mapping[str, str] | None = None) -> Resolver:
    """The resolver handed to the run's steps as ``ctx.secrets``."""
    return Resolver(config, environ)


def resolve(
    name: str, config: Config, environ: Mapping[str, str] | None = None
) -> tuple[str | None, str | None]:
    """``(value, backend name)``, or ``(None, None)`` when no backend holds the name."""
    found = Resolver(config, environ).lookup(name)
    return found.value, found.backend
