"""What one Kubernetes build will be: where it runs, its Job's settings, the pod's request and
the serving image's Dockerfile (``builder: kubernetes``; also ``auto render --build``).

Where: the first of the automation's environments whose deployer is ``kubernetes`` (else its
first environment), with that environment's ``kube_context``, ``namespace``,
``image_registry`` (required), ``build_image``, ``kaniko_image``, ``registry_secret`` and
``gpu_nodes``. The build image is ``build_spec.base_image``, else the environment's
``build_image``, else ``python:3.11-slim-bookworm``; the source step runs in auto's own image
(``runner_image``, else what ``make image`` tags).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from qwak_auto import __version__
from qwak_auto.builders import common, dockerfile
from qwak_auto.builders.deps import detect
from qwak_auto.builders.kubernetes_job import DEFAULT_BUILD_IMAGE, BuildJob
from qwak_auto.builders.requirements import PIP_WITH_CUTOFF
from qwak_auto.errors import BuildError
from qwak_auto.platform import kubernetes as kube

if TYPE_CHECKING:
    from qwak_auto.automation.model import Automation
    from qwak_auto.config import Config, Environment
    from qwak_auto.run.contracts import Checkout

TOOLS_IMAGE = f"auto/runner:{__version__}"  # what `make image` tags (auto's own image)
POD_PATHS = {
    "workspace": "/workspace",
    "venv": dockerfile.VENV,
    "auto": dockerfile.AUTO_DIR,
    "model": dockerfile.MODEL_DIR,
}
AT_BUILD_TIME = "(resolved at build time)"


def build_environment(automation: Automation, config: Config) -> Environment:
    """Where the automation's builds run (see the module docstring)."""
    environments = [config.environment(name) for name in automation.environments]
    for environment in environments:
        if environment.deployer == "kubernetes":
            return environment
    return environments[0] if environments else config.environment(None)


def serving_dockerfile(build_image: str, model_id: str, build_id: str) -> str:
    """The serving image: the build image plus the environment, auto's runtime and the model
    at the paths the build used (a virtual environment only works where it was made)."""
    env = {**dockerfile.runtime_env(), "AUTO_MODEL_ID": model_id, "AUTO_BUILD_ID": build_id}
    lines = [
        "# Rendered by auto (kubernetes builder): built by kaniko in the build's pod.",
        f"FROM {build_image}",
        f"COPY venv/ {dockerfile.VENV}/",
        f"COPY auto/ {dockerfile.AUTO_DIR}/",
        f"COPY model/ {dockerfile.MODEL_DIR}/",
        "ENV " + " \\\n    ".join(f"{k}={json.dumps(v)}" for k, v in env.items()),
        f"WORKDIR {dockerfile.MODEL_DIR}",
        f"EXPOSE {dockerfile.SERVE_PORT}",
        f'LABEL "{dockerfile.LABEL}"="model" "{dockerfile.LABEL}.build-id"={json.dumps(build_id)}',
        "ENTRYPOINT []",
        f"CMD {json.dumps(dockerfile.serve_command(model_id, build_id))}",
    ]
    return "\n".join(lines) + "\n"


def _source(automation: Automation, checkout: Checkout | None) -> dict[str, Any]:
    """Where the pod clones from, and what it installs (unknown before a checkout)."""
    spec = automation.action.build_spec
    if checkout is None:
        return {
            "repo_url": spec.repo_url,
            "branch": spec.git_branch,
            "commit": AT_BUILD_TIME,
            "sub_path": spec.sub_path,
            "main_dir": spec.main_dir or "main",
            "requirements": [AT_BUILD_TIME],
            "uploaded_before": None,
        }
    if checkout.repo_url.startswith(("/", "file:", ".")):
        raise BuildError(
            f"builder kubernetes: the cluster clones the repository itself, and "
            f"{checkout.repo_url} is a path on this machine",
            "use an https:// or ssh git_uri the cluster can reach",
        )
    deps = replace(
        detect(checkout.project_dir, checkout.main_dir, spec.dependency_file_path),
        as_of=spec.dependencies_as_of,
    )
    project = checkout.project_dir.resolve()
    return {
        "repo_url": checkout.repo_url,
        "branch": checkout.branch,
        "commit": checkout.commit,
        "sub_path": project.relative_to(checkout.root.resolve()).as_posix(),
        "main_dir": checkout.main_dir.resolve().relative_to(project).as_posix(),
        "requirements": list(deps.specs()),
        "uploaded_before": deps.uploaded_before,
        "dependencies": {
            "file": common.relative_to(deps.file, checkout.project_dir),
            "kind": deps.kind,
            "requested": list(deps.specs()),
            "tool": "pip (kubernetes)",
            "warnings": list(deps.warnings),
            **deps.as_of_record(),
        },
    }


