"""A deployer for runner processes in these tests that starts nothing: it records the
deployment as serving. The runs it ends are real otherwise (git source, local builder with
its cached environment and harness, gate, notifier); 25 model servers at once would measure
the machine, not the runner. Plugged in as a real plugin distribution is (tests/plugins.py)
and chosen by the project config (:data:`PROJECT`)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from qwak_auto.run.contracts import BuildResult, Checkout, DeployOutcome


class RecordingDeployer:
    name = "recording"

    def deploy(self, build: BuildResult, environment: Any, ctx: Any) -> DeployOutcome:
        from qwak_auto.state.base import DeploymentRecord

        ctx.store.save_deployment(
            DeploymentRecord(
                deployment_id=build.build_id, model_id=build.model_id, build_id=build.build_id,
                environment=environment.name, variation="default", deployer=self.name,
                status="serving", created_at=ctx.started_at, address="http://127.0.0.1:9",
                automation=ctx.automation.name, run_id=ctx.run_id,
            )
        )  # fmt: skip
        return DeployOutcome(
            environment=environment.name, variation="default", deployment_id=build.build_id,
            address="http://127.0.0.1:9", status="serving",
        )  # fmt: skip


class SleepyBuilder:
    """Touches ``$SLEEPY_STARTED`` and sleeps: a build a test can kill the runner in."""

    name = "sleepy"

    def build(self, checkout: Checkout, ctx: Any) -> BuildResult:
        Path(os.environ["SLEEPY_STARTED"]).touch()
        time.sleep(120)
        raise AssertionError("the runner should have been killed by now")


PLUGIN = {
    "qwak_auto.deployers": {"recording": f"{__name__}:RecordingDeployer"},
    "qwak_auto.builders": {"sleepy": f"{__name__}:SleepyBuilder"},
}
PROJECT = "builder: local\nenvironments:\n  dev: {deployer: recording}\n"
