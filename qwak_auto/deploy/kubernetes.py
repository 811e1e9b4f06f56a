"""The Kubernetes deployer: push the build's image, `kubectl apply`, wait for the rollout.

The conversation, every call through :mod:`qwak_auto.proc` with a timeout:

1. ``docker tag`` + ``docker push`` the build's image to the environment's ``image_registry``
   (unless ``push_image: false``);
2. ``kubectl [--context C] --namespace N apply -f -`` with the rendered manifests on stdin;
3. ``kubectl … rollout status deployment/NAME --timeout=<deployment_process_timeout_limit>s``;
4. when the rollout fails: re-apply the manifests of the deployment serving before (kept in the
   state store), wait for that rollout, and report both outcomes. The run ends failed.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from qwak_auto import proc
from qwak_auto.deploy.manifests import Target, object_name, registry_ref, render, to_yaml
from qwak_auto.errors import DeployError, ProcError
from qwak_auto.run.contracts import BuildResult, DeployOutcome, RunContext
from qwak_auto.state.base import DeploymentRecord

if TYPE_CHECKING:
    from qwak_auto.config import Environment

APPLY_TIMEOUT = 120.0
PUSH_TIMEOUT = 1800.0


def kubectl_base(environment: Environment) -> list[str]:
    argv = ["kubectl"]
    if environment.kube_context:
        argv += ["--context", environment.kube_context]
    return [*argv, "--namespace", environment.namespace]


def push_image(image: str, registry: str, model_id: str, build_id: str) -> str:
    """Tag the local image for the registry and push it; returns the remote reference."""
    remote = registry_ref(registry, model_id, build_id)
    proc.run(["docker", "tag", image, remote], timeout=60)
    proc.run(["docker", "push", remote], timeout=PUSH_TIMEOUT)
    return remote


def _now() -> datetime:
    return datetime.now(UTC)


class KubernetesDeployer:
    name = "kubernetes"

    def deploy(
        self, build: BuildResult, environment: Environment, ctx: RunContext
    ) -> DeployOutcome:
        automation = ctx.automation
        spec = automation.action.deployment_spec
        if spec.api_keys_secret:
            # Never serve without the keys the automation asks for.
            raise DeployError(
                f"environment {environment.name!r} deploys to Kubernetes, where "
                "deployment_spec.api_keys_secret is not supported yet",
                "deploy this automation to a local environment, or remove api_keys_secret and "
                "guard the model's Service with your ingress's authentication",
            )
        if not build.image:
            raise DeployError(
                f"environment {environment.name!r} deploys to Kubernetes, which needs an image",
                "set `builder: docker` in auto.yaml (or AUTO_BUILDER=docker)",
            )
        image = build.image
        push = automation.action.build_spec.push_image
        if environment.image_registry and push is not False:
            image = push_image(
                build.image, environment.image_registry, build.model_id, build.build_id
            )
        target = Target(
            build_id=build.build_id,
            image=image,
            environment=environment.name,
            namespace=environment.namespace,
            prometheus_url=environment.prometheus_url,
        )
        manifests = to_yaml(render(automation, target))
        name = object_name(automation)
        base = kubectl_base(environment)
        previous = ctx.store.serving(automation.model_id, environment.name, spec.variation_name)
        record = DeploymentRecord(
            deployment_id=uuid.uuid4().hex,
            model_id=automation.model_id,
            build_id=build.build_id,
            environment=environment.name,
            variation=spec.variation_name,
            deployer=self.name,
            status="starting",
            created_at=_now(),
            address=f"http://{name}.{environment.namespace}.svc.cluster.local",
            automation=automation.name,
            run_id=ctx.run_id,
            detail={
                "manifests": manifests,
                "image": image,
                "kube_context": environment.kube_context or "",
                "namespace": environment.namespace,
            },
        )
        ctx.store.save_deployment(record)
        try:
            self._apply_and_wait(base, manifests, name, spec.deployment_process_timeout_limit)
        except ProcError as exc:
            reason = f"rollout of {build.build_id} failed: {exc.message}"
            reason += self._restore(base, previous, name, spec.deployment_process_timeout_limit)
            ctx.store.save_deployment(replace(record, status="failed", reason=reason))
            raise DeployError(reason, "see `kubectl describe deployment " + name + "`") from None
        now = _now()
        serving = replace(record, status="serving", reason="rollout complete")
        ctx.store.save_deployment(serving)
        if previous is not None and previous.deployment_id != record.deployment_id:
            retired = replace(previous, status="retired", retired_at=now)
            ctx.store.save_deployment(retired)
        return DeployOutcome(
            environment=environment.name,
            variation=spec.variation_name,
            deployment_id=record.deployment_id,
            address=record.address,
            status="serving",
            reason=f"{name} rolled out in namespace {environment.namespace}",
        )

    @staticmethod
    def _apply_and_wait(base: list[str], manifests: str, name: str, limit: int) -> None:
        proc.run([*base, "apply", "-f", "-"], input=manifests, timeout=APPLY_TIMEOUT)
        proc.run(
            [*base, "rollout", "status", f"deployment/{name}", f"--timeout={limit}s"],
            timeout=limit + 30,
        )

    def _restore(
        self, base: list[str], previous: DeploymentRecord | None, name: str, limit: int
    ) -> str:
        manifests = previous.detail.get("manifests") if previous is not None else None
        if previous is None or not isinstance(manifests, str):
            return "; nothing was serving before, so nothing was restored"
        try:
            self._apply_and_wait(base, manifests, name, limit)
        except ProcError as exc:
            return f"; restoring {previous.build_id} failed too: {exc.message}"
        return f"; restored the previous build {previous.build_id}, which is serving again"
