"""What a run is given before its first step: its parts, its runner's settings, timeouts.

The parts (:class:`Steps`) come from the project config and :mod:`qwak_auto.registry`: the
builder named by ``builder``, each environment's ``deployer``, the ``notifiers``. Each part is
made when its step starts, so one that cannot be made (a plugin that fails to load) fails
that step with the reason, not the runner. Tests and embedding code pass their own parts to
:func:`steps_for`.

Step timeouts (seconds) can be overridden with ``AUTO_TIMEOUT_<STEP>`` (SOURCE, BUILD,
CONDITION, DEPLOY, NOTIFY); the deploy timeout defaults to, per environment, the spec's
``deployment_process_timeout_limit``, plus a minute, plus the rollout's watch (every canary
step's ``step_time`` and the ``bake_time``).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qwak_auto import log
from qwak_auto.errors import AutoError, BackendError, ConfigError, UsageError
from qwak_auto.gate.conditions import MetricGate
from qwak_auto.registry import BUILDERS, DEPLOYERS, NOTIFIERS
from qwak_auto.run.contracts import (
    Builder,
    Deployer,
    DisplayFactory,
    Gate,
    Notifier,
    RunContext,
    RunSummary,
    SecretResolver,
    Source,
)
from qwak_auto.run.control import Stop
from qwak_auto.secrets.registry import resolver
from qwak_auto.source import GitSource

if TYPE_CHECKING:
    from qwak_auto.automation.model import Automation
    from qwak_auto.config import Config

DEFAULT_TIMEOUTS: Mapping[str, float] = {
    "source": 600.0,
    "build": 3600.0,
    "condition": 600.0,
    "deploy": 660.0,
    "notify": 60.0,
}
DEFAULT_LEASE = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Steps:
    """The parts of a run, each made when its step starts."""

    source: Callable[[], Source]
    builder: Callable[[], Builder]
    gate: Callable[[], Gate]
    deployer: Callable[[str], Deployer]  # by an environment's `deployer` name
    notifier: Callable[[], Notifier]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunnerSettings:
    """Who runs runs in this process, and how: the owner name written into claims, the
    lease it holds and renews, its stop requests, its environment, the parts (None: the
    project config's) and where long steps show their output (None: only their logs)."""

    owner: str
    lease_seconds: float = DEFAULT_LEASE
    stop: Stop = field(default_factory=Stop)
    environ: Mapping[str, str] = field(default_factory=dict)
    steps: Steps | None = None
    display: DisplayFactory | None = None  # where long steps show their output

    @classmethod
    def from_environ(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        stop: Stop | None = None,
        display: DisplayFactory | None = None,
    ) -> RunnerSettings:
        environ = os.environ if environ is None else environ
        return cls(
            owner=new_owner(),
            lease_seconds=lease_seconds(environ),
            stop=stop or Stop(),
            environ=environ,
            display=display,
        )


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_seconds(environ: Mapping[str, str]) -> float:
    """``AUTO_LEASE_SECONDS`` (default 60): the lease a runner holds on a run and renews
    every third of it; a run whose lease expired is abandoned by the next tick."""
    raw = environ.get("AUTO_LEASE_SECONDS", "")
    try:
        return max(1.0, float(raw)) if raw else DEFAULT_LEASE
    except ValueError:
        raise UsageError(
            f"AUTO_LEASE_SECONDS: {raw!r} is not a number of seconds", "e.g. AUTO_LEASE_SECONDS=60"
        ) from None


def _made(part: object, protocol: type, what: str, name: str) -> None:
    if not isinstance(part, protocol):
        raise ConfigError(
            f"{what} {name!r} does not have the {protocol.__name__} interface",
            f"see qwak_auto.run.contracts.{protocol.__name__} for what a {what} provides",
        )


def _builder(name: str) -> Builder:
    part = BUILDERS.get(name).factory()
    _made(part, Builder, "builder", name)
    return part


def _deployer(name: str) -> Deployer:
    part = DEPLOYERS.get(name).factory()
    _made(part, Deployer, "deployer", name)
    return part


def _notifier(names: tuple[str, ...]) -> Notifier:
    parts = []
    for name in names:
        part = NOTIFIERS.get(name).factory()
        _made(part, Notifier, "notifier", name)
        parts.append((name, part))
    return parts[0][1] if len(parts) == 1 else NotifierChain(tuple(parts))


def steps_for(
    config: Config,
    *,
    source: Source | None = None,
    builder: Builder | None = None,
    gate: Gate | None = None,
    deployer: Deployer | None = None,
    notifier: Notifier | None = None,
) -> Steps:
    """The project config's parts, with any part given here used instead."""
    return Steps(
        source=(lambda: source) if source is not None else GitSource,
        builder=(lambda: builder) if builder is not None else (lambda: _builder(config.builder)),
        gate=(lambda: gate) if gate is not None else MetricGate,
        deployer=(lambda _name: deployer) if deployer is not None else _deployer,
        notifier=(
            (lambda: notifier) if notifier is not None else (lambda: _notifier(config.notifiers))
        ),
    )


class NotifierChain:
    """Several notifiers (``notifiers: [automation, pager]``): each gets every event; the
    detail holds each one's, and the problems of all of them."""

    def __init__(self, parts: tuple[tuple[str, Notifier], ...]) -> None:
        self.parts = parts

    def notify(self, event: str, summary: RunSummary, ctx: RunContext) -> Mapping[str, Any]:
        details: dict[str, Any] = {}
        for name, part in self.parts:
            try:
                details[name] = dict(part.notify(event, summary, ctx))
            except Exception as exc:  # noqa: BLE001 - a notifier never fails the run
                details[name] = {"error": f"{type(exc).__name__}: {exc}"}
        errors = [f"{n}: {d['error']}" for n, d in details.items() if d.get("error")]
        return {"notifiers": details, **({"error": "; ".join(errors)} if errors else {})}


def timeouts(automation: Automation, environ: Mapping[str, str]) -> dict[str, float]:
    out = dict(DEFAULT_TIMEOUTS)
    spec = automation.action.deployment_spec
    rollout = spec.rollout
    # Per environment: the time to become ready, a minute for the rest, and the watch.
    watched = (
        0
        if rollout is None
        else (len(rollout.canary_steps) * rollout.step_seconds + rollout.bake_seconds)
    )
    out["deploy"] = float(
        (spec.deployment_process_timeout_limit + 60 + watched) * len(automation.environments)
    )
    for step in out:
        raw = environ.get(f"AUTO_TIMEOUT_{step.upper()}")
        if raw:
            try:
                out[step] = float(raw)
            except ValueError:
                log.event("ignored a timeout that is not a number", variable=step, value=raw)
    return out


def run_secrets(config: Config, environ: Mapping[str, str]) -> SecretResolver:
    """The run's secret resolver; a broken backend set fails the step that needs a secret
    (with the reason), not the runner."""
    try:
        return resolver(config, environ)
    except AutoError as exc:
        reason = exc.message

        def unavailable(name: str) -> str:
            raise BackendError(f"secret {name!r}: the secret backends are not available: {reason}")

        return unavailable
