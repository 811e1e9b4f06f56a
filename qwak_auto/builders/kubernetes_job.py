"""The Kubernetes objects of one build (``builder: kubernetes``), rendered as pure data.

A build is a Job in the environment's namespace, created suspended; its git Secret and its
ServiceAccount are then created owned by the Job (the garbage collector removes them with it
if the runner cannot), and the Job is resumed. Its one pod runs three steps on an ``emptyDir``
workspace:

1. ``source`` (init container, auto's own image): clones ``git_uri`` at the commit the run's
   source step resolved, with the token as an ``http.extraHeader`` read from the build's
   Secret (``secretKeyRef``: never in the Job's spec), copies the project and auto's runtime
   into the workspace and writes the harness's request;
2. ``build`` (init container, ``base_image`` or the environment's ``build_image``): a virtual
   environment with the model's dependencies, then the build harness (``build()``, tests,
   ``tests/it``); ``resources`` as its requests and limits, GPUs as ``nvidia.com/gpu`` on the
   nodes ``gpu_nodes`` names for the type; ``env_vars`` in its environment, ``parameters`` in
   the request (the harness also sets them as environment variables, as Qwak does);
3. ``image`` (kaniko): the serving image (the build image plus the environment, auto's
   runtime and the built model at ``/opt/model``) pushed to ``<image_registry>/<model>:<build>``;
   its digest is its termination message.

``activeDeadlineSeconds`` is the build's timeout, ``backoffLimit: 0`` (a failed build is not
retried), ``ttlSecondsAfterFinished`` a backstop for a Job nobody deleted. The pod gets no
Kubernetes API token (``automountServiceAccountToken: false``); with ``assumed_iam_role`` its
ServiceAccount carries the IRSA annotation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qwak_auto.automation.resources import CpuResources, GpuResources
from qwak_auto.builders import dockerfile
from qwak_auto.platform.kubernetes import (
    GPU_RESOURCE,
    LABEL_PREFIX,
    GpuNodes,
    dns_name,
    gpu_placement,
    label_value,
)

WORKSPACE = "/workspace"
IMAGE_CONTEXT = f"{WORKSPACE}/image"  # kaniko's context: Dockerfile, venv/, auto/, model/
REQUEST_ENV = "AUTO_BUILD_REQUEST"
SSH_KEY_ENV = "AUTO_GIT_SSH_KEY"
HEADER_KEY = "http-header"  # keys of the build's Secret
SSH_KEY = "ssh-key"
TTL_SECONDS = 3600  # a Job nobody deleted (its runner died) goes an hour after it ended
DEFAULT_BUILD_IMAGE = "python:3.11-slim-bookworm"
POD_MODULE = "qwak_auto.builders.kubernetes_pod"
CONTAINERS = ("source", "build", "image")  # in the order they run


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildJob:
    """Everything one build's objects say."""

    build_id: str
    model_id: str
    automation: str
    namespace: str
    repo_url: str
    branch: str
    commit: str
    request: Mapping[str, Any]  # what the pod's steps read (see kubernetes_pod)
    resources: CpuResources | GpuResources
    env_vars: Mapping[str, str] = field(default_factory=dict)
    gpu_nodes: Mapping[str, GpuNodes] = field(default_factory=dict)
    build_image: str = DEFAULT_BUILD_IMAGE
    tools_image: str
    kaniko_image: str
    destination: str  # the serving image's reference in the registry
    registry_secret: str | None = None
    iam_role: str = ""
    deadline_seconds: int = 3600
    git_header: bool = False  # the Secret holds an http.extraHeader (git_access_token_secret)
    git_ssh: bool = False  # the Secret holds an ssh key (git_ssh_key_secret)

    @property
    def name(self) -> str:
        return job_name(self.build_id)

    @property
    def secret_name(self) -> str:
        return dns_name(self.name, "git")

    @property
    def has_secret(self) -> bool:
        return self.git_header or self.git_ssh


def job_name(build_id: str) -> str:
    # Pods get the Job's name as a label value: at most 63 characters.
    return dns_name("build", build_id)


