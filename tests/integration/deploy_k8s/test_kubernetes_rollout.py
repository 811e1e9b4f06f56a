"""The kubectl conversation of a deployment with a ``rollout`` (Argo Rollouts), against the
recording kubectl: apply, watch the Rollout through its steps, judge, abort, restore."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from qwak_auto import redact
from qwak_auto.automation.model import from_document
from qwak_auto.config import Environment, load_config
from qwak_auto.deploy.kubernetes import KubernetesDeployer
from qwak_auto.errors import DeployError, RolledBack
from qwak_auto.run.contracts import BuildResult, RunContext
from qwak_auto.state import open_store

PROD = Environment(
    name="prod",
    deployer="kubernetes",
    kube_context="prod-eu",
    namespace="models",
    prometheus_url="http://prometheus.monitoring:9090",
)
ROLLOUT = {"canary_steps": [10, 50], "step_time": "1s", "bake_time": "1s", "min_requests": 5}
CANARY = [
    {"phase": "Progressing", "step": 0, "analysis": "Running"},
    {"phase": "Paused", "step": 1, "analysis": "Running"},
    {"phase": "Paused", "step": 3, "analysis": "Running"},
    {"phase": "Paused", "step": 5, "analysis": "Running"},
    {"phase": "Healthy", "step": 6, "promoted": True, "analysis": "Successful"},
]
BREACH = [
    {"phase": "Paused", "step": 1, "analysis": "Running"},
    {
        "phase": "Degraded",
        "step": 1,
        "analysis": "Failed",
        "message": 'RolloutAborted: Metric "error-rate" assessed Failed due to failed (1) > '
        "failureLimit (0)",
    },
]
ANALYSIS = {
    "phase": "Failed",
    "metricResults": [
        {
            "name": "requests",
            "phase": "Running",
            "count": 2,
            "measurements": [{"value": "[40]"}, {"value": "[85]"}],
        },
        {
            "name": "error-rate",
            "phase": "Failed",
            "count": 2,
            "failed": 1,
            "measurements": [{"value": "[0]"}, {"value": "[0.3125]"}],
        },
    ],
}


def automation(**deployment_spec: Any):
    return from_document(
        {
            "name": "retrain_churn",
            "model_id": "churn",
            "trigger": {"scheduled": {"cron": "0 3 * * *"}},
            "action": {
                "build_deploy": {
                    "build_spec": {"git_uri": "https://github.com/o/r.git", "push_image": False},
                    "deployment_spec": {"deployment_process_timeout_limit": 60, **deployment_spec},
                }
            },
        }
    )


def context(tmp_path: Path, auto, secrets: dict[str, str] | None = None) -> RunContext:
    config = load_config((), env={"AUTO_HOME": str(tmp_path / ".auto")}, cwd=tmp_path)

    def resolve(name: str) -> str:
        value = (secrets or {})[name]
        redact.register_secret(value)
        return value

    return RunContext(
        run_id="run1",
        automation=auto,
        config=config,
        store=open_store(config),
        secrets=resolve,
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


def deployer() -> KubernetesDeployer:
    return KubernetesDeployer(poll_seconds=0.01, margin_seconds=0)


def scripts(monkeypatch: pytest.MonkeyPatch, **by_marker: list[dict[str, Any]]) -> None:
    monkeypatch.setenv("KUBECTL_ROLLOUT", json.dumps({"scripts": by_marker}))


def test_the_rollout_is_watched_through_its_steps_until_promoted(kubectl, tmp_path, monkeypatch):
    ctx = context(tmp_path, automation(rollout=ROLLOUT))
    scripts(monkeypatch, **{"*": CANARY})
    outcome = deployer().deploy(build("b1"), PROD, ctx)
    assert outcome.status == "serving"
    argvs = kubectl.argvs()
    assert argvs[0] == ["apply", "-f", "-"]
    assert set(map(tuple, argvs[1:])) == {("get", "rollout", "churn-default", "-o", "json")}
    assert len(argvs) == 1 + len(CANARY)
    applied = list(YAML(typ="safe").load_all(kubectl.calls()[0]["stdin"]))
    kinds = [d["kind"] for d in applied]
    assert kinds == ["ServiceAccount", "Service", "Service", "AnalysisTemplate", "Rollout"]
    assert applied[-1]["spec"]["template"]["spec"]["containers"][0]["image"] == "auto/churn:b1"
    # every calls carries the environment's context and namespace
    assert all(
        c["argv"][:4] == ["--context", "prod-eu", "--namespace", "models"] for c in kubectl.calls()
    )
    serving = ctx.store.serving("churn", "prod", "default")
    assert serving is not None
    assert serving.build_id == "b1"
    assert serving.detail["kind"] == "Rollout"
    assert serving.detail["phase"] == "promoted"
    assert serving.reason == "churn-default promoted"


def test_an_analysis_breach_rolls_back_and_restores_the_previous_build(
    kubectl, tmp_path, monkeypatch
):
    ctx = context(tmp_path, automation(rollout=ROLLOUT))
    scripts(monkeypatch, bad2=BREACH)
    monkeypatch.setenv("KUBECTL_ANALYSIS", json.dumps(ANALYSIS))
    deployer().deploy(build("good1"), PROD, ctx)
    with pytest.raises(RolledBack) as excinfo:
        deployer().deploy(build("bad2"), PROD, ctx)
    message = excinfo.value.message
    assert "rolled back by the analysis of bad2" in message
    assert "error-rate: Failed, measured [0.3125]" in message
    assert "restored the previous build good1" in message
    argvs = kubectl.argvs()
    assert argvs[argvs.index(["apply", "-f", "-"], 2) + 3][:2] == ["get", "analysisrun"]
    applied = [c["stdin"] for c in kubectl.calls() if "apply" in c["argv"]]
    assert len(applied) == 3
    assert "auto/churn:good1" in applied[2]  # the previous manifests, re-applied
    serving = ctx.store.serving("churn", "prod", "default")
    assert serving is not None
    assert serving.build_id == "good1"
    rolled = [d for d in ctx.store.deployments("churn") if d.status == "rolled_back"]
    assert [d.build_id for d in rolled] == ["bad2"]
    assert rolled[0].detail["figures"]["error-rate"]["value"] == "[0.3125]"
    assert rolled[0].detail["figures"]["requests"]["value"] == "[85]"


def test_pods_that_never_get_ready_fail_the_deploy(kubectl, tmp_path, monkeypatch):
    ctx = context(tmp_path, automation(rollout=ROLLOUT))
    stuck = [
        {
            "phase": "Degraded",
            "message": "ProgressDeadlineExceeded: ReplicaSet "
            '"churn-default-5d9f" has timed out progressing.',
        }
    ]
    scripts(monkeypatch, bad2=stuck)
    deployer().deploy(build("good1"), PROD, ctx)
    with pytest.raises(DeployError) as excinfo:
        deployer().deploy(build("bad2"), PROD, ctx)
    assert not isinstance(excinfo.value, RolledBack)
    assert "rollout of bad2 failed: ProgressDeadlineExceeded" in excinfo.value.message
    assert "restored the previous build good1" in excinfo.value.message
    assert "kubectl describe rollout churn-default" in excinfo.value.hint


def test_a_rollout_still_going_at_the_deadline_is_aborted(kubectl, tmp_path, monkeypatch):
    quick = {"canary_steps": [10], "step_time": "1s"}
    ctx = context(tmp_path, automation(rollout=quick, deployment_process_timeout_limit=1))
    scripts(monkeypatch, slow3=[{"phase": "Paused", "step": 1, "analysis": "Running"}])
    deployer().deploy(build("good1"), PROD, ctx)
    with pytest.raises(DeployError) as excinfo:
        deployer().deploy(build("slow3"), PROD, ctx)
    assert "was not promoted within 2s" in excinfo.value.message
    assert "restored the previous build good1" in excinfo.value.message
    patches = [a for a in kubectl.argvs() if a[0] == "patch"]
    assert patches == [
        [
            "patch",
            "rollout",
            "churn-default",
            "--subresource=status",
            "--type=merge",
            "-p",
            '{"status": {"abort": true}}',
        ],
    ]


def test_switching_to_a_rollout_removes_the_deployment(kubectl, tmp_path, monkeypatch):
    KubernetesDeployer().deploy(build("b1"), PROD, context(tmp_path, automation()))
    ctx = context(tmp_path, automation(rollout=ROLLOUT))
    deployer().deploy(build("b2"), PROD, ctx)
    argvs = kubectl.argvs()
    assert argvs[1][:3] == ["rollout", "status", "deployment/churn-default"]
    assert argvs[-1] == ["delete", "deployment/churn-default", "--ignore-not-found", "--wait=false"]


def test_api_keys_travel_only_in_their_secret(kubectl, tmp_path):
    keys = "k3y-0123456789abcdef\nk3y-fedcba9876543210\n"
    ctx = context(tmp_path, automation(api_keys_secret="churn_keys"), {"churn_keys": keys})
    KubernetesDeployer().deploy(build("b1"), PROD, ctx)
    calls = kubectl.calls()
    secret = json.loads(calls[0]["stdin"])
    assert secret["kind"] == "Secret"
    assert secret["metadata"]["name"] == "churn-default-api-keys"
    assert secret["stringData"] == {"api_keys": keys}
    for call in calls[1:]:
        assert "k3y-" not in call["stdin"]
    assert not any("k3y-" in arg for call in calls for arg in call["argv"])
    serving = ctx.store.serving("churn", "prod", "default")
    assert serving is not None
    assert "k3y-" not in json.dumps(serving.detail)
    assert "api-keys-version" in serving.detail["manifests"]


def test_unusable_api_keys_stop_the_deploy_before_kubectl(kubectl, tmp_path):
    ctx = context(tmp_path, automation(api_keys_secret="churn_keys"), {"churn_keys": "short"})
    with pytest.raises(DeployError, match="api_keys_secret 'churn_keys': key 1 is shorter"):
        KubernetesDeployer().deploy(build("b1"), PROD, ctx)
    assert kubectl.calls() == []


def test_an_image_built_in_the_cluster_is_not_pushed_again(kubectl, tmp_path):
    env = Environment(
        name="prod",
        deployer="kubernetes",
        namespace="models",
        image_registry="registry.example.com/ml",
    )
    pushed = BuildResult(
        build_id="b1",
        model_id="churn",
        commit="abc",
        builder="kubernetes",
        artifact_dir=Path("/nonexistent"),
        metrics={},
        params={},
        log_path=Path("/nonexistent/build.log"),
        image="registry.example.com/ml/churn:b1@sha256:" + "ab" * 32,
        provenance={"image_pushed": True},
    )
    ctx = context(tmp_path, automation())
    KubernetesDeployer().deploy(pushed, env, ctx)  # no docker on PATH is needed
    deployment = list(YAML(typ="safe").load_all(kubectl.calls()[0]["stdin"]))[-1]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == pushed.image


def test_a_few_unanswered_looks_are_not_a_verdict(kubectl, tmp_path, monkeypatch):
    ctx = context(tmp_path, automation(rollout=ROLLOUT))
    scripts(monkeypatch, **{"*": CANARY})
    monkeypatch.setenv("KUBECTL_FAIL_GETS", "2")
    assert deployer().deploy(build("b1"), PROD, ctx).status == "serving"


class StoppedAfter:
    """A step's ledger (qwak_auto.proc) that says "cancelled" once kubectl applied
    ``count`` times: the runner stopped the deploy step at that point."""

    def __init__(self, kubectl, count: int) -> None:
        self.kubectl = kubectl
        self.count = count

    def started(self, pid: int, what: str, *, server: bool) -> None:
        pass

    def finished(self, pid: int) -> None:
        pass

    def cancelled(self) -> bool:
        return sum(1 for a in self.kubectl.argvs() if a[0] == "apply") >= self.count


def test_a_stopped_deploy_step_aborts_and_puts_the_previous_build_back(
    kubectl, tmp_path, monkeypatch
):
    from qwak_auto import proc

    ctx = context(tmp_path, automation(rollout=ROLLOUT))
    scripts(monkeypatch, slow2=[{"phase": "Paused", "step": 1, "analysis": "Running"}])
    deployer().deploy(build("good1"), PROD, ctx)
    with proc.ledger(StoppedAfter(kubectl, 2)), pytest.raises(DeployError) as excinfo:
        deployer().deploy(build("slow2"), PROD, ctx)
    assert "the deploy step was stopped during the rollout; churn-default aborted" in (
        excinfo.value.message
    )
    assert "re-applied the previous build good1" in excinfo.value.message
    argvs = kubectl.argvs()
    assert argvs[-2][:2] == ["patch", "rollout"]
    assert argvs[-1] == ["apply", "-f", "-"]
    assert "auto/churn:good1" in kubectl.calls()[-1]["stdin"]


def test_a_deploy_step_stopped_before_it_began_changes_nothing(kubectl, tmp_path):
    from qwak_auto import proc

    ctx = context(tmp_path, automation(rollout=ROLLOUT))
    with proc.ledger(StoppedAfter(kubectl, 0)), pytest.raises(DeployError, match="stopped before"):
        deployer().deploy(build("b1"), PROD, ctx)
    assert kubectl.calls() == []
