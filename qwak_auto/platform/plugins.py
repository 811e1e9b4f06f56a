"""Plugins by name: one kind of pluggable part (its built-ins, then the entry points of its
group), as httpie's plugin manager does. The kinds themselves are in :mod:`qwak_auto.registry`
(builders, deployers, notifiers) and :mod:`qwak_auto.secrets.registry` (secret backends).

An entry point names a *factory*. A plugin that fails to load is reported with its
distribution name and never crashes ``auto``; a plugin cannot take a built-in's name (that
would let an installed package intercept every build or secret). Built-ins are imported on
first use, so a command pays only for what it runs; names are known without importing
anything, so config checks them cheaply.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Generic, TypeVar

from qwak_auto.errors import ConfigError

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