def _labels(job: BuildJob) -> dict[str, str]:
    return {
        f"{LABEL_PREFIX}/model": label_value(job.model_id),
        f"{LABEL_PREFIX}/build": label_value(job.build_id),
        f"{LABEL_PREFIX}/automation": label_value(job.automation),
        "app.kubernetes.io/component": "build",
        "app.kubernetes.io/managed-by": "auto",
    }


def _meta(job: BuildJob, name: str, owner_uid: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": job.namespace, "labels": _labels(job)}
    if owner_uid:
        meta["ownerReferences"] = [
            {"apiVersion": "batch/v1", "kind": "Job", "name": job.name, "uid": owner_uid}
        ]
    return meta


def build_resources(resources: CpuResources | GpuResources) -> dict[str, Any]:
    """The build container's requests and limits (equal: the build gets what it asked for)."""
    if isinstance(resources, GpuResources):
        gpus = str(max(1, resources.gpu_amount))
        return {"requests": {GPU_RESOURCE: gpus}, "limits": {GPU_RESOURCE: gpus}}
    cores = round(resources.cpu_fraction * 1000)
    cpu = str(cores // 1000) if cores % 1000 == 0 else f"{cores}m"
    amounts = {"cpu": cpu, "memory": resources.memory}
    return {"requests": dict(amounts), "limits": dict(amounts)}


def _git_env(job: BuildJob) -> list[dict[str, Any]]:
    """git's configuration through the environment; the token's header from the Secret."""
    settings = [
        ("protocol.allow", "never"),
        ("protocol.https.allow", "always"),
        ("protocol.http.allow", "always"),
        ("protocol.ssh.allow", "always"),
        ("credential.helper", ""),
        ("core.hooksPath", "/dev/null"),
    ]
    env: list[dict[str, Any]] = [
        {"name": "GIT_TERMINAL_PROMPT", "value": "0"},
        {"name": "GIT_CONFIG_NOSYSTEM", "value": "1"},
    ]
    for index, (key, value) in enumerate(settings):
        env += [
            {"name": f"GIT_CONFIG_KEY_{index}", "value": key},
            {"name": f"GIT_CONFIG_VALUE_{index}", "value": value},
        ]
    count = len(settings)
    if job.git_header:
        env += [
            {"name": f"GIT_CONFIG_KEY_{count}", "value": "http.extraHeader"},
            {
                "name": f"GIT_CONFIG_VALUE_{count}",
                "valueFrom": {"secretKeyRef": {"name": job.secret_name, "key": HEADER_KEY}},
            },
        ]
        count += 1
    if job.git_ssh:
        env.append(
            {
                "name": SSH_KEY_ENV,
                "valueFrom": {"secretKeyRef": {"name": job.secret_name, "key": SSH_KEY}},
            }
        )
    env.insert(0, {"name": "GIT_CONFIG_COUNT", "value": str(count)})
    return env


def _small(cpu: str, memory: str, limit: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": limit}}


def _containers(job: BuildJob) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    workspace = {"name": "workspace", "mountPath": WORKSPACE}
    request = {"name": REQUEST_ENV, "value": json.dumps(job.request, sort_keys=True)}
    source = {
        "name": "source",
        "image": job.tools_image,
        "command": ["python", "-m", POD_MODULE, "source"],
        "env": [request, *_git_env(job), {"name": "HOME", "value": "/tmp"}],
        "volumeMounts": [workspace],
        "resources": _small("250m", "256Mi", "1Gi"),
    }
    env = [{"name": k, "value": v} for k, v in job.env_vars.items()]
    build = {
        "name": "build",
        "image": job.build_image,
        "command": ["python3", "-m", POD_MODULE, "build"],
        "workingDir": dockerfile.MODEL_DIR,
        "env": [
            *env,
            {"name": "PYTHONPATH", "value": dockerfile.AUTO_DIR},
            {"name": "PYTHONUNBUFFERED", "value": "1"},
            {"name": "PIP_DISABLE_PIP_VERSION_CHECK", "value": "1"},
            {"name": "HOME", "value": "/tmp"},
        ],
        "volumeMounts": [
            workspace,
            # The paths the serving image has them at, so the venv works unchanged there.
            {"name": "workspace", "mountPath": dockerfile.VENV, "subPath": "image/venv"},
            {"name": "workspace", "mountPath": dockerfile.AUTO_DIR, "subPath": "image/auto"},
            {"name": "workspace", "mountPath": dockerfile.MODEL_DIR, "subPath": "image/model"},
        ],
        "resources": build_resources(job.resources),
    }
    image = {
        "name": "image",
        "image": job.kaniko_image,
        "args": [
            f"--dockerfile={IMAGE_CONTEXT}/Dockerfile",
            f"--context=dir://{IMAGE_CONTEXT}",
            f"--destination={job.destination}",
            "--digest-file=/dev/termination-log",
        ],
        "volumeMounts": [workspace],
        "resources": _small("500m", "1Gi", "4Gi"),
    }
    if job.registry_secret:
        image["volumeMounts"] = [
            workspace,
            {"name": "registry", "mountPath": "/kaniko/.docker", "readOnly": True},
        ]
    for container in (source, build, image):
        # A step that dies without a word still says something: its log's tail.
        container["terminationMessagePolicy"] = "FallbackToLogsOnError"
    return [source, build], [image]


def render_job(job: BuildJob) -> dict[str, Any]:
    init, main = _containers(job)
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "initContainers": init,
        "containers": main,
        "volumes": [{"name": "workspace", "emptyDir": {}}],
    }
    if job.iam_role:
        pod["serviceAccountName"] = job.name
    if job.registry_secret:
        pod["imagePullSecrets"] = [{"name": job.registry_secret}]
        pod["volumes"].append(
            {
                "name": "registry",
                "secret": {
                    "secretName": job.registry_secret,
                    "items": [{"key": ".dockerconfigjson", "path": "config.json"}],
                },
            }
        )
    if isinstance(job.resources, GpuResources):
        selector, tolerations = gpu_placement(job.resources.gpu_type, job.gpu_nodes)
        if selector:
            pod["nodeSelector"] = selector
        if tolerations:
            pod["tolerations"] = tolerations
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            **_meta(job, job.name, None),
            "annotations": {
                f"{LABEL_PREFIX}/commit": job.commit,
                f"{LABEL_PREFIX}/build-id": job.build_id,
            },
        },
        "spec": {
            "suspend": True,  # resumed once its Secret and ServiceAccount exist
            "backoffLimit": 0,
            "activeDeadlineSeconds": job.deadline_seconds,
            "ttlSecondsAfterFinished": TTL_SECONDS,
            "template": {"metadata": {"labels": _labels(job)}, "spec": pod},
        },
    }


