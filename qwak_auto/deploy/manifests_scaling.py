"""The KEDA ScaledObject of a deployment (``auto_scale_config``) and its Prometheus queries.

It scales the Deployment, or the Argo Rollout when the spec has a ``rollout``.

Prometheus queries used for autoscaling (``time_period`` = W minutes; pods of this deployment
are selected by ``namespace="NS", pod=~"NAME-.*"``, container ``model``):

=========== ===================================================================================
metric_type value the threshold is compared with
=========== ===================================================================================
cpu         percent of the requested CPU: ``100 * AGG(rate(container_cpu_usage_seconds_total
            [W m])) / cpu_fraction``
memory      percent of the memory limit: ``100 * AGG(avg_over_time(container_memory_working_
            set_bytes[W m])) / limit_bytes``
gpu         GPU utilisation percent (NVIDIA DCGM exporter): ``AGG(avg_over_time(
            DCGM_FI_DEV_GPU_UTIL[W m]))``
latency     milliseconds per prediction request: for min/max/avg/sum the per-pod mean
            ``1000 * rate(auto_model_request_duration_seconds_sum[W m]) / rate(..._count[W m])``
            aggregated with AGG across pods; p50/p90/p95/p99 the histogram quantile over all pods
error_rate  percent of requests answered 5xx, per pod, aggregated with AGG
throughput  requests per second, per pod, aggregated with AGG
=========== ===================================================================================

AGG is the spec's ``aggregation_type`` (min, max, avg, sum); the percentiles p50…p99 apply to
latency and, for the other metrics, take the quantile of the per-pod values.
"""

from __future__ import annotations

from typing import Any

from qwak_auto.automation.deployment import PrometheusTrigger
from qwak_auto.automation.model import Automation
from qwak_auto.automation.units import memory_bytes
from qwak_auto.deploy.manifests_common import (
    CONTAINER,
    DEFAULT_PROMETHEUS,
    Target,
    dns_name,
    labels,
    object_name,
    workload_ref,
)

_PERCENTILES = {"p50": "0.5", "p90": "0.9", "p95": "0.95", "p99": "0.99"}


def _aggregate(aggregation: str, per_pod: str) -> str:
    if aggregation in _PERCENTILES:
        return f"quantile({_PERCENTILES[aggregation]}, {per_pod})"
    return f"{aggregation}({per_pod})"


def prometheus_query(trigger: PrometheusTrigger, automation: Automation, target: Target) -> str:
    spec = automation.action.deployment_spec
    q = trigger.query_spec
    window = f"{q.time_period}m"
    pods = f'namespace="{target.namespace}",pod=~"{object_name(automation)}-.*"'
    container = f'{pods},container="{CONTAINER}"'
    agg = q.aggregation_type
    if q.metric_type == "cpu":
        per_pod = f"sum by (pod) (rate(container_cpu_usage_seconds_total{{{container}}}[{window}]))"
        return f"100 * {_aggregate(agg, per_pod)} / {spec.cpu_fraction:g}"
    if q.metric_type == "memory":
        limit = memory_bytes(spec.memory) or 1
        per_pod = (
            "sum by (pod) (avg_over_time("
            f"container_memory_working_set_bytes{{{container}}}[{window}]))"
        )
        return f"100 * {_aggregate(agg, per_pod)} / {limit}"
    if q.metric_type == "gpu":
        per_pod = f"avg by (pod) (avg_over_time(DCGM_FI_DEV_GPU_UTIL{{{pods}}}[{window}]))"
        return _aggregate(agg, per_pod)
    if q.metric_type == "latency":
        hist = "auto_model_request_duration_seconds"
        if agg in _PERCENTILES:
            return (
                f"1000 * histogram_quantile({_PERCENTILES[agg]}, "
                f"sum by (le) (rate({hist}_bucket{{{pods}}}[{window}])))"
            )
        per_pod = (
            f"sum by (pod) (rate({hist}_sum{{{pods}}}[{window}])) / "
            f"sum by (pod) (rate({hist}_count{{{pods}}}[{window}]))"
        )
        return f"1000 * {_aggregate(agg, per_pod)}"
    requests = "auto_model_requests_total"
    if q.metric_type == "error_rate":
        per_pod = (
            f'sum by (pod) (rate({requests}{{{pods},code=~"5.."}}[{window}])) / '
            f"sum by (pod) (rate({requests}{{{pods}}}[{window}]))"
        )
        return f"100 * {_aggregate(agg, per_pod)}"
    per_pod = f"sum by (pod) (rate({requests}{{{pods}}}[{window}]))"  # throughput
    return _aggregate(agg, per_pod)


def render_scaled_object(automation: Automation, target: Target) -> dict[str, Any] | None:
    scale = automation.action.deployment_spec.auto_scale_config
    if scale is None:
        return None
    server = target.prometheus_url or DEFAULT_PROMETHEUS
    triggers = [
        {
            "type": "prometheus",
            "name": dns_name(f"{t.query_spec.metric_type}-{t.query_spec.aggregation_type}-{i}"),
            "metadata": {
                "serverAddress": server,
                "query": prometheus_query(t, automation, target),
                "threshold": f"{t.threshold:g}",
            },
        }
        for i, t in enumerate(scale.triggers)
    ]
    if not triggers:
        # KEDA needs at least one trigger; without any, scale on CPU like Qwak's default.
        triggers = [
            {
                "type": "cpu",
                "metricType": "Utilization",
                "metadata": {"value": "80"},
            }
        ]
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {
            "name": object_name(automation),
            "namespace": target.namespace,
            "labels": labels(automation, target),
        },
        "spec": {
            "scaleTargetRef": workload_ref(automation),
            "minReplicaCount": scale.min_replica_count,
            "maxReplicaCount": scale.max_replica_count,
            "pollingInterval": scale.polling_interval,
            "cooldownPeriod": scale.cool_down_period,
            "triggers": triggers,
        },
    }
