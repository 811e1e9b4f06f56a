"""A fake builder and deployer for runner processes in tests, plugged in as a real plugin
distribution would be (entry points: tests/plugins.py) and chosen by the project config
(:data:`PROJECT`); the source (git, on a local repository), the gate and the notifier are the
real ones. Every build appends ``start``/``done`` lines to ``$FAKE_STEPS_LOG`` (O_APPEND, one
short write per line), and every deploy a ``deploy`` line, so a test can count executions
independently of the state store.
``FAKE_BUILD_SECONDS`` sets the build time (default: a random 50-100 ms)."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path
from typing import Any

import pytest

from qwak_auto.run.contracts import BuildResult, Checkout, DeployOutcome
from tests.plugins import install_plugin


def _log(line: str) -> None:
    path = os.environ.get("FAKE_STEPS_LOG")
    if not path:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


class Builder:
    name = "fake"

    def build(self, checkout: Checkout, ctx: Any) -> BuildResult:
        _log(f"start {ctx.automation.name} {ctx.run_id} {os.getpid()}")
        raw = os.environ.get("FAKE_BUILD_SECONDS")
        time.sleep(float(raw) if raw else random.uniform(0.05, 0.1))
        _log(f"done {ctx.automation.name} {ctx.run_id} {os.getpid()}")
        return BuildResult(
            build_id=f"b-{ctx.run_id[:8]}", model_id=ctx.automation.model_id,
            commit=checkout.commit, builder="fake", artifact_dir=ctx.log_dir, metrics={},
            params={}, log_path=ctx.log_dir / "build.log",
        )  # fmt: skip


class Deployer:
    name = "fake"

    def deploy(self, build: BuildResult, environment: Any, ctx: Any) -> DeployOutcome:
        from qwak_auto.state.base import DeploymentRecord

        _log(f"deploy {ctx.automation.name} {ctx.run_id} {os.getpid()} {build.build_id}")
        ctx.store.save_deployment(
            DeploymentRecord(
                deployment_id=build.build_id, model_id=build.model_id, build_id=build.build_id,
                environment=environment.name, variation="default", deployer="fake",
                status="serving", created_at=ctx.started_at, address="http://127.0.0.1:9",
                automation=ctx.automation.name, run_id=ctx.run_id,
            )
        )  # fmt: skip
        return DeployOutcome(
            environment=environment.name, variation="default", deployment_id=build.build_id,
            address="http://127.0.0.1:9", status="serving",
        )  # fmt: skip


class ChattyBuilder:
    """Echoes build lines like a real builder (through the shared build output) until
    ``$FAKE_CHATTY_FLAG`` exists (the test closed its end of the pipe), then 200 more, so the
    later lines are written to a pipe nobody reads."""

    name = "fake"

    def build(self, checkout: Checkout, ctx: Any) -> BuildResult:
        from qwak_auto.builders.common import recorded_build

        flag = Path(os.environ["FAKE_CHATTY_FLAG"])

        def work(out: Any) -> BuildResult:
            deadline = time.monotonic() + 60
            while not flag.exists() and time.monotonic() < deadline:
                out.line("==> still building")
                time.sleep(0.05)
            for i in range(200):
                out.line(f"line {i} after the reader went away")
            return Builder().build(checkout, ctx)

        return recorded_build(
            builder="fake", checkout=checkout, ctx=ctx, echo=True,
            start=lambda _build_id, _recorder: (work, lambda: None),
        )  # fmt: skip


PLUGIN = {
    "qwak_auto.builders": {"fake": f"{__name__}:Builder", "chatty": f"{__name__}:ChattyBuilder"},
    "qwak_auto.deployers": {"fake": f"{__name__}:Deployer"},
}
# The project config that chooses them (auto.yaml beside the automations or in the cwd).
PROJECT = "builder: fake\nenvironments:\n  dev: {deployer: fake}\n"


def use_fake_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In this process: the plugin installed, ``tmp_path/auto.yaml`` choosing it."""
    install_plugin(tmp_path, monkeypatch, PLUGIN)
    (tmp_path / "auto.yaml").write_text(PROJECT)
