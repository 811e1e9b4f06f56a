"""The deployment part of the automation model: how a build serves, and how it scales."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qwak_auto.automation.resources import EnvVars, GpuResources, gpu_of, memory_of
from qwak_auto.automation.rollout import Rollout, rollout_of


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
class DeploymentSpec(EnvVars):
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


def deployment_spec_of(doc: Mapping[str, Any] | None, environment: str | None) -> DeploymentSpec:
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
        memory=memory_of(d.get("memory")),
        gpu_resources=gpu_of(d.get("gpu_resources")),
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
