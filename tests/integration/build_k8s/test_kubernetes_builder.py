"""The kubectl conversation of the kubernetes builder against the recording kubectl
(tests/fake_kubectl.py): create (suspended), its Secret and ServiceAccount, resume, follow,
succeed / fail / deadline / eviction / an image that cannot be pulled, delete."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from qwak_auto import redact
from qwak_auto.automation.model import from_document
from qwak_auto.builders.kubernetes import KubernetesBuilder
from qwak_auto.builders.kubernetes_pod import result_line, termination_message
from qwak_auto.config import load_config
from qwak_auto.errors import BuildError
from qwak_auto.run.build import build_log
from qwak_auto.run.contracts import Checkout, RunContext
from qwak_auto.state import open_store
from tests.integration.build_k8s.conftest import AUTO_YAML

TOKEN = "ghp_K8sBuildToken0123456789abcdef"
DIGEST = "sha256:" + "3c" * 32
RESULT = {
    "status": "succeeded",
    "reason": "",
    "metrics": {"f1_score": 0.82},
    "params": {"n_estimators": "300"},
    "python": "3.11.9",
    "unit_tests": "passed",
    "it_tests": "no tests",
    "model_class": "main.model.ChurnModel",
    "model": {"sha256": "ab" * 32, "bytes": 1234},
    "resolved": ["scikit-learn==1.5.2", "pandas==2.2.3"],
    "timings": {"build": 1.5},
}


def succeeded_job(result: dict[str, Any] = RESULT) -> dict[str, Any]:
    return {
        "outcome": "succeeded",
        "logs": {
            "source": "==> cloning https://git.example.com/org/models.git (main)\n",
            "build": "==> installing 5 requirements\nmetric f1_score = 0.82\n"
            + result_line(result)
            + "\n",
            "image": "INFO[0001] Pushing image to registry.example.com/ml/churn\n",
        },
        "terminated": {
            "build": {"exitCode": 0, "reason": "Completed", "message": termination_message(result)},
            "image": {"exitCode": 0, "reason": "Completed", "message": DIGEST},
        },
    }


def context(tmp_path: Path, **build_spec: Any) -> tuple[RunContext, Checkout]:
    (tmp_path / "auto.yaml").write_text(AUTO_YAML, encoding="utf-8")
    config = load_config((tmp_path,), env={"AUTO_HOME": str(tmp_path / ".auto")}, cwd=tmp_path)
    automation = from_document(
        {
            "name": "retrain_churn",
            "model_id": "churn",
            "trigger": {"none": {}},
            "action": {
                "build_deploy": {
                    "build_spec": {
                        "git_uri": "https://git.example.com/org/models.git",
                        "git_access_token_secret": "gh_token",
                        **build_spec,
                    }
                }
            },
        }
    )

    def secrets(name: str) -> str:
        assert name == "gh_token"
        redact.register_secret(TOKEN)
        return TOKEN

    root = tmp_path / "checkout"
    (root / "main").mkdir(parents=True)
    (root / "main" / "requirements.txt").write_text("scikit-learn\n", encoding="utf-8")
    checkout = Checkout(
        repo_url="https://git.example.com/org/models.git",
        branch="main",
        commit="f" * 40,
        root=root,
        project_dir=root,
        main_dir=root / "main",
    )
    ctx = RunContext(
        run_id="run1",
        automation=automation,
        config=config,
        store=open_store(config),
        secrets=secrets,
        trigger_reason="manual",
        started_at=datetime.now(UTC),
        log_dir=tmp_path / "logs",
        environ=dict(os.environ),
    )
    return ctx, checkout


def builder() -> KubernetesBuilder:
    return KubernetesBuilder(poll_seconds=0.01, timeout=600)


def no_token_anywhere_but_the_secret(kubectl) -> None:
    for call in kubectl.calls():
        assert TOKEN not in json.dumps(call["argv"])
        assert TOKEN not in call["stdin"]  # the Secret holds its header form only
    secrets = [c for c in kubectl.calls() if '"kind": "Secret"' in c["stdin"]]
    assert len(secrets) == 1


def test_a_build_job_that_succeeds(kubectl, tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECTL_JOB", json.dumps(succeeded_job()))
    ctx, checkout = context(tmp_path, assumed_iam_role="arn:aws:iam::1:role/build")
    result = builder().build(checkout, ctx)
    name = f"build-{result.build_id}"
    argvs = kubectl.argvs()
    assert argvs[0] == ["create", "-f", "-", "-o", "json"]
    assert argvs[1] == ["create", "-f", "-"]
    assert argvs[2] == ["patch", "job", name, "--type=merge", "-p", '{"spec": {"suspend": false}}']
    assert ["get", "job", name, "-o", "json"] in argvs
    assert ["get", "pods", "-l", f"job-name={name}", "-o", "json"] in argvs
    logs = [a for a in argvs if a[0] == "logs"]
    assert [a[-1] for a in logs] == ["source", "build", "image"]
    assert argvs[-1] == [
        "delete",
        f"job/{name}",
        f"secret/{name}-git",
        f"serviceaccount/{name}",
        "--cascade=background",
        "--ignore-not-found",
        "--wait=false",
    ]
    calls = kubectl.calls()
    assert all(c["argv"][:4] == ["--context", "prod-eu", "--namespace", "models"] for c in calls)
    job = json.loads(calls[0]["stdin"])
    assert job["spec"]["suspend"] is True
    owned = json.loads(calls[1]["stdin"])["items"]
    assert [o["kind"] for o in owned] == ["Secret", "ServiceAccount"]
    assert all(o["metadata"]["ownerReferences"][0]["uid"] == "uid-1234" for o in owned)
    no_token_anywhere_but_the_secret(kubectl)
    # what came back
    assert result.image == f"registry.example.com/ml/churn:{result.build_id}@{DIGEST}"
    assert result.metrics == {"f1_score": 0.82}
    assert result.params == {"n_estimators": "300"}
    assert result.provenance["image_pushed"] is True
    assert result.provenance["dependencies"]["resolved"] == RESULT["resolved"]
    assert result.provenance["kubernetes"]["job"] == name
    assert result.provenance["tests"] == {"unit": "passed", "it": "no tests"}
    record = ctx.store.build(result.build_id)
    assert record is not None
    assert record.status == "succeeded"
    assert record.image == result.image
    assert (result.artifact_dir / "provenance.json").is_file()
    # `auto logs BUILD_ID`: every step's log, without the result line
    text = build_log(ctx.config, result.build_id).read_text()
    assert "==> step build" in text
    assert "metric f1_score = 0.82" in text
    assert "Pushing image" in text
    assert "auto-build-result" not in text


def test_a_failed_build_step_fails_the_build_with_its_reason(kubectl, tmp_path, monkeypatch):
    reason = "unit tests failed (tests/, pytest exit status 1)"
    failed = {"status": "failed", "reason": reason}
    monkeypatch.setenv(
        "KUBECTL_JOB",
        json.dumps(
            {
                "outcome": "failed",
                "logs": {
                    "build": "FAILED tests/test_model.py::test_predict\n" + result_line(failed)
                },
                "terminated": {
                    "build": {
                        "exitCode": 1,
                        "reason": "Error",
                        "message": termination_message(failed),
                    }
                },
            }
        ),
    )
    ctx, checkout = context(tmp_path)
    with pytest.raises(BuildError) as excinfo:
        builder().build(checkout, ctx)
    assert f"step build exited with status 1 (Error): {reason}" in excinfo.value.message
    (record,) = ctx.store.builds("churn")
    assert record.status == "failed"
    assert reason in record.reason
    assert kubectl.argvs()[-1][:3] == [
        "delete",
        f"job/build-{record.build_id}",
        f"secret/build-{record.build_id}-git",
    ]
    assert [a[-1] for a in kubectl.argvs() if a[0] == "logs"] == ["source", "build"]
    no_token_anywhere_but_the_secret(kubectl)


def test_the_deadline_fails_the_build(kubectl, tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECTL_JOB", json.dumps({"outcome": "deadline", "running": ["build"]}))
    monkeypatch.setenv("AUTO_TIMEOUT_BUILD", "600")  # the run's build step
    ctx, checkout = context(tmp_path)
    with pytest.raises(BuildError, match=r"ran past its deadline .*DeadlineExceeded"):
        KubernetesBuilder(poll_seconds=0.01).build(checkout, ctx)
    job = json.loads(kubectl.calls()[0]["stdin"])
    # the step's timeout less a margin, so the build fails with its own reason first
    assert job["spec"]["activeDeadlineSeconds"] == 540
    assert kubectl.argvs()[-1][0] == "delete"


def test_an_evicted_pod_fails_the_build(kubectl, tmp_path, monkeypatch):
    monkeypatch.setenv(
        "KUBECTL_JOB",
        json.dumps(
            {
                "outcome": "failed",
                "running": ["build"],
                "pod": {
                    "phase": "Failed",
                    "reason": "Evicted",
                    "message": "The node was low on resource: memory.",
                },
            }
        ),
    )
    ctx, checkout = context(tmp_path)
    with pytest.raises(BuildError, match="evicted: The node was low on resource: memory"):
        builder().build(checkout, ctx)


def test_an_image_that_cannot_be_pulled_fails_at_once(kubectl, tmp_path, monkeypatch):
    monkeypatch.setenv(
        "KUBECTL_JOB",
        json.dumps(
            {
                "outcome": "succeeded",
                "active_gets": 1000,
                "waiting": {
                    "build": {
                        "reason": "ImagePullBackOff",
                        "message": 'Back-off pulling image "python:3.99"',
                    }
                },
            }
        ),
    )
    ctx, checkout = context(tmp_path, base_image="python:3.99")
    with pytest.raises(BuildError) as excinfo:
        builder().build(checkout, ctx)
    assert "step build cannot start: ImagePullBackOff" in excinfo.value.message
    assert len([a for a in kubectl.argvs() if a[:2] == ["get", "job"]]) == 1
    assert kubectl.argvs()[-1][0] == "delete"


def test_a_log_without_the_result_falls_back_to_the_termination_message(
    kubectl, tmp_path, monkeypatch
):
    scenario = succeeded_job()
    scenario["logs"]["build"] = "(log rotated)\n"
    monkeypatch.setenv("KUBECTL_JOB", json.dumps(scenario))
    ctx, checkout = context(tmp_path)
    result = builder().build(checkout, ctx)
    assert result.metrics == {"f1_score": 0.82}
    assert "metrics come from its termination message" in result.log_path.read_text()


def test_a_missing_digest_is_a_failed_build(kubectl, tmp_path, monkeypatch):
    scenario = succeeded_job()
    scenario["terminated"]["image"]["message"] = "error pushing image: UNAUTHORIZED"
    monkeypatch.setenv("KUBECTL_JOB", json.dumps(scenario))
    ctx, checkout = context(tmp_path)
    with pytest.raises(BuildError, match="did not report the pushed image's digest"):
        builder().build(checkout, ctx)
    (record,) = ctx.store.builds("churn")
    assert record.status == "failed"
    assert not (ctx.config.home / "builds" / record.build_id).exists()


def test_an_api_server_that_stays_away_fails_the_build(kubectl, tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECTL_JOB", json.dumps(succeeded_job()))
    monkeypatch.setenv("KUBECTL_FAIL_GETS", "2")  # two misses are tolerated
    ctx, checkout = context(tmp_path)
    assert builder().build(checkout, ctx).metrics == {"f1_score": 0.82}
    monkeypatch.setenv("KUBECTL_FAIL_GETS", "1000")
    (tmp_path / "again").mkdir()
    ctx, checkout = context(tmp_path / "again")
    with pytest.raises(BuildError, match="kubectl cannot see the Job: kubectl exited"):
        builder().build(checkout, ctx)
    assert kubectl.argvs()[-1][0] == "delete"


class StoppedAfter:
    """A step's ledger (qwak_auto.proc) that says "cancelled" once kubectl was called with
    ``verb``: the runner stopped the step (timed out or interrupted) at that point."""

    def __init__(self, kubectl, verb: str) -> None:
        self.kubectl = kubectl
        self.verb = verb

    def started(self, pid: int, what: str, *, server: bool) -> None:
        pass

    def finished(self, pid: int) -> None:
        pass

    def cancelled(self) -> bool:
        return any(argv[0] == self.verb for argv in self.kubectl.argvs())


def test_a_stopped_build_step_deletes_its_job_and_secret(kubectl, tmp_path, monkeypatch):
    from qwak_auto import proc

    monkeypatch.setenv("KUBECTL_JOB", json.dumps({**succeeded_job(), "active_gets": 1000}))
    ctx, checkout = context(tmp_path)
    with proc.ledger(StoppedAfter(kubectl, "patch")), pytest.raises(BuildError) as excinfo:
        builder().build(checkout, ctx)
    assert "the build step was stopped (timed out or interrupted)" in excinfo.value.message
    argvs = kubectl.argvs()
    assert [a[0] for a in argvs] == ["create", "create", "patch", "delete"]
    assert argvs[-1][2].startswith("secret/build-")
