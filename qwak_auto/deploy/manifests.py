"""Kubernetes objects for one deployment, rendered as pure data (no cluster needed).

``render`` returns, in apply order: ServiceAccount, the variation's Service, the model's own
Service (its default address), then the workload: a Deployment, or, when the spec has a
``rollout``, an Argo Rollouts ``AnalysisTemplate`` and ``Rollout``
(:mod:`qwak_auto.deploy.manifests_rollout`); last a KEDA ScaledObject when the spec has
``auto_scale_config`` (:mod:`qwak_auto.deploy.manifests_scaling`, where the Prometheus queries
are documented). Every object is validated in the tests against the published Kubernetes
schemas and the Argo Rollouts and KEDA CRDs.

Traffic between variations with plain Services: the model's Service selects the pods of every
variation that is not ``shadow``, so it splits requests by ready pods, not by
``traffic_weight``; exact weights and shadow copies need a service mesh or the Gateway API
(docs/running-at-scale.md says which objects).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from qwak_auto.automation.model import Automation
from qwak_auto.deploy.manifests_common import (
    CONTAINER,
    DEFAULT_ADDRESS_LABEL,
    LABEL_PREFIX,
    MODEL_DIR,
    PORT,
    Target,
    api_keys_secret_name,
    label_value,
    labels,
    model_service_name,
    object_name,
    registry_ref,
    resources,
    selector_labels,
)
from qwak_auto.deploy.manifests_rollout import render_analysis_template, render_rollout
from qwak_auto.deploy.manifests_scaling import prometheus_query, render_scaled_object
from qwak_auto.platform.kubernetes import gpu_placement

__all__ = [
    "Target",
    "object_name",
    "prometheus_query",
    "registry_ref",
    "render",
    "render_scaled_object",
    "to_yaml",
]

API_KEYS_DIR = "/var/run/auto/api-keys"  # the api_keys_secret's Secret, mounted read-only


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


def _service(
    name: str, namespace: str, meta_labels: dict[str, str], selector: dict[str, str]
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": meta_labels},
        "spec": {
            "type": "ClusterIP",
            "selector": selector,
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def render_service(automation: Automation, target: Target) -> dict[str, Any]:
    """The variation's own address: every pod of this model and variation."""
    return _service(
        object_name(automation),
        target.namespace,
        labels(automation, target),
        selector_labels(automation),
    )


def render_model_service(automation: Automation, target: Target) -> dict[str, Any]:
    """The model's address: the pods of every variation that is not ``shadow``. A Service
    spreads connections over ready pods, so each variation's share is its share of the pods.
    The object is the same whichever variation renders it (no variation or build label)."""
    model = label_value(automation.model_id)
    return _service(
        model_service_name(automation),
        target.namespace,
        {
            f"{LABEL_PREFIX}/model": model,
            "app.kubernetes.io/name": model,
            "app.kubernetes.io/managed-by": "auto",
        },
        {f"{LABEL_PREFIX}/model": model, DEFAULT_ADDRESS_LABEL: "true"},
    )


def pod_template(automation: Automation, target: Target) -> dict[str, Any]:
    """The pods of a Deployment or Rollout: the model server with the spec's settings."""
    spec = automation.action.deployment_spec
    startup_period = 5
    startup_failures = max(1, -(-spec.deployment_process_timeout_limit // startup_period))
    container: dict[str, Any] = {
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
    pod_spec: dict[str, Any] = {
        "serviceAccountName": object_name(automation),
        "terminationGracePeriodSeconds": spec.http_request_timeout_ms // 1000 + 10,
        "containers": [container],
    }
    annotations = {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(PORT),
        "prometheus.io/path": "/metrics",
    }
    if spec.api_keys_secret:
        # The keys come from a Secret the deployer makes from the resolved api_keys_secret;
        # mode 0400: the server refuses a keys file that others may read.
        container["command"] += ["--api-keys-file", f"{API_KEYS_DIR}/api_keys"]
        container["volumeMounts"] = [
            {"name": "api-keys", "mountPath": API_KEYS_DIR, "readOnly": True}
        ]
        pod_spec["volumes"] = [
            {
                "name": "api-keys",
                "secret": {"secretName": api_keys_secret_name(automation), "defaultMode": 0o400},
            }
        ]
        if target.api_keys_version:
            annotations[f"{LABEL_PREFIX}/api-keys-version"] = target.api_keys_version
    if target.pull_secret:
        pod_spec["imagePullSecrets"] = [{"name": target.pull_secret}]
    if spec.gpu_resources is not None:
        selector, tolerations = gpu_placement(spec.gpu_resources.gpu_type, target.gpu_nodes)
        if selector:
            pod_spec["nodeSelector"] = selector
        if tolerations:
            pod_spec["tolerations"] = tolerations
    pod_labels = {
        **labels(automation, target),
        DEFAULT_ADDRESS_LABEL: "false" if spec.shadow else "true",
    }
    return {"metadata": {"labels": pod_labels, "annotations": annotations}, "spec": pod_spec}


def render_deployment(automation: Automation, target: Target) -> dict[str, Any]:
    spec = automation.action.deployment_spec
    deployment_spec: dict[str, Any] = {
        "selector": {"matchLabels": selector_labels(automation)},
        "progressDeadlineSeconds": spec.deployment_process_timeout_limit,
        "revisionHistoryLimit": 5,
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        },
        "template": pod_template(automation, target),
    }
    if spec.auto_scale_config is None:
        # Autoscaled deployments leave replicas to KEDA's HPA; re-applying a fixed count
        # would fight it.
        deployment_spec["replicas"] = spec.number_of_pods
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": object_name(automation),
            "namespace": target.namespace,
            "labels": labels(automation, target),
            "annotations": {f"{LABEL_PREFIX}/spec-hash": automation.spec_hash or "none"},
        },
        "spec": deployment_spec,
    }


def render(automation: Automation, target: Target) -> list[dict[str, Any]]:
    """Every object of one deployment, in the order they are applied."""
    objects = [
        render_service_account(automation, target),
        render_service(automation, target),
        render_model_service(automation, target),
    ]
    if automation.action.deployment_spec.rollout is not None:
        objects.append(render_analysis_template(automation, target))
        objects.append(render_rollout(automation, target, pod_template(automation, target)))
    else:
        objects.append(render_deployment(automation, target))
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
