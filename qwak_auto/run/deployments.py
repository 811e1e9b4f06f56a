"""Deployments outside a run: `auto deploy`, `auto rollback`, `auto undeploy`.

They drive the local deployer as a run does, and record what changed in the analytics store
through the same sink (and the same writer lock) as a run."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING

from qwak_auto.deploy.local import deploy_build, rollback, undeploy
from qwak_auto.deploy.settings import ServeSettings, Target, result_of
from qwak_auto.errors import DeployError, UsageError
from qwak_auto.run.sink import AnalyticsSink

if TYPE_CHECKING:
    from qwak_auto.config import Config
    from qwak_auto.run.contracts import DeployOutcome
    from qwak_auto.state.base import DeploymentRecord, StateStore


def _local_target(config: Config, model_id: str, env: str | None, variation: str) -> Target:
    environment = config.environment(env)
    if environment.deployer != "local":
        raise UsageError(
            f"environment {environment.name!r} uses the {environment.deployer} deployer",
            "these commands drive the local deployer; a kubernetes environment is deployed "
            "by `auto run` (or apply `auto render` output yourself)",
        )
    return Target(model_id=model_id, environment=environment.name, variation=variation)


def deploy_recorded_build(
    config: Config,
    store: StateStore,
    environ: Mapping[str, str],
    build_id: str,
    *,
    env: str | None = None,
    variation: str = "default",
    overrides: Mapping[str, object] | None = None,
) -> DeployOutcome:
    """Deploy a recorded build; serving settings from the last deployment of the same
    target (else the defaults), then ``overrides`` (workers, timeout_ms, max_batch_size...)."""
    record = store.build(build_id)
    if record is None:
        raise DeployError(f"no build {build_id!r} is recorded", "list builds with `auto history`")
    build = result_of(record, config.home)
    target = _local_target(config, build.model_id, env, variation)
    last = store.deployments(build.model_id, target.environment, target.variation, limit=1)
    settings = ServeSettings()
    if last and last[0].detail.get("serve"):
        settings = ServeSettings.from_detail(last[0].detail["serve"])
    changes = {k: v for k, v in (overrides or {}).items() if v is not None}
    if changes:
        settings = dataclasses.replace(settings, **changes)  # type: ignore[arg-type]
    outcome = deploy_build(
        build, target, settings, store=store, config=config, environ=environ, run_id=""
    )
    AnalyticsSink(config).deployments(store, target.model_id)
    return outcome


def local_target(
    config: Config, store: StateStore, name_or_model: str, env: str | None, variation: str
) -> Target:
    """Where `auto rollback` and `auto undeploy` act: the model of an automation name (or
    the model id itself) in a local environment."""
    automation = store.automation(name_or_model)
    model_id = automation.model_id if automation is not None else name_or_model
    return _local_target(config, model_id, env, variation)


def rollback_model(
    config: Config, store: StateStore, environ: Mapping[str, str], target: Target
) -> DeployOutcome:
    outcome = rollback(store, config, target, environ)
    AnalyticsSink(config).deployments(store, target.model_id)
    return outcome


def undeploy_model(config: Config, store: StateStore, target: Target) -> DeploymentRecord | None:
    record = undeploy(store, target, home=config.home)
    AnalyticsSink(config).deployments(store, target.model_id)
    return record
