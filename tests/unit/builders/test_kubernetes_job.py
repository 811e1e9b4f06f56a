"""A build's Kubernetes objects (builder: kubernetes): CPU, GPU, IAM role and private
repository Jobs validate against the published Kubernetes schemas (kubernetes-validate,
strict), and carry what the build spec says; credentials never appear in the Job."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from qwak_auto.automation.model import from_document
from qwak_auto.builders.kubernetes_job import (
    companions,
    job_name,
    render_for_review,
    render_job,
)
from qwak_auto.builders.kubernetes_plan import plan, serving_dockerfile
from qwak_auto.config import Environment, load_config
from qwak_auto.platform.kubernetes import GpuNodes
from qwak_auto.run.contracts import Checkout
from tests.kube_schemas import validate_all

PROD = Environment(
    name="prod",
    deployer="kubernetes",
    namespace="models",
    image_registry="registry.example.com/ml",
    gpu_nodes={
        "NVIDIA_A10G": GpuNodes(
            node_selector={"node.kubernetes.io/instance-type": "g5.xlarge"},
            tolerations=({"key": "gpu", "operator": "Exists", "effect": "NoSchedule"},),
        )
    },
)
BUILD_ID = "churn-20261125093000-abc1234"
HEADER = "Authorization: Basic eC1hY2Nlc3MtdG9rZW46Z2hwX3NlY3JldA=="


def automation(**build_spec: Any):
    spec = {
        "git_uri": "https://github.com/org/models.git#churn",
        "git_branch": "main",
        **build_spec,
    }
    return from_document(
        {
            "name": "retrain_churn",
            "model_id": "churn",
            "trigger": {"scheduled": {"cron": "0 3 * * *"}},
            "environment": "prod",
            "action": {"build_deploy": {"build_spec": spec}},
        }
    )


def checkout(tmp_path: Path) -> Checkout:
    root = tmp_path / "repo"
    (root / "churn" / "main").mkdir(parents=True, exist_ok=True)
    (root / "churn" / "main" / "requirements.txt").write_text("scikit-learn==1.5.2\n")
    return Checkout(
        repo_url="https://github.com/org/models.git",
        branch="main",
        commit="abc1234" + "0" * 33,
        root=root,
        project_dir=root / "churn",
        main_dir=root / "churn" / "main",
    )


def job_of(tmp_path: Path, environment: Environment = PROD, **build_spec: Any):
    config = load_config((), env={"AUTO_HOME": str(tmp_path / ".auto")}, cwd=tmp_path)
    job, _ = plan(
        automation(**build_spec),
        environment,
        config,
        build_id=BUILD_ID,
        deadline_seconds=1800,
        checkout=checkout(tmp_path),
    )
    return job


def pod_of(job_object: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = job_object["spec"]["template"]["spec"]
    return pod


def containers(job_object: dict[str, Any]) -> dict[str, dict[str, Any]]:
    pod = pod_of(job_object)
    return {c["name"]: c for c in [*pod["initContainers"], *pod["containers"]]}


CASES: dict[str, dict[str, Any]] = {
    "cpu": {"resources": {"cpu": {"cpu_fraction": 2.5, "memory": "6Gi"}}},
    "gpu": {"resources": {"gpu": {"gpu_type": "NVIDIA_A10G", "gpu_amount": 2}}},
    "gpu-unmapped": {"resources": {"gpu": {"gpu_type": "NVIDIA_T4", "gpu_amount": 1}}},
    "iam-role": {"assumed_iam_role": "arn:aws:iam::123456789012:role/churn-build"},
    "private-repo": {"git_access_token_secret": "gh_token"},
    "ssh": {"git_ssh_key_secret": "deploy_key"},
    "env-and-parameters": {
        "env_vars": ["LOG_LEVEL=debug", "PIP_INDEX_URL=https://pypi.internal"],
        "parameters": {"n_estimators": "300"},
        "base_image": "python:3.12",
    },
}


@pytest.mark.parametrize("case", list(CASES))
def test_rendered_build_objects_validate(tmp_path, case):
    job = job_of(tmp_path, **CASES[case])
    owned = companions(job, "uid-1", header=HEADER, ssh_key="-----BEGIN KEY-----\nk\n")
    validate_all([render_job(job), *owned, *render_for_review(job)])


def test_a_job_runs_once_within_the_build_timeout(tmp_path):
    job = render_job(job_of(tmp_path))
    assert job["metadata"]["name"] == "build-churn-20261125093000-abc1234"
    assert job["metadata"]["namespace"] == "models"
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["activeDeadlineSeconds"] == 1800
    assert job["spec"]["suspend"] is True
    pod = pod_of(job)
    assert pod["restartPolicy"] == "Never"
    assert pod["automountServiceAccountToken"] is False
    assert "serviceAccountName" not in pod
    assert [c["name"] for c in pod["initContainers"]] == ["source", "build"]
    assert [c["name"] for c in pod["containers"]] == ["image"]


def test_cpu_resources_are_requests_and_limits(tmp_path):
    job = render_job(job_of(tmp_path, **CASES["cpu"]))
    build = containers(job)["build"]
    assert build["resources"] == {
        "requests": {"cpu": "2500m", "memory": "6Gi"},
        "limits": {"cpu": "2500m", "memory": "6Gi"},
    }
    assert "nodeSelector" not in pod_of(job)


def test_gpus_land_on_the_nodes_auto_yaml_names(tmp_path):
    job = render_job(job_of(tmp_path, **CASES["gpu"]))
    build = containers(job)["build"]
    assert build["resources"] == {
        "requests": {"nvidia.com/gpu": "2"},
        "limits": {"nvidia.com/gpu": "2"},
    }
    assert pod_of(job)["nodeSelector"] == {"node.kubernetes.io/instance-type": "g5.xlarge"}
    assert pod_of(job)["tolerations"] == [
        {"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    other = render_job(job_of(tmp_path, **CASES["gpu-unmapped"]))
    assert pod_of(other)["nodeSelector"] == {"auto.qwak.ai/gpu-type": "NVIDIA_T4"}


def test_the_iam_role_is_the_service_accounts_annotation(tmp_path):
    job = job_of(tmp_path, **CASES["iam-role"])
    assert pod_of(render_job(job))["serviceAccountName"] == job.name
    (account,) = companions(job, "uid-1", header=None, ssh_key=None)
    assert account["kind"] == "ServiceAccount"
    assert account["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/churn-build"
    }
    assert account["metadata"]["ownerReferences"] == [
        {"apiVersion": "batch/v1", "kind": "Job", "name": job.name, "uid": "uid-1"}
    ]


def test_the_git_token_is_only_in_the_secret_owned_by_the_job(tmp_path):
    job = job_of(tmp_path, **CASES["private-repo"])
    rendered = render_job(job)
    assert "eC1hY2Nlc3Mt" not in json.dumps(rendered)
    env = {e["name"]: e for e in containers(rendered)["source"]["env"]}
    count = int(env["GIT_CONFIG_COUNT"]["value"])
    header = env[f"GIT_CONFIG_VALUE_{count - 1}"]
    assert env[f"GIT_CONFIG_KEY_{count - 1}"]["value"] == "http.extraHeader"
    assert header["valueFrom"] == {"secretKeyRef": {"name": job.secret_name, "key": "http-header"}}
    (secret,) = companions(job, "uid-1", header=HEADER, ssh_key=None)
    assert secret["kind"] == "Secret"
    assert secret["metadata"]["name"] == f"{job.name}-git"
    assert secret["stringData"] == {"http-header": HEADER}
    assert secret["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    # the build and image steps never see it
    others = json.dumps([containers(rendered)["build"], containers(rendered)["image"]])
    assert job.secret_name not in others


def test_env_vars_and_parameters_reach_the_build(tmp_path):
    job = job_of(tmp_path, **CASES["env-and-parameters"])
    rendered = render_job(job)
    build = containers(rendered)["build"]
    assert build["image"] == "python:3.12"
    env = {e["name"]: e.get("value") for e in build["env"]}
    assert env["LOG_LEVEL"] == "debug"
    assert env["PIP_INDEX_URL"] == "https://pypi.internal"
    request = json.loads(
        next(e for e in containers(rendered)["source"]["env"] if e["name"] == "AUTO_BUILD_REQUEST")[
            "value"
        ]
    )
    assert request["parameters"] == {"n_estimators": "300"}
    assert request["commit"] == "abc1234" + "0" * 33
    assert request["sub_path"] == "churn"
    assert request["main_dir"] == "main"
    assert "scikit-learn==1.5.2" in request["requirements"]
    assert request["dockerfile"].startswith("# Rendered by auto (kubernetes builder)")
    assert "FROM python:3.12\n" in request["dockerfile"]


def test_kaniko_pushes_to_the_registry_and_reports_the_digest(tmp_path):
    env = Environment(
        name="prod",
        deployer="kubernetes",
        namespace="models",
        image_registry="registry.example.com/ml",
        registry_secret="regcred",
        kaniko_image="cgr.dev/chainguard/kaniko:1.25",
    )
    rendered = render_job(job_of(tmp_path, env))
    image = containers(rendered)["image"]
    assert image["image"] == "cgr.dev/chainguard/kaniko:1.25"
    assert f"--destination=registry.example.com/ml/churn:{BUILD_ID}" in image["args"]
    assert "--digest-file=/dev/termination-log" in image["args"]
    assert {"name": "registry", "mountPath": "/kaniko/.docker", "readOnly": True} in (
        image["volumeMounts"]
    )
    pod = pod_of(rendered)
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    validate_all([rendered])


def test_names_stay_within_63_characters():
    name = job_name("a_very_long_model_identifier_for_churn-20261125093000-abc1234-x1y2z3")
    assert len(name) <= 63
    assert name != job_name("a_very_long_model_identifier_for_churn-20261125093000-abc1234-q")


def test_the_serving_image_keeps_the_builds_paths():
    text = serving_dockerfile("python:3.11-slim-bookworm", "churn", BUILD_ID)
    assert "COPY venv/ /opt/venv/\nCOPY auto/ /opt/auto/\nCOPY model/ /opt/model/\n" in text
    assert 'PATH="/opt/venv/bin:' in text
    assert text.rstrip().endswith(f'"--build-id", "{BUILD_ID}"]')


def test_a_local_repository_cannot_be_built_in_the_cluster(tmp_path):
    from qwak_auto.errors import BuildError

    local = replace(checkout(tmp_path), repo_url=str(tmp_path / "repo"))
    config = load_config((), env={"AUTO_HOME": str(tmp_path / ".auto")}, cwd=tmp_path)
    with pytest.raises(BuildError, match="is a path on this machine"):
        plan(automation(), PROD, config, build_id=BUILD_ID, deadline_seconds=60, checkout=local)


def test_without_a_registry_there_is_nowhere_to_push(tmp_path):
    from qwak_auto.errors import BuildError

    bare = Environment(name="prod", deployer="kubernetes")
    with pytest.raises(BuildError, match="names no image_registry") as excinfo:
        job_of(tmp_path, bare)
    assert "environments.prod.image_registry" in excinfo.value.hint
