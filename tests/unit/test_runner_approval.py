"""The runner with `requires_approval` (issue 16): fake steps, a real SQLite store in tmp_path.
The run stops after its gate, holding nothing; approving continues it at its deploy step."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qwak_auto.automation.model import Automation
from qwak_auto.config import Config, load_config
from qwak_auto.errors import AutoError, UsageError
from qwak_auto.run import runner
from qwak_auto.run.control import Stop
from qwak_auto.run.setup import RunnerSettings, steps_for
from qwak_auto.schedule import approvals
from qwak_auto.schedule.automation_set import load_set, register
from qwak_auto.state import open_store
from qwak_auto.state.base import ApprovalState, RunStatus, StateStore
from tests.unit.test_runner_pipeline import (
    OWNER,
    FakeDeployer,
    FakeGate,
    FakeNotifier,
    claim,
    fakes,
    make_automation,
    step_table,
)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config((), env={"AUTO_HOME": str(tmp_path / ".auto")}, cwd=tmp_path)


@pytest.fixture
def store(config: Config) -> Iterator[StateStore]:
    s = open_store(config)
    yield s
    s.close()


def settings_for(config: Config, steps: dict[str, Any], owner: str = OWNER) -> RunnerSettings:
    return RunnerSettings(owner=owner, stop=Stop(), steps=steps_for(config, **steps))


YAML = """name: churn
model_id: churn
trigger: {scheduled: {cron: "0 2 * * *"}}
action:
  build_deploy:
    build_spec: {git_uri: "https://example.com/r.git"}
    requires_approval: true
    approval_timeout: 8h
