"""Approval with the real local deployer (issue 16): while a run waits for approval the
model that served before keeps answering every request; `auto approve` swaps the new build
in under load without dropping one. Real Caddy, real gunicorn, requests on 127.0.0.1."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qwak_auto.deploy.local import deploy_build
from qwak_auto.deploy.settings import ServeSettings, Target
from qwak_auto.run.contracts import BuildResult, Checkout
from qwak_auto.run.control import Stop
from qwak_auto.run.runner import execute
from qwak_auto.run.setup import RunnerSettings, steps_for
from qwak_auto.schedule import approvals
from qwak_auto.schedule.automation_set import load_set, register
from qwak_auto.state.base import ClaimRequest, RunStatus
from tests.integration.deploy_local.conftest import Load, World

TARGET = Target(model_id="churn", environment="dev", variation="default")
ENV = {"PATH": "/usr/bin:/bin"}
YAML = """name: churn
model_id: churn
trigger: {none: {}}
action:
  build_deploy:
    build_spec: {git_uri: "https://example.com/churn.git"}
    requires_approval: true
    deployment_spec:
      number_of_http_server_workers: 1
      deployment_process_timeout_limit: 60
"""


class Source:
    def fetch(self, spec: Any, ctx: Any) -> Checkout:
        root = ctx.log_dir / "src"
        return Checkout(
            repo_url=spec.repo_url, branch="main", commit="b" * 40, root=root,
            project_dir=root, main_dir=root / "main",
        )  # fmt: skip


class Builder:
    """Hands over build B (made once for the session by the conftest)."""

    name = "local"

    def __init__(self, build: BuildResult) -> None:
        self.result = build

    def build(self, checkout: Checkout, ctx: Any) -> BuildResult:
        return self.result


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def test_previous_model_answers_until_the_approved_swap(world: World, tmp_path: Path) -> None:
    first = deploy_build(
        world.build("A"), TARGET, ServeSettings(workers=1, ready_timeout=60),
        store=world.store, config=world.config, environ=ENV,
    )  # fmt: skip
    port = _port(first.address)
    path = tmp_path / "churn.yaml"
    path.write_text(YAML)
    (automation,), problems = load_set((path,), world.config)
    assert problems == ()
    now = datetime.now(UTC)
    register(world.store, [automation], now)
    steps = steps_for(world.config, source=Source(), builder=Builder(world.build("B")))

    def settings(owner: str) -> RunnerSettings:
        return RunnerSettings(owner=owner, stop=Stop(), environ=ENV, steps=steps)

    claim = world.store.claim(
        ClaimRequest(
            automation="churn",
            run_key="churn@manual:1",
            trigger_reason="manual",
            scheduled_for=None,
            owner="runner-1",
            now=now,
            lease_seconds=60,
            forbid_overlap=True,
        )
    )
    assert claim.run is not None
    with Load(port) as waiting:
        time.sleep(0.5)
        outcome = execute(claim.run, automation, world.config, world.store, settings("runner-1"))
        assert outcome.status is RunStatus.AWAITING_APPROVAL
        # Runners tick while it waits: nothing happens to it, A keeps answering.
        for i in range(4):
            ran, expired = approvals.on_tick(
                world.store, [automation], world.config, settings(f"ticker-{i}")
            )
            assert (ran, expired) == ([], [])
        time.sleep(1.0)
    assert waiting.failures == []
    assert len(waiting.results) > 20
    assert set(waiting.builds()) == {"A"}
    serving = world.store.serving("churn", "dev", "default")
    assert serving is not None
    assert serving.build_id == "build-A"

    with Load(port) as swap:
        time.sleep(0.5)
        decision = approvals.approve(
            outcome.run_id, world.config, world.store, settings("approver"), by="alice"
        )
        time.sleep(0.5)
    assert decision.outcome is not None
    assert decision.outcome.status is RunStatus.SUCCEEDED, decision.outcome.error
    assert swap.failures == []
    builds = swap.builds()
    assert builds[0] == "A"
    assert builds[-1] == "B"
    assert "A" not in builds[builds.index("B") :]  # one swap, no flapping back
    serving = world.store.serving("churn", "dev", "default")
    assert serving is not None
    assert (serving.build_id, serving.run_id) == ("build-B", outcome.run_id)
    retired = next(d for d in world.store.deployments("churn") if d.build_id == "build-A")
    assert retired.status == "retired"
    run = world.store.run(outcome.run_id)
    assert run is not None
    assert run.status is RunStatus.SUCCEEDED
