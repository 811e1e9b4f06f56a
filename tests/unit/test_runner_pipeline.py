"""The runner frame with fake step implementations and a real SQLite store in tmp_path."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from qwak_auto import redact
from qwak_auto.automation.model import Automation, from_document
from qwak_auto.config import Config, load_config
from qwak_auto.errors import BuildError, DeployError
from qwak_auto.run import runner
from qwak_auto.run.contracts import BuildResult, Checkout, Decision, DeployOutcome
from qwak_auto.run.control import Stop
from qwak_auto.run.setup import RunnerSettings, steps_for
from qwak_auto.state import open_store
from qwak_auto.state.base import ClaimRequest, RunRecord, RunStatus, StateStore, StepStatus
from tests.plugins import install_plugin

OWNER = "test:1:abc"


def make_automation(**top: Any) -> Automation:
    doc = {
        "name": "churn",
        "model_id": "churn",
        "trigger": {"scheduled": {"cron": "0 2 * * *"}},
        "action": {"build_deploy": {"build_spec": {"git_uri": "https://example.com/r.git"}}},
        **top,
    }
    return from_document(doc)


class FakeSource:
    def fetch(self, spec, ctx) -> Checkout:
        root = ctx.log_dir / "src"
        return Checkout(
            repo_url=spec.repo_url, branch=spec.git_branch, commit="c0ffee" * 6 + "abcd",
            root=root, project_dir=root, main_dir=root / "main",
        )  # fmt: skip


class FakeBuilder:
    name = "fake"

    def __init__(self, fail: BaseException | None = None, sleep: float = 0.0) -> None:
        self.fail = fail
        self.sleep = sleep

    def build(self, checkout, ctx) -> BuildResult:
        time.sleep(self.sleep)
        if self.fail is not None:
            raise self.fail
        return BuildResult(
            build_id="b-1", model_id="churn", commit=checkout.commit, builder="fake",
            artifact_dir=ctx.log_dir, metrics={"f1": 0.8}, params={}, log_path=ctx.log_dir / "b",
        )  # fmt: skip


class FakeGate:
    def __init__(self, deploy: bool = True) -> None:
        self.deploy = deploy

    def decide(self, build, ctx) -> Decision:
        return Decision(deploy=self.deploy, reason="f1 0.8 > 0.65" if self.deploy else "f1 low")


class FakeDeployer:
    name = "fake"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.envs: list[str] = []

    def deploy(self, build, environment, ctx) -> DeployOutcome:
        self.envs.append(environment.name)
        if self.fail:
            raise DeployError("health check failed after 600 s; the old model keeps serving")
        return DeployOutcome(
            environment=environment.name, variation="default", deployment_id="d-1",
            address="http://127.0.0.1:9", status="serving",
        )  # fmt: skip


class FakeNotifier:
    def __init__(self, fail: bool = False) -> None:
        self.events: list[str] = []
        self.fail = fail

    def notify(self, event, summary, ctx) -> dict[str, Any]:
        self.events.append(event)
        if self.fail:
            raise RuntimeError("slack is down")
        return {"sent": event}


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config((), env={"AUTO_HOME": str(tmp_path / ".auto")}, cwd=tmp_path)


@pytest.fixture
def store(config: Config) -> Iterator[StateStore]:
    s = open_store(config)
    yield s
    s.close()


def claim(store: StateStore, automation: Automation, lease: float = 60) -> RunRecord:
    now = datetime.now(UTC)
    store.upsert_automation(
        name=automation.name, model_id=automation.model_id, spec_hash="h", file="f",
        enabled=True, now=now,
    )  # fmt: skip
    result = store.claim(
        ClaimRequest(
            automation=automation.name,
            run_key=f"{automation.name}@x",
            trigger_reason="schedule",
            scheduled_for=now,
            owner=OWNER,
            now=now,
            lease_seconds=lease,
            forbid_overlap=True,
        )
    )
    assert result.run is not None
    return result.run


def fakes(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "source": FakeSource(),
        "builder": FakeBuilder(),
        "gate": FakeGate(),
        "deployer": FakeDeployer(),
        "notifier": FakeNotifier(),
    }
    base.update(changes)
    return base


def run(store, config, automation=None, environ=None, stop=None, lease=60.0, **changes):
    automation = automation or make_automation()
    record = claim(store, automation)
    steps = fakes(**changes)
    settings = RunnerSettings(
        owner=OWNER, lease_seconds=lease, stop=stop or Stop(), environ=environ or {},
        steps=steps_for(config, **steps),
    )  # fmt: skip
    outcome = runner.execute(record, automation, config, store, settings)
    return outcome, steps


def step_table(store: StateStore, run_id: str) -> list[tuple[str, str]]:
    return [(s.name, s.status.value) for s in store.steps(run_id)]


def test_success_records_every_step(store, config) -> None:
    outcome, steps = run(store, config)
    assert outcome.status is RunStatus.SUCCEEDED
    assert outcome.ok
    assert step_table(store, outcome.run_id) == [
        ("source", "ok"), ("build", "ok"), ("condition", "ok"), ("deploy", "ok"), ("notify", "ok"),
    ]  # fmt: skip
    recorded = store.run(outcome.run_id)
    assert recorded is not None
    assert recorded.status is RunStatus.SUCCEEDED
    assert recorded.ended_at is not None
    reasons = {s.name: s.reason for s in store.steps(outcome.run_id)}
    assert reasons["condition"] == "deploy: f1 0.8 > 0.65"
    assert reasons["deploy"] == "serving on dev/default at http://127.0.0.1:9"
    assert steps["notifier"].events == ["start", "success"]
    assert steps["deployer"].envs == ["dev"]


def test_gate_no_is_not_deployed(store, config) -> None:
    outcome, steps = run(store, config, gate=FakeGate(deploy=False))
    assert outcome.status is RunStatus.NOT_DEPLOYED
    assert outcome.ok
    table = step_table(store, outcome.run_id)
    assert ("deploy", "skipped") in table
    assert steps["notifier"].events == ["start", "not_deployed"]
    assert steps["deployer"].envs == []


def test_failed_build_fails_the_run_with_the_step_and_reason(store, config) -> None:
    outcome, steps = run(store, config, builder=FakeBuilder(fail=BuildError("pip: no numpy==9")))
    assert outcome.status is RunStatus.FAILED
    assert outcome.error == "step build: pip: no numpy==9"
    recorded = store.run(outcome.run_id)
    assert recorded is not None
    assert recorded.error == "step build: pip: no numpy==9"
    build = next(s for s in store.steps(outcome.run_id) if s.name == "build")
    assert build.status is StepStatus.FAILED
    assert build.reason == "pip: no numpy==9"
    assert [s.name for s in store.steps(outcome.run_id)] == ["source", "build", "notify"]
    assert steps["notifier"].events == ["start", "error"]


def test_unexpected_exception_is_recorded_with_its_type(store, config) -> None:
    outcome, _ = run(store, config, builder=FakeBuilder(fail=ZeroDivisionError("division by zero")))
    assert outcome.error == "step build: ZeroDivisionError: division by zero"
    build = next(s for s in store.steps(outcome.run_id) if s.name == "build")
    assert build.detail["exception"] == "ZeroDivisionError"


def test_deploy_failure(store, config) -> None:
    outcome, _ = run(store, config, deployer=FakeDeployer(fail=True))
    assert outcome.status is RunStatus.FAILED
    assert outcome.error.startswith("step deploy: health check failed")


def test_step_over_its_timeout_fails(store, config) -> None:
    outcome, _ = run(
        store, config, environ={"AUTO_TIMEOUT_BUILD": "0.2"}, builder=FakeBuilder(sleep=2)
    )
    assert outcome.status is RunStatus.FAILED
    assert outcome.error == "step build: timed out after 0.2 s"


def test_notifier_problem_never_fails_the_run(store, config) -> None:
    outcome, _ = run(store, config, notifier=FakeNotifier(fail=True))
    assert outcome.status is RunStatus.SUCCEEDED
    notify = next(s for s in store.steps(outcome.run_id) if s.name == "notify")
    assert "problems" in notify.reason
    assert "RuntimeError: slack is down" in str(notify.detail)


def test_a_plugin_that_fails_to_load_fails_its_step(store, config, tmp_path, monkeypatch) -> None:
    install_plugin(
        tmp_path, monkeypatch, {"qwak_auto.builders": {"broken": "qwak_auto.does_not_exist:Nope"}}
    )
    steps = fakes()
    del steps["builder"]
    automation = make_automation()
    record = claim(store, automation)
    settings = RunnerSettings(
        owner=OWNER, steps=steps_for(replace(config, builder="broken"), **steps)
    )
    outcome = runner.execute(record, automation, config, store, settings)
    assert outcome.status is RunStatus.FAILED
    assert outcome.error.startswith(
        "step build: builder 'broken' (from auto-test-plugins 0.1) failed to load: "
        "ModuleNotFoundError"
    )
    assert [s.name for s in store.steps(outcome.run_id)] == ["source", "build", "notify"]


def test_a_plugin_builder_is_used_by_name(store, config, tmp_path, monkeypatch) -> None:
    install_plugin(
        tmp_path,
        monkeypatch,
        {"qwak_auto.builders": {"fake": "tests.unit.test_runner_pipeline:FakeBuilder"}},
    )
    (tmp_path / "auto.yaml").write_text("builder: fake\n")
    chosen = load_config((), env={"AUTO_HOME": str(tmp_path / ".auto")}, cwd=tmp_path)
    steps = fakes()
    del steps["builder"]
    automation = make_automation()
    record = claim(store, automation)
    settings = RunnerSettings(owner=OWNER, steps=steps_for(chosen, **steps))
    outcome = runner.execute(record, automation, chosen, store, settings)
    assert outcome.status is RunStatus.SUCCEEDED


def test_a_plugin_without_the_interface_fails_its_step(
    store, config, tmp_path, monkeypatch
) -> None:
    install_plugin(tmp_path, monkeypatch, {"qwak_auto.builders": {"odd": "builtins:object"}})
    steps = fakes()
    del steps["builder"]
    automation = make_automation()
    record = claim(store, automation)
    settings = RunnerSettings(owner=OWNER, steps=steps_for(replace(config, builder="odd"), **steps))
    outcome = runner.execute(record, automation, config, store, settings)
    assert outcome.error == "step build: builder 'odd' does not have the Builder interface"


def test_secrets_are_redacted_in_reasons(store, config) -> None:
    redact.register("s3cr3t-token-value")
    outcome, _ = run(
        store, config, builder=FakeBuilder(fail=BuildError("clone failed: s3cr3t-token-value"))
    )
    assert "s3cr3t" not in outcome.error
    build = next(s for s in store.steps(outcome.run_id) if s.name == "build")
    assert build.reason == "clone failed: ***"


def test_every_environment_is_deployed(store, config) -> None:
    automation = make_automation(
        action={
            "build_deploy": {
                "build_spec": {"git_uri": "https://example.com/r.git"},
                "deployment_spec": {"environments": ["staging", "prod"]},
            }
        }
    )
    outcome, steps = run(store, config, automation=automation)
    assert outcome.status is RunStatus.SUCCEEDED
    assert steps["deployer"].envs == ["staging", "prod"]


def test_stop_after_current_step(store, config) -> None:
    stop = Stop()

    class StoppingSource(FakeSource):
        def fetch(self, spec, ctx):
            stop.request("SIGTERM")
            return FakeSource.fetch(self, spec, ctx)

    outcome, _ = run(store, config, stop=stop, source=StoppingSource())
    assert outcome.status is RunStatus.INTERRUPTED
    assert outcome.error == "step source: stopped after this step (SIGTERM)"
    assert [s.name for s in store.steps(outcome.run_id)] == ["source", "notify"]


def test_second_stop_interrupts_the_running_step(store, config) -> None:
    stop = Stop()

    def signals() -> None:
        time.sleep(0.3)
        stop.request("SIGTERM")
        stop.request("SIGTERM")

    threading.Thread(target=signals, daemon=True).start()
    outcome, _ = run(store, config, stop=stop, builder=FakeBuilder(sleep=3))
    assert outcome.status is RunStatus.INTERRUPTED
    build = next(s for s in store.steps(outcome.run_id) if s.name == "build")
    assert build.status is StepStatus.INTERRUPTED


def test_heartbeat_renews_the_lease(store, config) -> None:
    seen: list[Any] = []

    class SlowBuilder(FakeBuilder):
        def build(self, checkout, ctx):
            time.sleep(1.2)  # twice the lease: only heart beats keep the run alive
            seen.extend(ctx.store.abandon_expired(datetime.now(UTC)))
            return FakeBuilder.build(self, checkout, ctx)

    outcome, _ = run(store, config, lease=0.6, builder=SlowBuilder())
    assert seen == []
    assert outcome.status is RunStatus.SUCCEEDED
