"""Every pluggable part by name: builders, deployers, secret backends, notifiers.

Each kind is a :class:`Kind`: the built-ins first, then the entry points of its group
(``qwak_auto.builders``, ``qwak_auto.deployers``, ``qwak_auto.secret_backends``,
``qwak_auto.notifiers``), as httpie's plugin manager does. A plugin package adds one
without touching the core::

    [project.entry-points."qwak_auto.builders"]
    bazel = "auto_bazel:BazelBuilder"

An entry point names a *factory*: for builders, deployers and notifiers a callable taking no
arguments (usually the class); for secret backends one called as ``factory(config, environ)``.
A plugin that fails to load is reported with its distribution name and never crashes ``auto``;
a plugin cannot take a built-in's name (that would let an installed package intercept every
build or secret). Built-ins are imported on first use, so a command pays only for what it
runs; names are known without importing anything, so config checks them cheaply.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from qwak_auto.errors import ConfigError

if TYPE_CHECKING:
    from qwak_auto.config import Config
    from qwak_auto.run.contracts import Builder, Deployer, Notifier
    from qwak_auto.secrets.base import SecretBackend

F = TypeVar("F")


@dataclass(frozen=True, slots=True)
class Plugin(Generic[F]):
    name: str
    description: str
    origin: str  # "built-in" or "plugin <distribution> <version>"
    factory: F


@dataclass(frozen=True, slots=True)
class PluginFailure:
    name: str
    distribution: str
    error: str


@dataclass(frozen=True, slots=True)
class Catalog(Generic[F]):
    plugins: Mapping[str, Plugin[F]]
    failures: tuple[PluginFailure, ...] = ()


def _distribution(entry_point: EntryPoint) -> str:
    dist = entry_point.dist
    return "<unknown distribution>" if dist is None else f"{dist.name} {dist.version}"


class Kind(Generic[F]):
    """One kind of pluggable part: its built-ins and the entry points of its group."""

    def __init__(self, what: str, group: str, builtins: Mapping[str, Callable[[], F]]) -> None:
        self.what = what  # "builder": for messages
        self.group = group
        self._builtins = builtins  # name -> a function importing and returning the factory

    def _entry_points(self) -> tuple[EntryPoint, ...]:
        return _group(self.group)

    def names(self) -> tuple[str, ...]:
        """Every name, built-ins first, without importing any plugin."""
        extra = sorted({ep.name for ep in self._entry_points()} - set(self._builtins))
        return (*self._builtins, *extra)

    def catalog(self) -> Catalog[F]:
        """Every part, loaded: built-ins, then plugins, and the plugins that did not load."""
        plugins = {name: self._builtin(name) for name in self._builtins}
        failures: list[PluginFailure] = []
        for ep in self._entry_points():
            loaded = self._plugin(ep)
            if isinstance(loaded, PluginFailure):
                failures.append(loaded)
            elif ep.name not in plugins:
                plugins[ep.name] = loaded
        return Catalog(plugins, tuple(failures))

    def get(self, name: str, *, where: str = "") -> Plugin[F]:
        """The part named ``name``; a ConfigError naming what is installed otherwise."""
        if name in self._builtins:
            return self._builtin(name)
        for ep in self._entry_points():
            if ep.name == name:
                loaded = self._plugin(ep)
                if isinstance(loaded, PluginFailure):
                    raise ConfigError(
                        f"{self.what} {name!r} (from {loaded.distribution}) failed to load: "
                        f"{loaded.error}",
                        f"reinstall or fix the plugin, or choose another {self.what}",
                    )
                return loaded
        raise self.unknown(name, where)

    def unknown(self, name: str, where: str = "") -> ConfigError:
        prefix = f"{where}: " if where else ""
        return ConfigError(
            f"{prefix}{name!r} is not a {self.what}",
            f"installed {self.what}s: {', '.join(self.names())}"
            f" (a plugin adds one through the entry-point group {self.group})",
        )

    def _builtin(self, name: str) -> Plugin[F]:
        factory = self._builtins[name]()
        description = str(getattr(factory, "description", "") or "")
        return Plugin(name, description, "built-in", factory)

    def _plugin(self, ep: EntryPoint) -> Plugin[F] | PluginFailure:
        dist = _distribution(ep)
        if ep.name in self._builtins:
            return PluginFailure(
                ep.name, dist, f"the name {ep.name!r} is taken by a built-in {self.what}"
            )
        try:
            factory = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not crash auto
            return PluginFailure(ep.name, dist, f"{type(exc).__name__}: {exc}")
        if not callable(factory):
            return PluginFailure(ep.name, dist, f"{ep.value} is not callable")
        description = str(getattr(factory, "description", "") or "")
        return Plugin(ep.name, description, f"plugin {dist}", factory)


@functools.cache
def _group(group: str) -> tuple[EntryPoint, ...]:
    return tuple(entry_points(group=group))


def refresh() -> None:
    """Forget the entry points read so far (a plugin was installed while running; tests)."""
    _group.cache_clear()


# -- the built-ins: each imports its module only when the part is used ------------------------


def _local_builder() -> Callable[[], Builder]:
    from qwak_auto.builders.local import LocalBuilder

    return LocalBuilder


def _docker_builder() -> Callable[[], Builder]:
    from qwak_auto.builders.docker import DockerBuilder

    return DockerBuilder


def _local_deployer() -> Callable[[], Deployer]:
    from qwak_auto.deploy.local import LocalDeployer

    return LocalDeployer


def _kubernetes_deployer() -> Callable[[], Deployer]:
    from qwak_auto.deploy.kubernetes import KubernetesDeployer

    return KubernetesDeployer


def _automation_notifier() -> Callable[[], Notifier]:
    from qwak_auto.notify import RunNotifier

    return RunNotifier


SecretBackendFactory = Callable[["Config", Mapping[str, str]], "SecretBackend"]


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


BUILDERS: Kind[Callable[[], Builder]] = Kind(
    "builder", "qwak_auto.builders", {"local": _local_builder, "docker": _docker_builder}
)
DEPLOYERS: Kind[Callable[[], Deployer]] = Kind(
    "deployer",
    "qwak_auto.deployers",
    {"local": _local_deployer, "kubernetes": _kubernetes_deployer},
)
NOTIFIERS: Kind[Callable[[], Notifier]] = Kind(
    "notifier", "qwak_auto.notifiers", {"automation": _automation_notifier}
)
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

KINDS: Mapping[str, Kind[Any]] = {
    "builders": BUILDERS,
    "deployers": DEPLOYERS,
    "notifiers": NOTIFIERS,
    "secret_backends": SECRET_BACKENDS,
}
