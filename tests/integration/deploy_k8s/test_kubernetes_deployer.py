"""The kubectl conversation of the Kubernetes deployer, against a recording kubectl."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from qwak_auto.automation.model import from_document
from qwak_auto.config import Environment, load_config
from qwak_auto.deploy.kubernetes import KubernetesDeployer
from qwak_auto.errors import DeployError
from qwak_auto.run.contracts import BuildResult, RunContext
from qwak_auto.state import open_store

DOC = {
    "name": "retrain_churn",
    "model_id": "churn",
    "trigger": {"scheduled": {"cron": "0 3 * * *"}},
    "action": {
        "build_deploy": {
            "build_spec": {"git_uri": "https://github.com/o/r.git", "push_image": False},
            "deployment_spec": {"deployment_process_timeout_limit": 90},
        }
    },
}
PROD = Environment(name="prod", deployer="kubernetes", kube_context="prod-eu", namespace="models")


def context(tmp_path: Path) -> RunContext:
    config = load_config((), env={"AUTO_HOME": str(tmp_path / ".auto")}, cwd=tmp_path)
    store = open_store(config)

    def no_secrets(name: str) -> str:
        raise AssertionError(name)

    return RunContext(
        run_id="run1",
        automation=from_document(DOC),
        config=config,
        store=store,
        secrets=no_secrets,
        trigger_reason="manual",
        started_at=datetime.now(UTC),
        log_dir=tmp_path / "logs",
        environ=dict(os.environ),
    )


def build(build_id: str) -> BuildResult:
    return BuildResult(
        build_id=build_id,
        model_id="churn",
        commit="abc",
        builder="docker",
        artifact_dir=Path("/nonexistent"),
        metrics={},
        params={},
        log_path=Path("/nonexistent/build.log"),
        image=f"auto/churn:{build_id}",
    )


def test_apply_then_rollout_status_with_the_limit(kubectl, tmp_path):
    ctx = context(tmp_path)
    outcome = KubernetesDeployer().deploy(build("b1"), PROD, ctx)
    assert outcome.status == "serving"
    calls = kubectl.calls()
    assert [c["argv"] for c in calls] == [
        ["--context", "prod-eu", "--namespace", "models", "apply", "-f", "-"],
        [
            "--context",
            "prod-eu",
            "--namespace",
            "models",
            "rollout",
            "status",
            "deployment/churn-default",
            "--timeout=90s",
        ],
    ]
    assert "kind: Deployment" in calls[0]["stdin"]
    assert "image: auto/churn:b1" in calls[0]["stdin"]
    serving = ctx.store.serving("churn", "prod", "default")
    assert serving is not None
    assert serving.build_id == "b1"


def test_failed_rollout_restores_the_previous_manifests(kubectl, tmp_path, monkeypatch):
    ctx = context(tmp_path)
    KubernetesDeployer().deploy(build("good1"), PROD, ctx)
    monkeypatch.setenv("KUBECTL_FAIL_ROLLOUT_IF", "bad2")
    with pytest.raises(DeployError) as excinfo:
        KubernetesDeployer().deploy(build("bad2"), PROD, ctx)
    message = excinfo.value.message
    assert "rollout of bad2 failed" in message
    assert "restored the previous build good1" in message
    calls = kubectl.calls()
    applied = [c["stdin"] for c in calls if "apply" in c["argv"]]
    assert len(applied) == 3
    assert "auto/churn:good1" in applied[2]  # the previous manifests, re-applied
    serving = ctx.store.serving("churn", "prod", "default")
    assert serving is not None
    assert serving.build_id == "good1"
    failed = [d for d in ctx.store.deployments("churn") if d.status == "failed"]
    assert [d.build_id for d in failed] == ["bad2"]


def test_first_deploy_failure_says_nothing_was_restored(kubectl, tmp_path, monkeypatch):
    ctx = context(tmp_path)
    monkeypatch.setenv("KUBECTL_FAIL_ROLLOUT_IF", "first")
    with pytest.raises(DeployError, match="nothing was serving before"):
        KubernetesDeployer().deploy(build("first"), PROD, ctx)


def test_an_image_is_required(kubectl, tmp_path):
    ctx = context(tmp_path)
    local_build = replace(build("b1"), image=None)
    with pytest.raises(DeployError, match="needs an image") as excinfo:
        KubernetesDeployer().deploy(local_build, PROD, ctx)
    assert "builder: docker" in excinfo.value.hint
    assert kubectl.calls() == []