def render_service_account(job: BuildJob, owner_uid: str | None = None) -> dict[str, Any]:
    meta = _meta(job, job.name, owner_uid)
    meta["annotations"] = {"eks.amazonaws.com/role-arn": job.iam_role}
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta,
        "automountServiceAccountToken": False,
    }


def render_secret(
    job: BuildJob, owner_uid: str | None, *, header: str | None, ssh_key: str | None
) -> dict[str, Any]:
    """The build's git credentials (made at build time, deleted after; never rendered for
    review: ``auto render --build`` names it only)."""
    data = {}
    if header is not None:
        data[HEADER_KEY] = header
    if ssh_key is not None:
        data[SSH_KEY] = ssh_key.strip() + "\n"
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": _meta(job, job.secret_name, owner_uid),
        "stringData": data,
    }


def companions(
    job: BuildJob, owner_uid: str, *, header: str | None, ssh_key: str | None
) -> list[dict[str, Any]]:
    """What the Job needs before it is resumed, owned by it."""
    objects = []
    if job.has_secret:
        objects.append(render_secret(job, owner_uid, header=header, ssh_key=ssh_key))
    if job.iam_role:
        objects.append(render_service_account(job, owner_uid))
    return objects


def render_for_review(job: BuildJob) -> list[dict[str, Any]]:
    """``auto render --build``: the ServiceAccount (with a role) and the Job."""
    objects = [render_service_account(job)] if job.iam_role else []
    return [*objects, render_job(job)]
