"""Rendering the manifests of an automation set, as `auto render` prints them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qwak_auto.automation.model import Automation
from qwak_auto.automation.problems import Problem
from qwak_auto.deploy.manifests import Target, registry_ref, render
from qwak_auto.deploy.manifests_common import api_keys_secret_name
from qwak_auto.errors import UsageError

if TYPE_CHECKING:
    from qwak_auto.config import Config, Environment


@dataclass
class Rendered:
    objects: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _image(
    automation: Automation,
    environment: Environment,
    config: Config,
    build_id: str | None,
    image: str | None,
    notes: list[str],
) -> tuple[str, str]:
    """(build id, image reference) for an automation's model."""
    from qwak_auto.state import open_store

    store = open_store(config)
    try:
        if build_id is not None:
            record = store.build(build_id)
            builds = [record] if record is not None else []
        else:
            builds = [
                b for b in store.builds(automation.model_id, limit=50) if b.status == "succeeded"
            ]
    finally:
        store.close()
    with_image = [b for b in builds if b.image]
    if with_image:
        build = with_image[0]
        ref = image or build.image
        pushed = build.provenance.get("image_pushed") is True  # builder: kubernetes
        if image is None and environment.image_registry and not pushed:
            ref = registry_ref(environment.image_registry, build.model_id, build.build_id)
        return build.build_id, ref
    placeholder = image or f"auto/{automation.model_id.lower()}:latest"
    notes.append(
        f"{automation.name}: no built image of model {automation.model_id!r} in the state store;"
        f" using {placeholder} (build with `builder: docker` or `builder: kubernetes`, or pass"
        " --image)"
    )
    return "unbuilt", placeholder


def _notes(automation: Automation, namespace: str, model_pods: int) -> list[str]:
    """What the printed objects need besides themselves. ``model_pods``: the pods of every
    variation of the model rendered with this one that take requests from its address."""
    spec = automation.action.deployment_spec
    notes = []
    if spec.traffic_weight is not None and not spec.shadow:
        pods = spec.number_of_pods
        share = f"{pods} of {model_pods} pods, about {round(100 * pods / max(1, model_pods))} %"
        if spec.auto_scale_config is not None:
            share = f"{share} before KEDA scales it"
        notes.append(
            f"{automation.name}: traffic_weight {spec.traffic_weight}: the model's Service "
            f"splits its requests by ready pods, not by weight (this variation: {share}); an exact "
            "split needs a Gateway API HTTPRoute or a service mesh in front of the variation "
            "Services (docs/kubernetes.md)"
        )
    if spec.api_keys_secret:
        secret = api_keys_secret_name(automation)
        notes.append(
            f"{automation.name}: the pods read their API keys from the Secret {secret!r} "
            f"(key api_keys, one key a line), which `auto deploy` makes from the secret "
            f"{spec.api_keys_secret!r}; applying these objects yourself, create it first: "
            f"kubectl -n {namespace} create secret generic {secret} --from-file=api_keys=FILE"
        )
    if spec.shadow:
        notes.append(
            f"{automation.name}: shadow: its pods take no requests from the model's address; "
            "copying requests to them needs a service mesh or a Gateway API mirror filter "
            "(docs/running-at-scale.md)"
        )
    return notes


def render_paths(
    paths: list[Path],
    config: Config,
    *,
    env: str | None,
    build_id: str | None,
    image: str | None,
) -> Rendered:
    from qwak_auto.automation.validate import load_automations

    automations, problems = load_automations(paths, config)
    result = Rendered(problems=[p for p in problems if p.severity.value == "error"])
    seen: set[str] = set()
    pods: dict[tuple[str, str], int] = {}
    for automation in automations:
        spec = automation.action.deployment_spec
        if not spec.shadow:
            for name in automation.environments:
                key = (automation.model_id, config.environment(name).name)
                pods[key] = pods.get(key, 0) + spec.number_of_pods
    for automation in automations:
        names = automation.environments
        for name in names:
            environment = config.environment(name)
            seen.add(environment.name)
            if env is not None and environment.name != env:
                continue
            if environment.deployer != "kubernetes":
                result.notes.append(
                    f"{automation.name}: environment {environment.name!r} deploys locally"
                    " (deployer: local); its Kubernetes manifests are shown anyway"
                )
            build, ref = _image(automation, environment, config, build_id, image, result.notes)
            target = Target.of(environment, build_id=build, image=ref)
            for obj in render(automation, target):
                # the model's own Service is the same object for each of its variations
                if obj not in result.objects:
                    result.objects.append(obj)
            model_pods = pods.get((automation.model_id, environment.name), 0)
            result.notes += _notes(automation, environment.namespace, model_pods)
    if env is not None and seen and env not in seen:
        # Otherwise a typo in --env prints nothing and exits 0.
        raise UsageError(
            f"--env: no automation here deploys to {env!r}",
            "environments of these automations: " + ", ".join(sorted(seen)),
        )
    return result
