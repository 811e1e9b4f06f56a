"""The typed, immutable automation model, with Qwak's defaults applied.

:func:`from_document` builds an :class:`Automation` from a document that already passed the
schema and the semantic checks; it never validates on its own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from qwak_auto.automation.deployment import DeploymentSpec, deployment_spec_of
from qwak_auto.automation.notifications import Notification, notifications_of
from qwak_auto.automation.resources import (
    CpuResources,
    EnvVars,
    GpuResources,
    gpu_of,
    memory_of,
    str_map,
)
from qwak_auto.automation.rollout import DEFAULT_APPROVAL_TIMEOUT, seconds
from qwak_auto.automation.units import parse_duration

DEFAULT_METRIC_CRON = "*/30 * * * *"


class Direction(StrEnum):
    """Qwak's ThresholdDirection; the comparisons are in :mod:`qwak_auto.analytics.thresholds`."""

    ABOVE = "ABOVE"
    BELOW = "BELOW"
    EQUALS = "EQUALS"
    ABOVE_OR_EQUALS = "ABOVE_OR_EQUALS"
    BELOW_OR_EQUALS = "BELOW_OR_EQUALS"


# ---------------------------------------------------------------- triggers


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduledTrigger:
    cron: str | None = None  # 5-field expression or a macro (@daily ...)
    interval_seconds: int | None = None
    timezone: str = "UTC"
    missed_runs: str = "latest"  # latest | skip
    starting_deadline_seconds: int | None = None
    kind: str = "scheduled"


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricTrigger:
    name: str
    sql_query: str
    direction: Direction
    threshold: str
    override_cron: str = DEFAULT_METRIC_CRON
    timezone: str = "UTC"
    for_count: int = 1  # extension `for`: consecutive breaches needed
    cool_down_seconds: int = 0
    on_no_data: str = "skip"  # skip | fire
    kind: str = "metric_based"


@dataclass(frozen=True, slots=True)
class NoneTrigger:
    kind: str = "none"


@dataclass(frozen=True, slots=True)
class OnBoardingTrigger:
    kind: str = "on_boarding"


Trigger = ScheduledTrigger | MetricTrigger | NoneTrigger | OnBoardingTrigger


# ---------------------------------------------------------------- build


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildSpec(EnvVars):
    git_uri: str
    git_branch: str = "main"
    git_access_token_secret: str | None = None
    git_ssh_key_secret: str | None = None
    main_dir: str = "main"
    dependency_file_path: str | None = None
    tags: tuple[str, ...] = ()
    parameters: Mapping[str, str] = field(default_factory=dict)
    env_vars: tuple[str, ...] = ()
    base_image: str = ""
    assumed_iam_role: str = ""
    resources: CpuResources | GpuResources = CpuResources()
    push_image: bool | None = None
    # Qwak fields a builder may not honour (a `qwak.no-effect` warning says so).
    purchase_option: str | None = None
    instance: str | None = None  # resources.instance (Qwak's ClientResources(instance=))
    gpu_compatible: bool = False
    service_account_key_secret_name: str | None = None
    provision_instance_timeout: int | None = None  # minutes
    dependencies_as_of: str | None = None  # YYYY-MM-DD: ignore packages published later

    @property
    def repo_url(self) -> str:
        """The repository part of ``git_uri`` (before ``#``)."""
        return self.git_uri.split("#", 1)[0]

    @property
    def sub_path(self) -> str:
        """The path inside the repository (after ``#``), '' for the root."""
        return self.git_uri.split("#", 1)[1].strip("/") if "#" in self.git_uri else ""


# ---------------------------------------------------------------- gate


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildMetric:
    metric_name: str
    direction: Direction
    threshold: str
    compare_to: str | None = None  # extension: "deployed"
    min_delta: str | None = None
    min_relative_delta: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildDeploy:
    build_spec: BuildSpec
    deployment_condition: BuildMetric | None = None
    deployment_spec: DeploymentSpec = DeploymentSpec()
    requires_approval: bool = False  # extension
    approval_timeout_seconds: int = DEFAULT_APPROVAL_TIMEOUT


