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

from qwak_auto.automation.rollout import DEFAULT_APPROVAL_TIMEOUT, Rollout, rollout_of, seconds
from qwak_auto.automation.units import normalise_memory, parse_duration

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


@dataclass(frozen=True, slots=True)
class CpuResources:
    cpu_fraction: float = 2.0
    memory: str = "2Gi"


@dataclass(frozen=True, slots=True)
class GpuResources:
    gpu_type: str
    gpu_amount: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildSpec:
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

    @property
    def env(self) -> dict[str, str]:
        return env_mapping(self.env_vars)


# ---------------------------------------------------------------- gate


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildMetric:
    metric_name: str
    direction: Direction
    threshold: str
    compare_to: str | None = None  # extension: "deployed"
    min_delta: str | None = None
    min_relative_delta: str | None = None


# ---------------------------------------------------------------- deploy


@dataclass(frozen=True, slots=True, kw_only=True)
class QuerySpec:
    metric_type: str  # cpu | gpu | memory | latency | error_rate | throughput
    aggregation_type: str  # min | max | avg | sum | p50 | p90 | p95 | p99
    time_period: int  # minutes


@dataclass(frozen=True, slots=True, kw_only=True)
class PrometheusTrigger:
    query_spec: QuerySpec
    threshold: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AutoScaleConfig:
    min_replica_count: int
    max_replica_count: int
    polling_interval: int = 30
    cool_down_period: int = 300
    triggers: tuple[PrometheusTrigger, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentSpec:
    number_of_http_server_workers: int = 2
    http_request_timeout_ms: int = 5000
    daemon_mode: bool = False
    custom_iam_role_arn: str = ""
    api_keys_secret: str | None = None  # extension: secret NAME of the served model's API keys
    max_batch_size: int = 1
    deployment_process_timeout_limit: int = 600
    number_of_pods: int = 2
    cpu_fraction: float = 2.0
    memory: str = "2Gi"
    gpu_resources: GpuResources | None = None
    variation_name: str = "default"
    env_vars: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()  # empty: the automation's / project's default
    auto_scale_config: AutoScaleConfig | None = None
    purchase_option: str | None = None
    instance: str | None = None
    service_account_key_secret_name: str | None = None
    traffic_weight: int | None = None  # extension: percent of the model's requests
    shadow: bool = False  # extension: a copy of the requests, answers logged only
    rollout: Rollout | None = None  # extension: canary and bake (None: at once, after smoke)

    @property
    def env(self) -> dict[str, str]:
        return env_mapping(self.env_vars)


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildDeploy:
    build_spec: BuildSpec
    deployment_condition: BuildMetric | None = None
    deployment_spec: DeploymentSpec = DeploymentSpec()
    requires_approval: bool = False  # extension
    approval_timeout_seconds: int = DEFAULT_APPROVAL_TIMEOUT


# ---------------------------------------------------------------- notifications


@dataclass(frozen=True, slots=True, kw_only=True)
class SlackNotification:
    webhook_secret: str
    kind: str = "slack"


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookNotification:
    url: str
    http_method: str = "POST"
    headers: Mapping[str, str] = field(default_factory=dict)
    secret_headers: Mapping[str, str] = field(default_factory=dict)  # header -> secret NAME
    data: Mapping[str, str] = field(default_factory=dict)
    signing_secret: str | None = None
    kind: str = "webhook"


Notification = SlackNotification | WebhookNotification


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


def env_mapping(entries: tuple[str, ...]) -> dict[str, str]:
    return dict(entry.split("=", 1) for entry in entries)


def spec_hash(doc: Mapping[str, Any]) -> str:
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _str_map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()}


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


def _gpu(doc: Mapping[str, Any] | None) -> GpuResources | None:
    if not doc:
        return None
    return GpuResources(gpu_type=doc["gpu_type"], gpu_amount=doc.get("gpu_amount", 1))


def _memory(value: Any, default: str = "2Gi") -> str:
    return normalise_memory(str(value)) or default if value is not None else default


