"""What a run is given before its first step: step implementations, timeouts, secrets.

Plugins: a step implementation can be replaced without touching the package by an
environment variable ``AUTO_STEP_<KIND>=module:attr`` (KIND one of SOURCE, BUILDER, GATE,
DEPLOYER, NOTIFIER), where ``module:attr`` names a class (or factory) taking no arguments.
Step timeouts (seconds) can be overridden with ``AUTO_TIMEOUT_<STEP>`` (SOURCE, BUILD,
CONDITION, DEPLOY, NOTIFY); the deploy timeout defaults to the spec's
``deployment_process_timeout_limit`` plus a minute per environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qwak_auto import log
from qwak_auto.automation.model import Automation
from qwak_auto.config import Config
from qwak_auto.errors import AutoError, BackendError
from qwak_auto.run import contracts as steps

DEFAULT_TIMEOUTS: Mapping[str, float] = {
    "source": 600.0,
    "build": 3600.0,
    "condition": 600.0,
    "deploy": 660.0,
    "notify": 60.0,
}
STEP_KINDS: Mapping[str, tuple[Mapping[str, str], str]] = {
    "source": (steps.SOURCES, "source"),
    "builder": (steps.BUILDERS, "builder"),
    "gate": (steps.GATES, "gate"),
    "deployer": (steps.DEPLOYERS, "deployer"),
    "notifier": (steps.NOTIFIERS, "notifier"),
}


def load_step(
    kind: str, name: str, environ: Mapping[str, str], overrides: Mapping[str, Any] | None
) -> Any:
    """The step implementation: a test's instance, an ``AUTO_STEP_<KIND>`` plugin, or the
    registry's entry for ``name``."""
    if overrides and kind in overrides:
        return overrides[kind]
    registry, what = STEP_KINDS[kind]
    plugin = environ.get(f"AUTO_STEP_{kind.upper()}")
    if plugin:
        return steps.load({name: plugin}, name, what)
    return steps.load(registry, name, what)


def timeouts(automation: Automation, environ: Mapping[str, str]) -> dict[str, float]:
    out = dict(DEFAULT_TIMEOUTS)
    spec = automation.action.deployment_spec
    out["deploy"] = float(
        (spec.deployment_process_timeout_limit + 60) * len(automation.environments)
    )
    for step in out:
        raw = environ.get(f"AUTO_TIMEOUT_{step.upper()}")
        if raw:
            try:
                out[step] = float(raw)
            except ValueError:
                log.event("ignored a timeout that is not a number", variable=step, value=raw)
    return out


def run_secrets(config: Config, environ: Mapping[str, str]) -> steps.SecretResolver:
    """The run's secret resolver; a broken backend set fails the step that needs a secret
    (with the reason), not the runner."""
    try:
        from qwak_auto.secrets.registry import resolver

        return resolver(config, environ)
    except (ImportError, AutoError) as exc:
        reason = exc.message if isinstance(exc, AutoError) else str(exc)

        def unavailable(name: str) -> str:
            raise BackendError(f"secret {name!r}: the secret backends are not available: {reason}")

        return unavailable
