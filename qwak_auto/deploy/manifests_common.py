"""What every rendered object of a deployment shares: the target, names, labels, resources."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qwak_auto.automation.deployment import DeploymentSpec
from qwak_auto.automation.model import Automation
from qwak_auto.platform.kubernetes import (
    GPU_RESOURCE,
    LABEL_PREFIX,
    GpuNodes,
    dns_name,
    label_value,
    registry_ref,
)

if TYPE_CHECKING:
    from qwak_auto.config import Environment

__all__ = [
    "CONTAINER",
    "DEFAULT_PROMETHEUS",
    "GPU_RESOURCE",
    "LABEL_PREFIX",
    "MODEL_DIR",
    "PORT",
    "Target",
    "dns_name",
    "label_value",
    "labels",
    "object_name",
    "registry_ref",
    "resources",
    "selector_labels",
    "workload_ref",
]

CONTAINER = "model"
PORT = 8080
MODEL_DIR = "/opt/model"
DEFAULT_PROMETHEUS = "http://prometheus.monitoring.svc:9090"
# Pods of variations that answer the model's own address carry this label "true"; a shadow
# variation's "false" (see render_model_service).
DEFAULT_ADDRESS_LABEL = f"{LABEL_PREFIX}/default-address"


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """What to deploy where: the build's image and the environment's coordinates."""

    build_id: str
    image: str
    environment: str
    namespace: str = "default"
    prometheus_url: str | None = None
    gpu_nodes: Mapping[str, GpuNodes] = field(default_factory=dict)
    pull_secret: str | None = None  # the environment's registry_secret, for image pulls
    api_keys_version: str = ""  # a digest of the API keys: pods restart when they change

    @classmethod
    def of(
        cls, environment: Environment, *, build_id: str, image: str, api_keys_version: str = ""
    ) -> Target:
        """``build_id``'s ``image`` in ``environment``'s namespace, with its settings."""
        return cls(
            build_id=build_id,
            image=image,
            environment=environment.name,
            namespace=environment.namespace,
            prometheus_url=environment.prometheus_url,
            gpu_nodes=environment.gpu_nodes,
            pull_secret=environment.registry_secret,
            api_keys_version=api_keys_version,
        )


def object_name(automation: Automation) -> str:
    spec = automation.action.deployment_spec
    return dns_name(automation.model_id, spec.variation_name)


def model_service_name(automation: Automation) -> str:
    """The model's own address (every non-shadow variation behind it)."""
    return dns_name(automation.model_id)


def api_keys_secret_name(automation: Automation) -> str:
    return dns_name(object_name(automation), "api-keys")


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


def workload_ref(automation: Automation) -> dict[str, Any]:
    """What serves the variation: an Argo Rollout with a ``rollout``, else a Deployment."""
    if automation.action.deployment_spec.rollout is not None:
        return {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Rollout",
            "name": object_name(automation),
        }
    return {"apiVersion": "apps/v1", "kind": "Deployment", "name": object_name(automation)}


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