def _build_spec(doc: Mapping[str, Any]) -> BuildSpec:
    res = doc.get("resources") or {}
    resources: CpuResources | GpuResources
    gpu = _gpu(res.get("gpu"))
    if gpu is not None:
        resources = gpu
    else:
        cpu = res.get("cpu") or {}
        resources = CpuResources(
            cpu_fraction=float(cpu.get("cpu_fraction", 2)), memory=_memory(cpu.get("memory"))
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
        parameters=_str_map(doc.get("parameters")),
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


def _query_spec(doc: Mapping[str, Any]) -> QuerySpec:
    # Qwak reads both names in any case (MetricType[value.lower()]).
    return QuerySpec(
        metric_type=str(doc["metric_type"]).lower(),
        aggregation_type=str(doc["aggregation_type"]).lower(),
        time_period=doc["time_period"],
    )


def _autoscale(doc: Mapping[str, Any] | None) -> AutoScaleConfig | None:
    if not doc:
        return None
    triggers = tuple(
        PrometheusTrigger(
            query_spec=_query_spec(t["prometheus_trigger"]["query_spec"]),
            threshold=float(t["prometheus_trigger"]["threshold"]),
        )
        for t in doc.get("triggers") or ()
    )
    return AutoScaleConfig(
        min_replica_count=doc["min_replica_count"],
        max_replica_count=doc["max_replica_count"],
        polling_interval=doc.get("polling_interval", 30),
        cool_down_period=doc.get("cool_down_period", 300),
        triggers=triggers,
    )


def _deployment_spec(doc: Mapping[str, Any] | None, environment: str | None) -> DeploymentSpec:
    d = doc or {}
    envs = tuple(d.get("environments") or ((environment,) if environment else ()))
    return DeploymentSpec(
        number_of_http_server_workers=d.get("number_of_http_server_workers", 2),
        http_request_timeout_ms=d.get("http_request_timeout_ms", 5000),
        daemon_mode=d.get("daemon_mode", False),
        custom_iam_role_arn=d.get("custom_iam_role_arn", ""),
        api_keys_secret=d.get("api_keys_secret") or None,
        max_batch_size=d.get("max_batch_size", 1),
        deployment_process_timeout_limit=d.get("deployment_process_timeout_limit", 600),
        number_of_pods=d.get("number_of_pods", 2),
        cpu_fraction=float(d.get("cpu_fraction", 2)),
        memory=_memory(d.get("memory")),
        gpu_resources=_gpu(d.get("gpu_resources")),
        variation_name=d.get("variation_name", "default"),
        env_vars=tuple(d.get("env_vars") or ()),
        environments=envs,
        auto_scale_config=_autoscale(d.get("auto_scale_config")),
        purchase_option=d.get("purchase_option"),
        instance=d.get("instance"),
        service_account_key_secret_name=d.get("service_account_key_secret_name"),
        traffic_weight=d.get("traffic_weight"),
        shadow=d.get("shadow", False),
        rollout=rollout_of(d.get("rollout")),
    )


def _notifications(doc: Mapping[str, Any] | None) -> tuple[Notification, ...]:
    out: list[Notification] = []
    for key, value in (doc or {}).items():
        if key == "slack":
            out.append(SlackNotification(webhook_secret=value["webhook_secret"]))
        elif key == "webhook":
            out.append(
                WebhookNotification(
                    url=value["url"],
                    http_method=str(value.get("http_method", "POST")).upper(),
                    headers=_str_map(value.get("headers")),
                    secret_headers=_str_map(value.get("secret_headers")),
                    data=_str_map(value.get("data")),
                    signing_secret=value.get("signing_secret"),
                )
            )
    return tuple(out)


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
            deployment_spec=_deployment_spec(action.get("deployment_spec"), environment),
            requires_approval=action.get("requires_approval", False),
            approval_timeout_seconds=seconds(
                action.get("approval_timeout"), DEFAULT_APPROVAL_TIMEOUT
            ),
        ),
        on_success=_notifications(doc.get("on_success")),
        on_error=_notifications(doc.get("on_error")),
        on_not_deployed=_notifications(doc.get("on_not_deployed")),
        on_start=_notifications(doc.get("on_start")),
        on_approval_needed=_notifications(doc.get("on_approval_needed")),
        origin=origin or Origin("<memory>"),
        spec_hash=spec_hash(doc),
    )
