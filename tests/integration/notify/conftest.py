"""Notification tests talk to a real HTTP server on 127.0.0.1 (pytest-httpserver)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from qwak_auto.automation.model import Automation, BuildDeploy, BuildSpec, NoneTrigger
from qwak_auto.config import load_config
from qwak_auto.run.contracts import Decision, RunContext, RunSummary
from qwak_auto.secrets.registry import resolver

START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    return ("127.0.0.1", 0)


def make_summary(**changes: Any) -> RunSummary:
    base = RunSummary(
        run_id="run-42",
        automation="churn-retrain",
        model_id="churn",
        status="succeeded",
        trigger_reason="schedule",
        started_at=START,
        ended_at=START + timedelta(seconds=75),
        build_id="b-123",
        commit="0123456789abcdef",
        decision=Decision(
            deploy=True, reason="f1 0.71 > 0.65", metric_name="f1", value=0.71, threshold=0.65
        ),
    )
    return replace(base, **changes)


def make_ctx(tmp_path: Path, environ: dict[str, str], **notifications: Any) -> RunContext:
    config = load_config(env={"AUTO_HOME": str(tmp_path / ".auto")}, cwd=tmp_path)
    automation = Automation(
        name="churn-retrain",
        model_id="churn",
        trigger=NoneTrigger(),
        action=BuildDeploy(build_spec=BuildSpec(git_uri="https://example.invalid/r.git")),
        **notifications,
    )
    return RunContext(
        run_id="run-42",
        automation=automation,
        config=config,
        store=cast(Any, None),
        secrets=resolver(config, environ),
        trigger_reason="schedule",
        started_at=START,
        log_dir=tmp_path,
        environ=environ,
    )
