"""Kubernetes objects for one deployment, rendered as pure data (no cluster needed).

``render`` returns, in apply order: ServiceAccount, Service, Deployment, and a KEDA
ScaledObject when the spec has ``auto_scale_config``. Every object is validated in the tests
against the published Kubernetes schemas and the KEDA CRD.

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

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qwak_auto.automation.model import Automation, DeploymentSpec, GpuResources, PrometheusTrigger
from qwak_auto.automation.units import memory_bytes

CONTAINER = "model"
PORT = 8080
MODEL_DIR = "/opt/model"
LABEL_PREFIX = "auto.qwak.ai"
DEFAULT_PROMETHEUS = "http://prometheus.monitoring.svc:9090"
GPU_RESOURCE = "nvidia.com/gpu"


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """What to deploy where: the build's image and the environment's coordinates."""

    build_id: str
    image: str
    environment: str
    namespace: str = "default"
    prometheus_url: str | None = None


def registry_ref(registry: str, model_id: str, build_id: str) -> str:
    """Where a build's image lives in an environment's registry."""
    return f"{registry.rstrip('/')}/{model_id.lower()}:{build_id.lower()}"


def dns_name(*parts: str) -> str:
    """A DNS-1123 label from parts: lower case, `_` and other characters to `-`, ≤ 63 chars."""
    raw = "-".join(p for p in parts if p)
    name = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")
    return name[:63].rstrip("-") or "model"


def label_value(value: str) -> str:
    clean = re.sub(r"[^A-Za-z0-9_.-]+", "-", value)[:63]
    return clean.strip("-_.")


def object_name(automation: Automation) -> str:
    spec = automation.action.deployment_spec
    return dns_name(automation.model_id, spec.variation_name)


def selector_labels(automation: Automation) -> dict[str, str]:
    spec = automation.action.deployment_spec
    return {
        f"{LABEL_PREFIX}/model": label_value(automation.model_id),
        f"{LABEL_PREFIX}/variation": label_value(spec.variation_name),
    }


def labels(automation: Automation, target: Target) -> dict[str, str]:
    # The build label changes with every deployment, so it stays out of selectors (a
    # Deployment's selector is immutable, and a Service must reach old and new pods).
    return {
        **selector_labels(automation),
        f"{LABEL_PREFIX}/build": label_value(target.build_id),
        f"{LABEL_PREFIX}/automation": label_value(automation.name),
        f"{LABEL_PREFIX}/environment": label_value(target.environment or "default"),
        "app.kubernetes.io/name": label_value(automation.model_id),
        "app.kubernetes.io/managed-by": "auto",
    }


def cpu_quantity(cores: float) -> str:
    millis = round(cores * 1000)
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def resources(spec: DeploymentSpec) -> dict[str, Any]:
    amounts: dict[str, str] = {"cpu": cpu_quantity(spec.cpu_fraction), "memory": spec.memory}
    limits = dict(amounts)
    if spec.gpu_resources is not None:
        # Extended resources must have requests equal to limits.
        amounts[GPU_RESOURCE] = str(spec.gpu_resources.gpu_amount)
        limits[GPU_RESOURCE] = str(spec.gpu_resources.gpu_amount)
    return {"requests": amounts, "limits": limits}


def _env(automation: Automation, target: Target) -> list[dict[str, str]]:
    spec = automation.action.deployment_spec
    env = [{"name": k, "value": v} for k, v in spec.env.items()]
    env += [
        {"name": "AUTO_MODEL_ID", "value": automation.model_id},
        {"name": "AUTO_BUILD_ID", "value": target.build_id},
        {"name": "AUTO_VARIATION", "value": spec.variation_name},
        {"name": "AUTO_ENVIRONMENT", "value": target.environment or "default"},
    ]
    return env


def _command(automation: Automation, target: Target) -> list[str]:
    spec = automation.action.deployment_spec
    return [
        "python",
        "-m",
        "qwak_auto.serve",
        "--artifact",
        MODEL_DIR,
        "--bind",
        f"0.0.0.0:{PORT}",
        "--workers",
        str(spec.number_of_http_server_workers),
        "--timeout-ms",
        str(spec.http_request_timeout_ms),
        "--max-batch-size",
        str(spec.max_batch_size),
        "--model-id",
        automation.model_id,
        "--variation",
        spec.variation_name,
        "--build-id",
        target.build_id,
        "--environment",
        target.environment or "default",
    ]


def _probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": failures,
    }


def _gpu_node_selector(gpu: GpuResources | None) -> dict[str, str]:
    if gpu is None:
        return {}
    return {f"{LABEL_PREFIX}/gpu-type": label_value(gpu.gpu_type)}


def render_service_account(automation: Automation, target: Target) -> dict[str, Any]:
    spec = automation.action.deployment_spec
    meta: dict[str, Any] = {
        "name": object_name(automation),
        "namespace": target.namespace,
        "labels": labels(automation, target),
    }
    if spec.custom_iam_role_arn:
        meta["annotations"] = {"eks.amazonaws.com/role-arn": spec.custom_iam_role_arn}
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}


def render_service(automation: Automation, target: Target) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": object_name(automation),
            "namespace": target.namespace,
            "labels": labels(automation, target),
        },
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(automation),
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def render_deployment(automation: Automation, target: Target) -> dict[str, Any]:
    spec = automation.action.deployment_spec
    name = object_name(automation)
    startup_period = 5
    startup_failures = max(1, -(-spec.deployment_process_timeout_limit // startup_period))
    pod_spec: dict[str, Any] = {
        "serviceAccountName": name,
        "terminationGracePeriodSeconds": spec.http_request_timeout_ms // 1000 + 10,
        "containers": [
            {
                "name": CONTAINER,
                "image": target.image,
                "imagePullPolicy": "IfNotPresent",
                "command": _command(automation, target),
                "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
                "env": _env(automation, target),
                "resources": resources(spec),
                "startupProbe": _probe("/ready", startup_period, startup_failures),
                "readinessProbe": _probe("/ready", 5, 3),
                "livenessProbe": _probe("/health", 10, 3),
            }
        ],
    }
    selector = _gpu_node_selector(spec.gpu_resources)
    if selector:
        pod_spec["nodeSelector"] = selector
        pod_spec["tolerations"] = [
            {"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}
        ]
    deployment_spec: dict[str, Any] = {
        "selector": {"matchLabels": selector_labels(automation)},
        "progressDeadlineSeconds": spec.deployment_process_timeout_limit,
        "revisionHistoryLimit": 5,
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        },
        "template": {
            "metadata": {
                "labels": labels(automation, target),
                "annotations": {
                    "prometheus.io/scrape": "true",
                    "prometheus.io/port": str(PORT),
                    "prometheus.io/path": "/metrics",
                },
            },
            "spec": pod_spec,
        },
    }
    if spec.auto_scale_config is None:
        # Autoscaled deployments leave replicas to KEDA's HPA; re-applying a fixed count
        # would fight it.
        deployment_spec["replicas"] = spec.number_of_pods
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": target.namespace,
            "labels": labels(automation, target),
            "annotations": {f"{LABEL_PREFIX}/spec-hash": automation.spec_hash or "none"},
        },
        "spec": deployment_spec,
    }


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
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": object_name(automation),
            },
            "minReplicaCount": scale.min_replica_count,
            "maxReplicaCount": scale.max_replica_count,
            "pollingInterval": scale.polling_interval,
            "cooldownPeriod": scale.cool_down_period,
            "triggers": triggers,
        },
    }


def render(automation: Automation, target: Target) -> list[dict[str, Any]]:
    """Every object of one deployment, in the order they are applied."""
    objects = [
        render_service_account(automation, target),
        render_service(automation, target),
        render_deployment(automation, target),
    ]
    scaled = render_scaled_object(automation, target)
    if scaled is not None:
        objects.append(scaled)
    return objects


def to_yaml(objects: Sequence[Mapping[str, Any]]) -> str:
    """Multi-document YAML (what `kubectl apply -f -` and GitOps repositories take)."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.default_flow_style = False
    buffer = io.StringIO()
    yaml.dump_all([_plain(o) for o in objects], buffer)
    return buffer.getvalue()


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