"""


def gated(config: Config, tmp_path: Path) -> Automation:
    """The automation, loaded from its file (`auto approve` reads it there too)."""
    path = tmp_path / "churn.yaml"
    path.write_text(YAML)
    (automation,), problems = load_set((path,), config)
    assert problems == ()
    return automation


def wait(store: StateStore, config: Config, tmp_path: Path, **changes: Any) -> tuple[Any, Any]:
    """A gated run that reached approval."""
    automation = gated(config, tmp_path)
    record = claim(store, automation)
    register(store, [automation], record.started_at)
    steps = fakes(**changes)
    outcome = runner.execute(record, automation, config, store, settings_for(config, steps))
    return outcome, steps


def test_a_passed_gate_waits_and_holds_nothing(store, config, tmp_path) -> None:
    outcome, steps = wait(store, config, tmp_path)
    assert outcome.status is RunStatus.AWAITING_APPROVAL
    assert outcome.ok  # not a failure: `auto run --once` exits 0
    assert step_table(store, outcome.run_id) == [
        ("source", "ok"), ("build", "ok"), ("condition", "ok"), ("approval", "waiting"),
        ("notify", "ok"),
    ]  # fmt: skip
    assert steps["notifier"].events == ["start", "approval_needed"]
    assert steps["deployer"].envs == []
    run = store.run(outcome.run_id)
    assert run is not None
    assert run.status is RunStatus.AWAITING_APPROVAL
    assert run.lease_expires_at is None
    assert outcome.summary.waits_until is not None
    (approval,) = store.approvals("churn")
    assert approval.state is ApprovalState.WAITING
    assert (approval.expires_at - approval.requested_at).total_seconds() == 8 * 3600
    assert approval.detail["build"]["build_id"] == "b-1"
    assert approval.detail["decision"]["reason"] == "f1 0.8 > 0.65"
    assert approval.detail["targets"] == [
        {"environment": "dev", "deployer": "local", "variation": "default"}
    ]


def test_a_gate_that_says_no_never_asks(store, config, tmp_path) -> None:
    outcome, steps = wait(store, config, tmp_path, gate=FakeGate(deploy=False))
    assert outcome.status is RunStatus.NOT_DEPLOYED
    assert store.approvals("churn") == ()
    assert steps["notifier"].events == ["start", "not_deployed"]


def test_approve_continues_at_the_deploy_step(store, config, tmp_path) -> None:
    outcome, _ = wait(store, config, tmp_path)
    deployer, notifier = FakeDeployer(), FakeNotifier()
    settings = settings_for(
        config, fakes(deployer=deployer, notifier=notifier), owner="approver:1:x"
    )
    decision = approvals.approve(
        outcome.run_id[:8], config, store, settings, by="alice", comment="ship it"
    )
    assert decision.outcome is not None
    assert decision.outcome.status is RunStatus.SUCCEEDED
    assert (decision.by, decision.comment, decision.later) == ("alice", "ship it", False)
    assert decision.would_deploy == "build b-1 (commit c0ffeec0ffee) to dev/default"
    assert deployer.envs == ["dev"]
    assert notifier.events == ["success"]  # no second "start"
    assert step_table(store, outcome.run_id)[3:] == [
        ("approval", "ok"), ("notify", "ok"), ("deploy", "ok"), ("notify", "ok"),
    ]  # fmt: skip
    with pytest.raises(AutoError, match="continued by approver:1:x; the run is succeeded"):
        approvals.approve(outcome.run_id, config, store, settings)


def test_approve_later_then_one_tick_deploys(store, config, tmp_path) -> None:
    outcome, _ = wait(store, config, tmp_path)
    settings = settings_for(config, fakes())
    later = approvals.approve(outcome.run_id, config, store, settings, by="alice", later=True)
    assert later.later
    assert later.outcome is None
    first, second = FakeDeployer(), FakeDeployer()
    automation = gated(config, tmp_path)
    ran, expired = approvals.on_tick(
        store, [automation], config, settings_for(config, fakes(deployer=first), "r1")
    )
    assert [r.status for r in ran] == [RunStatus.SUCCEEDED]
    assert expired == []
    again, _ = approvals.on_tick(
        store, [automation], config, settings_for(config, fakes(deployer=second), "r2")
    )
    assert again == []
    assert (first.envs, second.envs) == (["dev"], [])


def test_reject_and_the_refusals(store, config, tmp_path) -> None:
    outcome, _ = wait(store, config, tmp_path)
    notifier = FakeNotifier()
    settings = settings_for(config, fakes(notifier=notifier))
    decision = approvals.reject(outcome.run_id, config, store, settings, by="bob", comment="no")
    assert decision.verdict == "rejected"
    assert notifier.events == ["not_deployed"]
    run = store.run(outcome.run_id)
    assert run is not None
    assert (run.status, run.error) == (RunStatus.REJECTED, "rejected by bob: no")
    with pytest.raises(AutoError, match="it was rejected by bob \\(no\\)") as info:
        approvals.approve(outcome.run_id, config, store, settings)
    assert info.value.exit_code == 1
    with pytest.raises(UsageError, match="no run 'nope' is recorded") as unknown:
        approvals.reject("nope", config, store, settings)
    assert unknown.value.exit_code == 2


def test_a_run_that_never_waited_is_refused_with_its_status(store, config) -> None:
    outcome, _ = runner.execute(
        claim(store, make_automation()), make_automation(), config, store,
        settings_for(config, fakes()),
    ), None  # fmt: skip
    with pytest.raises(AutoError, match="it is succeeded, not awaiting approval"):
        approvals.approve(outcome.run_id, config, store, settings_for(config, fakes()))


class SlowNotifier(FakeNotifier):
    def notify(self, event: str, summary: Any, ctx: Any) -> dict[str, Any]:
        if event == "approval_needed":
            import time

            time.sleep(0.6)  # several heartbeat periods
        return super().notify(event, summary, ctx)


def test_a_waiting_run_stops_its_heartbeat(
    store, config, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    automation = gated(config, tmp_path)
    record = claim(store, automation, lease=0.3)
    register(store, [automation], record.started_at)
    settings = RunnerSettings(
        owner=OWNER, lease_seconds=0.3, stop=Stop(),
        steps=steps_for(config, **fakes(notifier=SlowNotifier())),
    )  # fmt: skip
    outcome = runner.execute(record, automation, config, store, settings)
    assert outcome.status is RunStatus.AWAITING_APPROVAL
    assert "lease lost" not in capsys.readouterr().err


def test_deciding_past_the_deadline_expires_and_tells(store, config, tmp_path) -> None:
    path = tmp_path / "churn.yaml"
    path.write_text(YAML.replace("approval_timeout: 8h", "approval_timeout: 1s"))
    (automation,), _ = load_set((path,), config)
    record = claim(store, automation)
    register(store, [automation], record.started_at)
    outcome = runner.execute(record, automation, config, store, settings_for(config, fakes()))
    import time

    time.sleep(1.2)
    notifier = FakeNotifier()
    with pytest.raises(AutoError, match=r"it expired at .* without an approval") as info:
        approvals.reject(
            outcome.run_id, config, store, settings_for(config, fakes(notifier=notifier))
        )
    assert info.value.exit_code == 1
    assert notifier.events == ["not_deployed"]  # the expiry is told once, by whoever saw it
    run = store.run(outcome.run_id)
    assert run is not None
    assert run.status is RunStatus.EXPIRED
    ran, expired = approvals.on_tick(store, [automation], config, settings_for(config, fakes()))
    assert (ran, expired) == ([], [])
