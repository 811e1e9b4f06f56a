"""The real notifier inside the real runner: a failing endpoint is recorded in the notify
step's detail and never fails the run; success means deployed (fake build steps, real
SQLite store, real HTTP server on 127.0.0.1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer

from qwak_auto.automation.model import from_document
from qwak_auto.config import load_config
from qwak_auto.run import runner
from qwak_auto.run.contracts import BuildResult, Checkout, Decision, DeployOutcome
from qwak_auto.run.setup import RunnerSettings, steps_for
from qwak_auto.state import open_store
from qwak_auto.state.base import ClaimRequest, RunStatus, StepStatus


class Source:
    def fetch(self, spec: Any, ctx: Any) -> Checkout:
        root = ctx.log_dir
        return Checkout(
            repo_url=spec.repo_url, branch="main", commit="ab" * 20,
            root=root, project_dir=root, main_dir=root / "main",
        )  # fmt: skip


class Builder:
    name = "fake"

    def build(self, checkout: Checkout, ctx: Any) -> BuildResult:
        return BuildResult(
            build_id="b-7", model_id="churn", commit=checkout.commit, builder="fake",
            artifact_dir=ctx.log_dir, metrics={"f1": 0.8}, params={}, log_path=ctx.log_dir / "b",
        )  # fmt: skip


class Gate:
    def __init__(self, deploy: bool) -> None:
        self.deploy = deploy

    def decide(self, build: BuildResult, ctx: Any) -> Decision:
        return Decision(
            deploy=self.deploy, reason="f1 0.8 vs 0.65", metric_name="f1", value=0.8,
            threshold=0.65,
        )  # fmt: skip


class Deployer:
    name = "fake"

    def deploy(self, build: BuildResult, environment: Any, ctx: Any) -> DeployOutcome:
        return DeployOutcome(
            environment=environment.name, variation="default", deployment_id="d-1",
            address="http://127.0.0.1:9", status="serving",
        )  # fmt: skip


def _run(tmp_path: Path, hook: str, slack_env: dict[str, str], deploy: bool) -> tuple[Any, Any]:
    doc = {
        "name": "churn",
        "model_id": "churn",
        "trigger": {"none": {}},
        "action": {"build_deploy": {"build_spec": {"git_uri": "https://example.invalid/r.git"}}},
        "on_start": {"webhook": {"url": hook}},
        "on_success": {"slack": {"webhook_secret": "slack_hook"}, "webhook": {"url": hook}},
        "on_not_deployed": {"webhook": {"url": hook}},
        "on_error": {"webhook": {"url": hook}},
    }
    automation = from_document(doc)
    config = load_config((), env={"AUTO_HOME": str(tmp_path / ".auto")}, cwd=tmp_path)
    store = open_store(config)
    now = datetime.now(UTC)
    store.upsert_automation(
        name="churn", model_id="churn", spec_hash="h", file="f", enabled=True, now=now
    )
    claim = store.claim(
        ClaimRequest(
            automation="churn",
            run_key="churn@manual:1",
            trigger_reason="manual",
            scheduled_for=None,
            owner="t:1:x",
            now=now,
            lease_seconds=60,
            forbid_overlap=True,
        )
    )
    assert claim.run is not None
    environ = {"AUTO_NOTIFY_BACKOFF": "0.01", "AUTO_NOTIFY_TIMEOUT": "2", **slack_env}
    parts = steps_for(
        config, source=Source(), builder=Builder(), gate=Gate(deploy), deployer=Deployer()
    )
    settings = RunnerSettings(owner="t:1:x", environ=environ, steps=parts)
    outcome = runner.execute(claim.run, automation, config, store, settings)
    steps = {s.name: s for s in store.steps(claim.run.run_id)}
    store.close()
    return outcome, steps


def test_failed_notification_is_recorded_not_fatal(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/hook").respond_with_data("nope", 500)
    outcome, steps = _run(tmp_path, httpserver.url_for("/hook"), {}, deploy=True)
    assert outcome.status == RunStatus.SUCCEEDED
    notify = steps["notify"]
    assert notify.status == StepStatus.OK
    assert "problems" in notify.reason
    success = notify.detail["success"]
    assert success["ok"] is False
    kinds = {n["kind"]: n for n in success["notifications"]}
    assert "slack_hook" in kinds["slack"]["error"]  # the secret could not be resolved
    assert kinds["webhook"]["attempts"] == 4
    assert kinds["webhook"]["http_status"] == 500
    assert notify.detail["start"]["failed"] == 1


def test_not_deployed_goes_to_its_own_list(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    outcome, steps = _run(tmp_path, httpserver.url_for("/hook"), {}, deploy=False)
    assert outcome.status == RunStatus.NOT_DEPLOYED
    bodies = [json.loads(req.get_data()) for req, _ in httpserver.log]
    assert [b["status"] for b in bodies] == ["running", "not_deployed"]
    assert [b["deployed"] for b in bodies] == [False, False]
    assert steps["notify"].detail["not_deployed"]["sent"] == 1


def test_success_means_deployed(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    httpserver.expect_request("/slack/T/B/s").respond_with_data("ok")
    slack = {"AUTO_SECRET_SLACK_HOOK": httpserver.url_for("/slack/T/B/s")}
    outcome, steps = _run(tmp_path, httpserver.url_for("/hook"), slack, deploy=True)
    assert outcome.status == RunStatus.SUCCEEDED
    final = [json.loads(req.get_data()) for req, _ in httpserver.log][-2:]
    slack_body = next(b for b in final if "blocks" in b)
    hook_body = next(b for b in final if "status" in b)
    assert hook_body["status"] == "succeeded"
    assert hook_body["deployed"] is True
    assert hook_body["build_id"] == "b-7"
    assert "deployed to" in json.dumps(slack_body["blocks"])
    assert steps["notify"].detail["success"] == {**steps["notify"].detail["success"], "sent": 2}
