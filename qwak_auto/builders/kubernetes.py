"""The ``kubernetes`` builder (``builder: kubernetes``): each build is a Job in the cluster.

The objects are :mod:`~qwak_auto.builders.kubernetes_job`, what runs in the pod is
:mod:`~qwak_auto.builders.kubernetes_pod`, how the Job is watched
:mod:`~qwak_auto.builders.kubernetes_follow` and what comes back
:mod:`~qwak_auto.builders.kubernetes_result`.

Where: the first of the automation's environments whose deployer is ``kubernetes`` (else its
first environment): that environment's ``kube_context`` and ``namespace``, its
``image_registry`` (required: the serving image is pushed there), ``build_image``,
``kaniko_image``, ``registry_secret`` and ``gpu_nodes``. The Job clones the repository
itself, at the commit the run's source step resolved, so ``git_uri`` must be a URL the
cluster can reach (https or ssh), not a path on the runner's machine.

The conversation with kubectl (every call with a timeout):

1. ``create -f - -o json``: the Job, suspended (its uid owns what follows);
2. ``create -f -``: its Secret (the git token as an ``http.extraHeader``, or the ssh key) and
   its ServiceAccount (``assumed_iam_role``);
3. ``patch job NAME --type=merge -p {"spec":{"suspend":false}}``: the build starts;
4. follow it (``get job``, ``get pods``, ``logs -f`` per step) into the build log;
5. ``delete job/NAME secret/… serviceaccount/… --ignore-not-found --wait=false``: always, once
   it ended (its logs and reason are in the build's record by then).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any, Unpack

from qwak_auto import proc, redact
from qwak_auto.builders import common
from qwak_auto.builders import kubernetes_leftovers as leftovers
from qwak_auto.builders.kubernetes_follow import POLL_SECONDS, Follower
from qwak_auto.builders.kubernetes_job import BuildJob, build_resources, companions, render_job
from qwak_auto.builders.kubernetes_plan import build_environment, plan
from qwak_auto.builders.kubernetes_result import build_result, finish
from qwak_auto.builders.session import BuilderBase, BuildOptions, BuildSession
from qwak_auto.errors import BuildError, ProcError
from qwak_auto.platform import kubernetes as kube
from qwak_auto.run.contracts import BuildResult

DEADLINE_GRACE = 120.0  # for the Job controller to say DeadlineExceeded
CREATE_TIMEOUT = 60.0


class KubernetesBuild(BuildSession):
    """One build Job: its state and conversation (cleaned up whatever happens)."""

    builder: KubernetesBuilder

    def setup(self) -> None:
        ctx = self.ctx
        self.environ: Mapping[str, str] = ctx.environ
        self.deadline_seconds = int(self.builder._timeout(ctx.environ))
        self.environment = build_environment(ctx.automation, ctx.config)
        self.base = kube.kubectl_base(self.environment.kube_context, self.environment.namespace)
        self.job: BuildJob | None = None
        self.dependencies: dict[str, Any] = {}
        self.created = False
        self.pod = ""

    @property
    def planned(self) -> BuildJob:
        if self.job is None:
            raise BuildError("the build has no Job yet")  # pragma: no cover - a bug
        return self.job

    def poll(self) -> float:
        if self.builder.poll_seconds is not None:
            return self.builder.poll_seconds
        return kube.poll_seconds(self.environ, POLL_SECONDS)

    def execute(self, out: common.BuildOutput) -> BuildResult:
        self.out = out
        spec = self.ctx.automation.action.build_spec
        common.require_main_dir(self.checkout, spec)
        self.job, self.dependencies = plan(
            self.ctx.automation,
            self.environment,
            self.ctx.config,
            build_id=self.build_id,
            deadline_seconds=self.deadline_seconds,
            checkout=self.checkout,
            run_tests=self.builder.run_tests,
        )
        job = self.job
        where = self.environment.kube_context or "the current context"
        out.line(f"==> Job {job.name} in namespace {job.namespace} ({where})")
        out.line(f"==> build image {job.build_image}; resources {build_resources(job.resources)}")
        header, ssh_key = self._credentials()
        leftovers.remember(
            self.ctx.store, self.build_id, self.ctx.run_id, self.base, self._objects()
        )
        try:
            uid = self._create(job, header, ssh_key)
            end = Follower(
                self.base,
                job.name,
                out,
                seconds=self.deadline_seconds + DEADLINE_GRACE,
                poll=self.poll(),
                cancelled=self.ctx.cancelled,
            ).follow()
        finally:
            self._delete()
        out.line(f"==> Job {job.name} {'succeeded' if end.succeeded else 'failed'} (uid {uid})")
        if not end.succeeded:
            raise BuildError(end.reason, f"the full log: auto logs {self.build_id}")
        result = build_result(end, out)
        if result.get("status") != "succeeded":
            raise BuildError(str(result.get("reason") or "the build failed"))
        return finish(self, end, result)

    def _credentials(self) -> tuple[str | None, str | None]:
        spec = self.ctx.automation.action.build_spec
        header = ssh_key = None
        if spec.git_access_token_secret:
            token = self.ctx.secrets(spec.git_access_token_secret).strip()
            redact.register_secret(token)
            header = "Authorization: " + redact.basic_auth("x-access-token", token)
        if spec.git_ssh_key_secret:
            ssh_key = self.ctx.secrets(spec.git_ssh_key_secret)
            redact.register_secret(ssh_key)
        return header, ssh_key

    def _create(self, job: BuildJob, header: str | None, ssh_key: str | None) -> str:
        try:
            made = kube.kubectl(
                self.base,
                "create",
                "-f",
                "-",
                "-o",
                "json",
                input=json.dumps(render_job(job)),
                timeout=CREATE_TIMEOUT,
            )
            self.created = True
            uid = str((json.loads(made.stdout or "{}").get("metadata") or {}).get("uid", ""))
            owned = companions(job, uid, header=header, ssh_key=ssh_key)
            if owned:
                listing = {"apiVersion": "v1", "kind": "List", "items": owned}
                kube.kubectl(
                    self.base,
                    "create",
                    "-f",
                    "-",
                    input=json.dumps(listing),
                    timeout=CREATE_TIMEOUT,
                )
            kube.kubectl(
                self.base,
                "patch",
                "job",
                job.name,
                "--type=merge",
                "-p",
                json.dumps({"spec": {"suspend": False}}),
                timeout=CREATE_TIMEOUT,
            )
        except ProcError as exc:
            raise BuildError(
                f"kubectl could not start the build Job: {exc.message}",
                f"check that kubectl reaches the cluster and may create Jobs, Secrets and "
                f"ServiceAccounts in namespace {job.namespace}",
            ) from None
        except ValueError:
            raise BuildError("kubectl create did not answer the Job as JSON") from None
        return uid

    def cleanup(self) -> None:
        """After a failure: the cluster's objects and the staged artifact."""
        self._delete()
        super().cleanup()

    def _delete(self) -> None:
        """The Job (its pod with it), its Secret and ServiceAccount: gone once it ended."""
        if self.job is not None and self.created:
            names = self._objects()
            # Also after a stopped step, whose own programs are refused: the Secret must go.
            stopped = proc.unrecorded() if self.ctx.cancelled() else contextlib.nullcontext()
            try:
                with stopped:
                    kube.delete(self.base, *names, "--cascade=background")
            except ProcError as exc:
                self.out.line(f"warning: could not delete {', '.join(names)}: {exc.message}")
                return  # recorded still: the next tick deletes them
            self.created = False
        if self.job is not None:
            leftovers.forget(self.ctx.store, self.build_id)

    def _objects(self) -> list[str]:
        """What the build creates in the cluster: its Job, Secret and ServiceAccount."""
        job = self.planned
        names = [f"job/{job.name}"]
        if job.has_secret:
            names.append(f"secret/{job.secret_name}")
        if job.iam_role:
            names.append(f"serviceaccount/{job.name}")
        return names

    def describe(self, image: str) -> dict[str, Any]:
        """What the provenance says about where and how the build ran."""
        job = self.planned
        return {
            "context": self.environment.kube_context or "",
            "namespace": job.namespace,
            "job": job.name,
            "environment": self.environment.name,
            "build_image": job.build_image,
            "tools_image": job.tools_image,
            "kaniko_image": job.kaniko_image,
            "resources": build_resources(job.resources),
            "assumed_iam_role": job.iam_role or None,
            "deadline_seconds": job.deadline_seconds,
            "image": image,
        }


class KubernetesBuilder(BuilderBase):
    """Builds as Jobs in the cluster (see the module docstring)."""

    name = "kubernetes"
    session = KubernetesBuild

    def __init__(
        self, *, poll_seconds: float | None = None, **options: Unpack[BuildOptions]
    ) -> None:
        super().__init__(**options)
        self.poll_seconds = poll_seconds
