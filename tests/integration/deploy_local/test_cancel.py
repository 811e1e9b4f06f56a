"""A step past its timeout is cancelled: its programs stop (those that ignore SIGTERM are
killed), no new program starts, and a late deploy never moves traffic."""

from __future__ import annotations

import time
from pathlib import Path

from qwak_auto import proc
from qwak_auto.automation.model import from_document
from qwak_auto.deploy.local import LocalDeployer, deploy_build
from qwak_auto.deploy.settings import ServeSettings, Target
from qwak_auto.run import runner
from qwak_auto.run.contracts import BuildResult, Checkout
from qwak_auto.run.processes import SCOPE, start_ticks
from qwak_auto.run.setup import RunnerSettings, steps_for
from qwak_auto.state.base import RunStatus
from tests.integration.deploy_local.conftest import World
from tests.integration.serve.artifacts import request
from tests.unit.test_runner_pipeline import FakeGate, FakeNotifier, FakeSource, claim

TARGET = Target(model_id="churn", environment="dev", variation="default")


def _automation(timeout: int = 600):
    return from_document(
        {
            "name": "churn", "model_id": "churn", "trigger": {"none": {}},
            "action": {"build_deploy": {
                "build_spec": {"git_uri": "https://example.invalid/r.git"},
                "deployment_spec": {"number_of_http_server_workers": 1,
                                    "deployment_process_timeout_limit": timeout},
            }},
        }
    )  # fmt: skip


class StubbornBuilder:
    """Starts a program that ignores SIGTERM and waits for it far past the step's timeout."""

    name = "stubborn"

    def __init__(self, pid_file: Path) -> None:
        self.pid_file = pid_file

    def build(self, checkout: Checkout, ctx) -> BuildResult:
        script = f"trap '' TERM; echo $$ > {self.pid_file}; while true; do sleep 0.1; done"
        proc.run(["bash", "-c", script], timeout=300)
        raise AssertionError("not reached")


def test_a_step_that_ignores_the_first_stop_is_killed(world: World, tmp_path: Path) -> None:
    pid_file = tmp_path / "stubborn.pid"
    automation = _automation()
    record = claim(world.store, automation)
    settings = RunnerSettings(
        owner="t:1:x", environ={"AUTO_TIMEOUT_BUILD": "2"},
        steps=steps_for(world.config, source=FakeSource(), builder=StubbornBuilder(pid_file),
                        gate=FakeGate(), notifier=FakeNotifier()),
    )  # fmt: skip
    started = time.monotonic()
    outcome = runner.execute(record, automation, world.config, world.store, settings)
    assert outcome.status is RunStatus.FAILED
    assert outcome.error == "step build: timed out after 2 s"
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 20
    while start_ticks(pid) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert start_ticks(pid) is None, "the program that ignored SIGTERM was killed"
    assert time.monotonic() - started < 30
    assert world.store.values(SCOPE) == {}


def test_a_timed_out_deploy_never_takes_traffic(world: World) -> None:
    first = deploy_build(
        world.build("A"), TARGET, ServeSettings(workers=1, ready_timeout=60),
        store=world.store, config=world.config, environ={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    port = int(first.address.rsplit(":", 1)[1])

    class SlowBuild:
        name = "fake"

        def build(self, checkout: Checkout, ctx) -> BuildResult:
            return world.build("slow")  # its server takes 30 s to become ready

    automation = _automation(timeout=60)
    record = claim(world.store, automation)
    settings = RunnerSettings(
        owner="t:1:x", environ={"AUTO_TIMEOUT_DEPLOY": "3"},
        steps=steps_for(world.config, source=FakeSource(), builder=SlowBuild(), gate=FakeGate(),
                        deployer=LocalDeployer(), notifier=FakeNotifier()),
    )  # fmt: skip
    outcome = runner.execute(record, automation, world.config, world.store, settings)
    assert outcome.status is RunStatus.FAILED
    assert outcome.error == "step deploy: timed out after 3 s"
    time.sleep(35)  # past the time the slow server would have become ready
    status, body = request(port, "POST", "/v1/churn/predict", [{"x": 1}])
    assert (status, body[0]["build"]) == (200, "A")
    serving = world.store.serving("churn", "dev", "default")
    assert serving is not None
    assert serving.build_id == "build-A"
    slow = next(d for d in world.store.deployments("churn") if d.build_id == "build-slow")
    assert slow.status == "failed"
    assert world.store.values(SCOPE) == {}