def plan(
    automation: Automation,
    environment: Environment,
    config: Config,
    *,
    build_id: str,
    deadline_seconds: int,
    checkout: Checkout | None = None,
    run_tests: bool = True,
) -> tuple[BuildJob, dict[str, Any]]:
    """The build's Job, and what its provenance says about its dependencies."""
    spec = automation.action.build_spec
    if not environment.image_registry:
        raise BuildError(
            f"builder kubernetes: environment {environment.name!r} names no image_registry",
            f"set environments.{environment.name}.image_registry in auto.yaml: the build "
            "pushes the serving image there",
        )
    source = _source(automation, checkout)
    dependencies = source.pop("dependencies", {})
    build_image = spec.base_image or environment.build_image or DEFAULT_BUILD_IMAGE
    request = {
        **source,
        "build_id": build_id,
        "model_id": automation.model_id,
        "pip_with_cutoff": PIP_WITH_CUTOFF,
        "parameters": dict(spec.parameters),
        "env_vars": spec.env,
        "run_tests": run_tests,
        "deadline_seconds": deadline_seconds,
        "dockerfile": serving_dockerfile(build_image, automation.model_id, build_id),
        "pth_name": dockerfile.PTH_NAME,
        "auto_version": __version__,
        "paths": POD_PATHS,
    }
    job = BuildJob(
        build_id=build_id,
        model_id=automation.model_id,
        automation=automation.name,
        namespace=environment.namespace,
        repo_url=str(source["repo_url"]),
        branch=str(source["branch"]),
        commit=str(source["commit"]),
        request=request,
        resources=spec.resources,
        env_vars=spec.env,
        gpu_nodes=environment.gpu_nodes,
        build_image=build_image,
        tools_image=config.runner_image or TOOLS_IMAGE,
        kaniko_image=environment.kaniko_image,
        destination=kube.registry_ref(environment.image_registry, automation.model_id, build_id),
        registry_secret=environment.registry_secret,
        iam_role=spec.assumed_iam_role,
        deadline_seconds=deadline_seconds,
        git_header=bool(spec.git_access_token_secret),
        git_ssh=bool(spec.git_ssh_key_secret),
    )
    return job, dependencies


def render_build(
    automation: Automation, config: Config, environ: Mapping[str, str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """``auto render --build``: the objects of the automation's next build, for review, and
    what they depend on that is only known when the build runs."""
    from qwak_auto.builders.kubernetes_job import render_for_review

    environment = build_environment(automation, config)
    timeout = int(common.build_timeout(environ, 3600.0))
    build_id = f"{automation.model_id.lower()}-review"
    job, _ = plan(automation, environment, config, build_id=build_id, deadline_seconds=timeout)
    notes = [
        f"{automation.name}: builds run in environment {environment.name!r} (namespace "
        f"{environment.namespace}); each build gets its own id in place of {build_id!r}, and "
        "the commit and requirements the run's source step finds",
        f"{automation.name}: the Job is created suspended and resumed once what it names exists",
    ]
    if config.builder != "kubernetes":
        notes.append(
            f"{automation.name}: the project's builder is {config.builder!r}; these are the "
            "objects `builder: kubernetes` would create"
        )
    if job.has_secret:
        notes.append(
            f"{automation.name}: the Secret {job.secret_name!r} (the git credentials of "
            "git_access_token_secret / git_ssh_key_secret) is made for each build from the "
            "resolved secret, owned by the Job, and deleted when it ends; it is not printed"
        )
    return render_for_review(job), notes
