"""Every pluggable part by name: builders, deployers, notifiers (and, from
:mod:`qwak_auto.secrets.registry`, secret backends).

Each kind is a :class:`~qwak_auto.platform.plugins.Kind`: the built-ins first, then the entry
points of its group (``qwak_auto.builders``, ``qwak_auto.deployers``, ``qwak_auto.notifiers``,
``qwak_auto.secret_backends``). A plugin package adds one without touching the core::

    [project.entry-points."qwak_auto.builders"]
    bazel = "auto_bazel:BazelBuilder"

An entry point names a factory: for builders, deployers and notifiers a callable taking no
arguments (usually the class), checked against its Protocol when a run makes it
(:mod:`qwak_auto.run.setup`); for secret backends one called as ``factory(config, environ)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from qwak_auto.platform.plugins import Kind
from qwak_auto.secrets.registry import SECRET_BACKENDS

if TYPE_CHECKING:
    from qwak_auto.run.contracts import Builder, Deployer, Notifier

# -- the built-ins: each imports its module only when the part is used ------------------------


def _local_builder() -> Callable[[], Builder]:
    from qwak_auto.builders.local import LocalBuilder

    return LocalBuilder


def _docker_builder() -> Callable[[], Builder]:
    from qwak_auto.builders.docker import DockerBuilder

    return DockerBuilder


def _kubernetes_builder() -> Callable[[], Builder]:
    from qwak_auto.builders.kubernetes import KubernetesBuilder

    return KubernetesBuilder


def _local_deployer() -> Callable[[], Deployer]:
    from qwak_auto.deploy.local import LocalDeployer

    return LocalDeployer


def _kubernetes_deployer() -> Callable[[], Deployer]:
    from qwak_auto.deploy.kubernetes import KubernetesDeployer

    return KubernetesDeployer


def _automation_notifier() -> Callable[[], Notifier]:
    from qwak_auto.notify import RunNotifier

    return RunNotifier


BUILDERS: Kind[Callable[[], Builder]] = Kind(
    "builder",
    "qwak_auto.builders",
    {"local": _local_builder, "docker": _docker_builder, "kubernetes": _kubernetes_builder},
)
DEPLOYERS: Kind[Callable[[], Deployer]] = Kind(
    "deployer",
    "qwak_auto.deployers",
    {"local": _local_deployer, "kubernetes": _kubernetes_deployer},
)
NOTIFIERS: Kind[Callable[[], Notifier]] = Kind(
    "notifier", "qwak_auto.notifiers", {"automation": _automation_notifier}
)
# Every kind, for listings (`auto plugins`-like reports, docs).
KINDS: Mapping[str, Kind[Any]] = {
    "builders": BUILDERS,
    "deployers": DEPLOYERS,
    "notifiers": NOTIFIERS,
    "secret_backends": SECRET_BACKENDS,
}
