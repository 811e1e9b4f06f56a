"""What the Kubernetes builder and deployer share: names Kubernetes accepts, where a GPU
workload is placed, and kubectl (every call through :mod:`qwak_auto.proc`, with a timeout).

kubectl talks to the cluster of the environment's ``kube_context`` (kubectl's current context
without one) in its ``namespace``; it reads its own configuration (``KUBECONFIG``, ``HOME``)
from the runner's environment.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qwak_auto import proc
from qwak_auto.errors import ConfigError, ProcError

LABEL_PREFIX = "auto.qwak.ai"
GPU_RESOURCE = "nvidia.com/gpu"
GET_TIMEOUT = 30.0


def dns_name(*parts: str, limit: int = 63) -> str:
    """A DNS-1123 label from parts: lower case, `_` and other characters to `-`, at most
    ``limit`` characters (a name cut short ends with a hash of the whole, so two long names
    stay apart)."""
    raw = "-".join(p for p in parts if p)
    name = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-") or "model"
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(raw.encode()).hexdigest()[:6]
    return f"{name[: limit - 7].rstrip('-')}-{digest}"


def label_value(value: str) -> str:
    clean = re.sub(r"[^A-Za-z0-9_.-]+", "-", value)[:63]
    return clean.strip("-_.")


def registry_ref(registry: str, model_id: str, build_id: str) -> str:
    """Where a build's image lives in an environment's registry."""
    return f"{registry.rstrip('/')}/{model_id.lower()}:{build_id.lower()}"


# ---------------------------------------------------------------- GPU placement


@dataclass(frozen=True, slots=True)
class GpuNodes:
    """Where pods asking for one GPU type run: ``environments.<env>.gpu_nodes.<GPU_TYPE>``."""

    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, Any], ...] = ()


def gpu_placement(
    gpu_type: str, gpu_nodes: Mapping[str, GpuNodes]
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """(nodeSelector, tolerations) of a pod asking for ``gpu_type``.

    auto.yaml's ``gpu_nodes`` entry for the type when there is one; else the label
    ``auto.qwak.ai/gpu-type: <GPU_TYPE>`` (label your GPU nodes with it) and a toleration of
    the ``nvidia.com/gpu`` taint that GPU node pools usually carry."""
    chosen = gpu_nodes.get(gpu_type)
    if chosen is not None:
        return dict(chosen.node_selector), [dict(t) for t in chosen.tolerations]
    return (
        {f"{LABEL_PREFIX}/gpu-type": label_value(gpu_type)},
        [{"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}],
    )


_GPU_EXAMPLE = (
    "e.g. `gpu_nodes: {NVIDIA_A10G: {node_selector: {node.kubernetes.io/instance-type: "
    "g5.xlarge}, tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]}}`"
)


def parse_gpu_nodes(
    raw: Any, at: Callable[[Any, Any], str], where: str, field_path: str
) -> dict[str, GpuNodes]:
    """auto.yaml's ``gpu_nodes`` of an environment: ``{GPU_TYPE: {node_selector: {label:
    value}, tolerations: [toleration, ...]}}``. ``at(node, key)`` is ``file:line:col`` of a
    value, ``where`` that of the whole key; ``field_path`` its dotted path."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"{where}: {field_path}: must be a mapping of GPU type to placement", _GPU_EXAMPLE
        )
    out: dict[str, GpuNodes] = {}
    for gpu_type, entry in raw.items():
        here = f"{at(raw, gpu_type)}: {field_path}.{gpu_type}"
        if not isinstance(entry, Mapping) or set(entry) - {"node_selector", "tolerations"}:
            raise ConfigError(f"{here}: must hold node_selector and/or tolerations", _GPU_EXAMPLE)
        selector = entry.get("node_selector") or {}
        tolerations = entry.get("tolerations") or []
        if not isinstance(selector, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in selector.items()
        ):
            raise ConfigError(
                f"{here}.node_selector: must map node labels to strings", _GPU_EXAMPLE
            )
        if not isinstance(tolerations, list) or not all(
            isinstance(t, Mapping) for t in tolerations
        ):
            raise ConfigError(
                f"{here}.tolerations: must be a list of Kubernetes tolerations", _GPU_EXAMPLE
            )
        out[str(gpu_type)] = GpuNodes(
            node_selector={str(k): str(v) for k, v in selector.items()},
            tolerations=tuple({str(k): _plain(v) for k, v in t.items()} for t in tolerations),
        )
    return out


def _plain(value: Any) -> Any:
    """YAML values as plain Python (ruamel's round-trip types print oddly in manifests)."""
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)


# ---------------------------------------------------------------- kubectl


def poll_seconds(environ: Mapping[str, str], default: float) -> float:
    """How often the builder and deployer look at the cluster: ``AUTO_KUBE_POLL_SECONDS``."""
    raw = environ.get("AUTO_KUBE_POLL_SECONDS", "")
    try:
        return max(0.01, float(raw)) if raw else default
    except ValueError:
        return default


def kubectl_base(context: str | None, namespace: str) -> list[str]:
    argv = ["kubectl"]
    if context:
        argv += ["--context", context]
    return [*argv, "--namespace", namespace]


def kubectl(
    base: Sequence[str], *args: str, timeout: float = GET_TIMEOUT, input: str | None = None
) -> proc.Result:
    return proc.run([*base, *args], timeout=timeout, input=input)


def get_json(base: Sequence[str], *what: str, timeout: float = GET_TIMEOUT) -> dict[str, Any]:
    """``kubectl get WHAT -o json`` as a mapping (``{}`` when kubectl answers nothing)."""
    result = kubectl(base, "get", *what, "-o", "json", timeout=timeout)
    try:
        data = json.loads(result.stdout or "{}")
    except ValueError:
        raise ProcError(
            f"kubectl get {' '.join(what)} did not answer JSON",
            "check that kubectl talks to a cluster (kubectl version)",
        ) from None
    return data if isinstance(data, dict) else {}


def delete(base: Sequence[str], *what: str, timeout: float = GET_TIMEOUT) -> None:
    """Delete objects without waiting for them to go; gone already is fine."""
    kubectl(base, "delete", *what, "--ignore-not-found", "--wait=false", timeout=timeout)


def condition(obj: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    """The status condition of type ``kind`` that is True, if any."""
    for cond in (obj.get("status") or {}).get("conditions") or ():
        if isinstance(cond, Mapping) and cond.get("type") == kind and cond.get("status") == "True":
            return cond
    return None
