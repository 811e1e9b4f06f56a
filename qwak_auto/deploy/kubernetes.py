"""The Kubernetes deployer: the build's image in the registry, `kubectl apply`, wait, judge.

The conversation, every call through :mod:`qwak_auto.proc` with a timeout:

1. ``docker tag`` + ``docker push`` the build's image to the environment's ``image_registry``
   (unless ``push_image: false``, or the build already pushed it: ``builder: kubernetes``);
2. with ``api_keys_secret``: the resolved keys as the Secret ``<name>-api-keys``
   (``kubectl apply -f -``, the value on stdin only; never in the stored manifests);
3. ``kubectl [--context C] --namespace N apply -f -`` with the rendered manifests on stdin;
4. without a ``rollout``: ``kubectl … rollout status deployment/NAME
   --timeout=<deployment_process_timeout_limit>s``; with one, the Argo Rollout is watched
   (:mod:`qwak_auto.deploy.kubernetes_rollout`) through its steps, its phases written into
   the deployment's record;
5. an analysis that fails the new build on live traffic: Argo Rollouts has aborted the update
   (the stable pods serve); the previous manifests are re-applied so the Rollout's spec says
   what serves, the deployment is recorded ``rolled_back`` and :class:`RolledBack` ends the
   run ``rolled_back`` with the measured figures;
6. any other failure (pods never ready, a timeout): the previous manifests (kept in the state
   store) are re-applied and waited for, both outcomes are reported, the run fails.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from qwak_auto import proc
from qwak_auto.deploy import kubernetes_rollout
from qwak_auto.deploy.kubernetes_keys import apply_api_keys
from qwak_auto.deploy.manifests import Target, object_name, registry_ref, render, to_yaml
from qwak_auto.deploy.manifests_rollout import watched_seconds
from qwak_auto.errors import DeployError, ProcError, RolledBack
from qwak_auto.platform import kubernetes as kube
from qwak_auto.run.contracts import BuildResult, DeployOutcome, RunContext
from qwak_auto.state.base import DeploymentRecord

if TYPE_CHECKING:
    from qwak_auto.config import Environment

APPLY_TIMEOUT = 120.0
PUSH_TIMEOUT = 1800.0


def kubectl_base(environment: Environment) -> list[str]:
    return kube.kubectl_base(environment.kube_context, environment.namespace)


def push_image(image: str, registry: str, model_id: str, build_id: str) -> str:
    """Tag the local image for the registry and push it; returns the remote reference."""
    remote = registry_ref(registry, model_id, build_id)
    proc.run(["docker", "tag", image, remote], timeout=60)
    proc.run(["docker", "push", remote], timeout=PUSH_TIMEOUT)
    return remote


def _after_stop(ctx: RunContext) -> contextlib.AbstractContextManager[None]:
    """Undoing runs even when the step was stopped (its own programs are refused then)."""
    return proc.unrecorded() if ctx.cancelled() else contextlib.nullcontext()


def _now() -> datetime:
    return datetime.now(UTC)


def _image(build: BuildResult, environment: Environment, push: bool | None) -> str:
    if not build.image:
        raise DeployError(
            f"environment {environment.name!r} deploys to Kubernetes, which needs an image",
            "set `builder: docker` or `builder: kubernetes` in auto.yaml (or AUTO_BUILDER)",
        )
    if build.provenance.get("image_pushed") is True:
        return build.image  # built in the cluster and pushed there (builder: kubernetes)
    if environment.image_registry and push is not False:
        return push_image(build.image, environment.image_registry, build.model_id, build.build_id)
    return build.image


class KubernetesDeployer:
    name = "kubernetes"

    def __init__(self, *, poll_seconds: float | None = None, margin_seconds: float = 60) -> None:
        # None: AUTO_KUBE_POLL_SECONDS from the run's environment, else POLL_SECONDS
        self.poll_seconds = poll_seconds or kubernetes_rollout.POLL_SECONDS
        self.poll_given = poll_seconds is not None
        # beyond the spec's limit and the steps' time, for the controller's own pace
        self.margin_seconds = margin_seconds

    def deploy(
        self, build: BuildResult, environment: Environment, ctx: RunContext
    ) -> DeployOutcome:
        automation = ctx.automation
        spec = automation.action.deployment_spec
        if not self.poll_given:
            self.poll_seconds = kube.poll_seconds(ctx.environ, kubernetes_rollout.POLL_SECONDS)
        if ctx.cancelled():
            raise DeployError("the deploy step was stopped before it changed anything")
        image = _image(build, environment, automation.action.build_spec.push_image)
        base = kubectl_base(environment)
        keys_version = apply_api_keys(base, automation, environment.namespace, ctx.secrets)
        target = Target.of(
            environment, build_id=build.build_id, image=image, api_keys_version=keys_version
        )
        manifests = to_yaml(render(automation, target))
        name = object_name(automation)
        kind = "Rollout" if spec.rollout is not None else "Deployment"
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
                "kind": kind,
                "image": image,
                "kube_context": environment.kube_context or "",
                "namespace": environment.namespace,
            },
        )
        ctx.store.save_deployment(record)
        latest = [record]  # the record as the watch last wrote it
        limit = spec.deployment_process_timeout_limit
        try:
            kube.kubectl(base, "apply", "-f", "-", input=manifests, timeout=APPLY_TIMEOUT)
            if kind == "Deployment":
                self._rollout_status(base, name, limit)
                verdict = kubernetes_rollout.Verdict(ok=True, reason="rollout complete")
            else:
                verdict = self._watch(base, name, limit, latest, ctx)
        except ProcError as exc:
            verdict = kubernetes_rollout.Verdict(ok=False, reason=exc.message)
        if not verdict.ok:
            self._fail(base, previous, latest[-1], build, verdict, ctx, limit)
        ctx.store.save_deployment(replace(latest[-1], status="serving", reason=verdict.reason))
        self._retire(base, previous, record, kind, name, ctx)
        return DeployOutcome.serving(
            record, f"{name} rolled out in namespace {environment.namespace}"
        )

    # ------------------------------------------------------------------ waiting

    @staticmethod
    def _rollout_status(base: list[str], name: str, limit: int) -> None:
        kube.kubectl(
            base,
            "rollout",
            "status",
            f"deployment/{name}",
            f"--timeout={limit}s",
            timeout=limit + 30,
        )

    def _watch(
        self,
        base: list[str],
        name: str,
        limit: int,
        latest: list[DeploymentRecord],
        ctx: RunContext,
    ) -> kubernetes_rollout.Verdict:
        rollout = ctx.automation.action.deployment_spec.rollout
        steps = watched_seconds(rollout) if rollout is not None else 0
        seconds = limit + steps + self.margin_seconds

        def on_change(now: kubernetes_rollout.RolloutView) -> None:
            current = latest[-1]
            status = "canary" if now.weight < 100 else "baking"
            detail = {
                **current.detail,
                "phase": now.phase_name(),
                "weights": {current.deployment_id: now.weight},
                "rollout_phase": now.phase,
                "rollout_message": now.message,
                "analysis_run": now.analysis_run,
            }
            latest.append(replace(current, status=status, detail=detail))
            ctx.store.save_deployment(latest[-1])

        return kubernetes_rollout.wait(
            base,
            name,
            seconds=seconds,
            on_change=on_change,
            poll=self.poll_seconds,
            cancelled=ctx.cancelled,
        )

    # ------------------------------------------------------------------ outcomes

    def _fail(
        self,
        base: list[str],
        previous: DeploymentRecord | None,
        record: DeploymentRecord,
        build: BuildResult,
        verdict: kubernetes_rollout.Verdict,
        ctx: RunContext,
        limit: int,
    ) -> None:
        name = object_name(ctx.automation)
        current = record
        detail: dict[str, Any] = {**current.detail, "figures": dict(verdict.figures)}
        kind = str(record.detail.get("kind", "Deployment"))
        if previous is not None and str(previous.detail.get("kind", "Deployment")) != kind:
            # The workload of the other kind still serves: the new one goes.
            with contextlib.suppress(ProcError), _after_stop(ctx):
                kube.delete(base, f"{kind.lower()}/{name}")
        if verdict.by_analysis:
            reason = f"rolled back by the analysis of {build.build_id}: {verdict.reason}"
            reason += self._restore(base, previous, name, limit, ctx)
            ctx.store.save_deployment(
                replace(current, status="rolled_back", reason=reason, detail=detail)
            )
            raise RolledBack(
                reason,
                f"the stable pods serve all of the traffic; see `kubectl describe analysisrun "
                f"{current.detail.get('analysis_run') or ''}`".rstrip(),
            )
        reason = f"rollout of {build.build_id} failed: {verdict.reason}"
        reason += self._restore(base, previous, name, limit, ctx)
        ctx.store.save_deployment(replace(current, status="failed", reason=reason, detail=detail))
        raise DeployError(reason, f"see `kubectl describe {kind.lower()} {name}`")

    def _restore(
        self,
        base: list[str],
        previous: DeploymentRecord | None,
        name: str,
        limit: int,
        ctx: RunContext,
    ) -> str:
        manifests = previous.detail.get("manifests") if previous is not None else None
        if previous is None or not isinstance(manifests, str):
            return "; nothing was serving before, so nothing was restored"
        stopped = ctx.cancelled()
        try:
            with _after_stop(ctx):
                kube.kubectl(base, "apply", "-f", "-", input=manifests, timeout=APPLY_TIMEOUT)
            if stopped:
                # The step is over: put the previous build back, do not wait for it.
                return f"; re-applied the previous build {previous.build_id}"
            if previous.detail.get("kind") == "Rollout":
                # The stable pods match the spec again: Argo Rollouts goes straight to them.
                verdict = kubernetes_rollout.wait(
                    base,
                    name,
                    seconds=limit + self.margin_seconds,
                    on_change=lambda _v: None,
                    poll=self.poll_seconds,
                    cancelled=ctx.cancelled,
                )
                if not verdict.ok:
                    return f"; restoring {previous.build_id} failed too: {verdict.reason}"
            else:
                self._rollout_status(base, name, limit)
        except ProcError as exc:
            return f"; restoring {previous.build_id} failed too: {exc.message}"
        return f"; restored the previous build {previous.build_id}, which is serving again"

    @staticmethod
    def _retire(
        base: list[str],
        previous: DeploymentRecord | None,
        record: DeploymentRecord,
        kind: str,
        name: str,
        ctx: RunContext,
    ) -> None:
        if previous is None or previous.deployment_id == record.deployment_id:
            return
        ctx.store.save_deployment(replace(previous, status="retired", retired_at=_now()))
        old_kind = str(previous.detail.get("kind", "Deployment"))
        if old_kind != kind:
            # A Deployment became a Rollout (or back): both selected the same pods; the new
            # one serves now, so the old workload goes.
            kube.delete(base, f"{old_kind.lower()}/{name}")
