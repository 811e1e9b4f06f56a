"""Rendered Kubernetes objects against the published schemas.

Core kinds with kubernetes-validate (strict: unknown fields are errors) for Kubernetes 1.30 and
the newest version it ships. Custom objects against the ``openAPIV3Schema`` of their CRD in
``schemas/external/`` (Argo Rollouts ``Rollout`` and ``AnalysisTemplate``, KEDA
``ScaledObject``) with jsonschema, plus what the API server would silently prune: a field the
CRD does not declare is reported here (a typo would otherwise vanish on apply). The pod
template inside a Rollout is also validated as a core pod template.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
EXTERNAL = ROOT / "schemas" / "external"
K8S_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
CRDS = {
    ("argoproj.io/v1alpha1", "Rollout"): "argoproj.io_rollouts.yaml",
    ("argoproj.io/v1alpha1", "AnalysisTemplate"): "argoproj.io_analysistemplates.yaml",
    ("keda.sh/v1alpha1", "ScaledObject"): "keda.sh_scaledobjects.yaml",
}


@functools.cache
def crd_schema(api_version: str, kind: str) -> dict[str, Any]:
    text = (EXTERNAL / CRDS[(api_version, kind)]).read_text(encoding="utf-8")
    crd = YAML(typ="safe").load(text)
    version = api_version.rpartition("/")[2]
    served = next(v for v in crd["spec"]["versions"] if v["name"] == version)
    schema: dict[str, Any] = served["schema"]["openAPIV3Schema"]
    return schema


def undeclared(obj: Any, schema: Mapping[str, Any], path: str = "") -> list[str]:
    """Fields of ``obj`` that ``schema`` does not declare (what the API server prunes)."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    out: list[str] = []
    if isinstance(obj, Mapping):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, value in obj.items():
            where = f"{path}.{key}" if path else str(key)
            if props is not None and key in props:
                out += undeclared(value, props[key], where)
            elif isinstance(extra, Mapping):
                out += undeclared(value, extra, where)
            elif props is not None or extra is False:
                out.append(where)
    elif isinstance(obj, list) and isinstance(schema.get("items"), Mapping):
        for i, item in enumerate(obj):
            out += undeclared(item, schema["items"], f"{path}[{i}]")
    return out


def validate_custom(obj: Mapping[str, Any]) -> None:
    schema = crd_schema(obj["apiVersion"], obj["kind"])
    validator = jsonschema.Draft7Validator(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(obj)]
    assert not errors, errors
    # metadata is the API server's ObjectMeta, not described by the CRD
    body = {k: v for k, v in obj.items() if k != "metadata"}
    assert not undeclared(body, schema), undeclared(body, schema)


def validate_core(obj: Mapping[str, Any]) -> None:
    for version in K8S_VERSIONS:
        kubernetes_validate.validate(dict(obj), version, strict=True)


def validate_all(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        if (obj["apiVersion"], obj["kind"]) in CRDS:
            validate_custom(obj)
            if obj["kind"] == "Rollout":
                # the pod template is a core PodTemplateSpec: check it as one
                validate_core(
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "metadata": {"name": obj["metadata"]["name"]},
                        "spec": {
                            "selector": obj["spec"]["selector"],
                            "template": obj["spec"]["template"],
                        },
                    }
                )
            continue
        validate_core(obj)