# ---------------------------------------------------------------- automation


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an automation was written: file and the line of its document."""

    file: str
    line: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Automation:
    name: str
    model_id: str
    trigger: Trigger
    action: BuildDeploy
    description: str = ""
    enabled: bool = True
    execute_immediately: bool = False
    environment: str | None = None
    concurrency: str = "forbid"  # forbid | allow
    on_success: tuple[Notification, ...] = ()
    on_error: tuple[Notification, ...] = ()
    on_not_deployed: tuple[Notification, ...] = ()
    on_start: tuple[Notification, ...] = ()
    on_approval_needed: tuple[Notification, ...] = ()
    origin: Origin = Origin("<memory>")
    spec_hash: str = ""

    @property
    def environments(self) -> tuple[str, ...]:
        """Where a build of this automation is deployed ('' = the project's default)."""
        spec_envs = self.action.deployment_spec.environments
        if spec_envs:
            return spec_envs
        return (self.environment or "",)


# ---------------------------------------------------------------- construction


def spec_hash(doc: Mapping[str, Any]) -> str:
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _duration(value: Any) -> int | None:
    return None if value is None else parse_duration(str(value))


def _trigger(doc: Mapping[str, Any]) -> Trigger:
    if "scheduled" in doc:
        s = doc["scheduled"]
        interval = s.get("interval")
        return ScheduledTrigger(
            cron=s.get("cron"),
            interval_seconds=None if interval is None else parse_duration(str(interval)),
            timezone=s.get("timezone", "UTC"),
            missed_runs=s.get("missed_runs", "latest"),
            starting_deadline_seconds=_duration(s.get("starting_deadline")),
        )
    if "metric_based" in doc:
        m = doc["metric_based"]
        return MetricTrigger(
            name=m["name"],
            sql_query=m["sql_query"],
            direction=Direction(m["direction"]),
            threshold=m["threshold"],
            override_cron=m.get("override_cron", DEFAULT_METRIC_CRON),
            timezone=m.get("timezone", "UTC"),
            for_count=m.get("for", 1),
            cool_down_seconds=_duration(m.get("cool_down")) or 0,
            on_no_data=m.get("on_no_data", "skip"),
        )
    if "on_boarding" in doc:
        return OnBoardingTrigger()
    return NoneTrigger()


def _build_spec(doc: Mapping[str, Any]) -> BuildSpec:
    res = doc.get("resources") or {}
    resources: CpuResources | GpuResources
    gpu = gpu_of(res.get("gpu"))
    if gpu is not None:
        resources = gpu
    else:
        cpu = res.get("cpu") or {}
        resources = CpuResources(
            cpu_fraction=float(cpu.get("cpu_fraction", 2)), memory=memory_of(cpu.get("memory"))
        )
    return BuildSpec(
        git_uri=doc["git_uri"],
        git_branch=doc.get("git_branch", "main"),
        git_access_token_secret=doc.get("git_access_token_secret") or None,
        # Qwak spells it git_ssh_token_secret; the checks refuse both at once.
        git_ssh_key_secret=doc.get("git_ssh_key_secret") or doc.get("git_ssh_token_secret"),
        main_dir=doc.get("main_dir", "main"),
        dependency_file_path=doc.get("dependency_file_path") or None,
        tags=tuple(doc.get("tags") or ()),
        parameters=str_map(doc.get("parameters")),
        env_vars=tuple(doc.get("env_vars") or ()),
        base_image=doc.get("base_image", ""),
        assumed_iam_role=doc.get("assumed_iam_role", ""),
        resources=resources,
        push_image=doc.get("push_image"),
        purchase_option=doc.get("purchase_option"),
        instance=res.get("instance"),
        gpu_compatible=doc.get("gpu_compatible", False),
        service_account_key_secret_name=doc.get("service_account_key_secret_name"),
        provision_instance_timeout=doc.get("provision_instance_timeout"),
        dependencies_as_of=doc.get("dependencies_as_of"),
    )


def _condition(doc: Mapping[str, Any] | None) -> BuildMetric | None:
    if not doc or "build_metric" not in doc:
        return None
    m = doc["build_metric"]
    return BuildMetric(
        metric_name=m["metric_name"],
        direction=Direction(m["direction"]),
        threshold=m["threshold"],
        compare_to=m.get("compare_to"),
        min_delta=m.get("min_delta"),
        min_relative_delta=m.get("min_relative_delta"),
    )


def from_document(doc: Mapping[str, Any], origin: Origin | None = None) -> Automation:
    """Build the typed automation from a validated document (plain dicts/lists/scalars)."""
    action = doc["action"]["build_deploy"]
    environment = doc.get("environment")
    return Automation(
        name=doc["name"],
        model_id=doc["model_id"],
        description=doc.get("description", ""),
        enabled=doc.get("enabled", True),
        execute_immediately=doc.get("execute_immediately", False),
        environment=environment,
        concurrency=doc.get("concurrency", "forbid"),
        trigger=_trigger(doc["trigger"]),
        action=BuildDeploy(
            build_spec=_build_spec(action["build_spec"]),
            deployment_condition=_condition(action.get("deployment_condition")),
            deployment_spec=deployment_spec_of(action.get("deployment_spec"), environment),
            requires_approval=action.get("requires_approval", False),
            approval_timeout_seconds=seconds(
                action.get("approval_timeout"), DEFAULT_APPROVAL_TIMEOUT
            ),
        ),
        on_success=notifications_of(doc.get("on_success")),
        on_error=notifications_of(doc.get("on_error")),
        on_not_deployed=notifications_of(doc.get("on_not_deployed")),
        on_start=notifications_of(doc.get("on_start")),
        on_approval_needed=notifications_of(doc.get("on_approval_needed")),
        origin=origin or Origin("<memory>"),
        spec_hash=spec_hash(doc),
    )
