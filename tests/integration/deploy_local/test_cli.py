"""`auto deploy / rollback / undeploy` as a user types them, and the runner's deploy step."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from qwak_auto.automation.deployment import DeploymentSpec
from qwak_auto.automation.model import Automation, BuildDeploy, BuildSpec, NoneTrigger
from qwak_auto.cli import main
from qwak_auto.config import load_config
from qwak_auto.deploy import processes
from qwak_auto.deploy.local import LocalDeployer
from qwak_auto.run.contracts import RunContext
from qwak_auto.state import open_store
from qwak_auto.state.base import BuildRecord
from tests.integration.deploy_local.conftest import World
from tests.integration.serve.artifacts import request

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def _record_builds(python: Path, artifacts: dict[str, Path]) -> None:
    store = open_store(load_config(env=dict(os.environ)))
    try:
        for name in ("A", "B"):
            store.save_build(
                BuildRecord(
                    build_id=f"build-{name}",
                    model_id="churn",
                    automation="",
                    run_id="",
                    status="succeeded",
                    started_at=NOW,
                    ended_at=NOW,
                    artifact=str(artifacts[name]),
                    provenance={"python": str(python)},
                )
            )
    finally:
        store.close()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_deploy_rollback_undeploy_commands(
    build_python: Path, artifacts: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _record_builds(build_python, artifacts)
    code, out, err = _run(capsys, "deploy", "build-A", "--format", "json", "--max-batch-size", "5")
    assert code == 0, err
    first = json.loads(out)
    port = int(first["address"].rsplit(":", 1)[1])
    try:
        assert request(port, "POST", "/predict", [{"x": 1}] * 5)[1][0]["build"] == "A"
        assert request(port, "POST", "/predict", [{"x": 1}] * 6)[0] == 413
        code, out, err = _run(capsys, "deploy", "build-B")
        assert code == 0, err
        assert f"serving at {first['address']}" in out
        assert request(port, "POST", "/predict", [{"x": 1}] * 5)[1][0]["build"] == "B"  # kept
        code, out, err = _run(capsys, "rollback", "churn")
        assert code == 0, err
        assert out.startswith("rolled back:")
        assert request(port, "POST", "/predict", {"x": 1})[1][0]["build"] == "A"
        code, out, err = _run(capsys, "deploy", "no-such-build")
        assert code == 1
        assert "no build 'no-such-build' is recorded" in err
    finally:
        code, out, err = _run(capsys, "undeploy", "churn")
    assert code == 0, err
    assert out.startswith("undeployed:")
    assert not processes.port_open(port)
    code, out, err = _run(capsys, "rollback", "nothing-here")
    assert code == 1
    assert "nothing to roll back to" in err


def test_runner_deploy_step(world: World, tmp_path: Path) -> None:
    spec = DeploymentSpec(
        number_of_http_server_workers=1, max_batch_size=2, env_vars=("MODEL_FLAVOUR=runner",),
        deployment_process_timeout_limit=60, variation_name="blue",
    )  # fmt: skip
    automation = Automation(
        name="retrain-churn",
        model_id="churn",
        trigger=NoneTrigger(),
        action=BuildDeploy(
            build_spec=BuildSpec(git_uri="https://example.invalid/r.git"), deployment_spec=spec
        ),
    )
    ctx = RunContext(
        run_id="run-1",
        automation=automation,
        config=world.config,
        store=world.store,
        secrets=lambda name: name,
        trigger_reason="manual",
        started_at=NOW,
        log_dir=tmp_path,
        environ={"PATH": os.environ.get("PATH", "")},
    )
    outcome = LocalDeployer().deploy(world.build("A"), world.config.environment(""), ctx)
    assert (outcome.status, outcome.variation, outcome.environment) == ("serving", "blue", "dev")
    port = int(outcome.address.rsplit(":", 1)[1])
    status, body = request(port, "POST", "/v1/churn/blue/predict", [{"x": 3}])
    assert (status, body[0]["env"], body[0]["score"]) == (200, "runner", 6.0)
    record = world.store.serving("churn", "dev", "blue")
    assert record is not None
    assert (record.automation, record.run_id) == ("retrain-churn", "run-1")

    # the prediction log reaches the analytics store (the gate helper's loader)
    import duckdb

    from qwak_auto.analytics.ingest import ingest_segments
    from qwak_auto.analytics.store import store_path
    from qwak_auto.deploy.local import undeploy
    from qwak_auto.deploy.settings import Target
    from qwak_auto.run.sink import AnalyticsSink

    undeploy(world.store, Target(model_id="churn", environment="dev", variation="blue"))
    AnalyticsSink(world.config).deployments(world.store, "churn")  # as the run's deploy step does
    assert ingest_segments(world.config) == 1
    with duckdb.connect(str(store_path(world.config)), read_only=True) as conn:
        row = conn.execute(
            "SELECT count(*), avg(score), any_value(build_id) FROM predictions "
            "WHERE model_id = 'churn' AND variation = 'blue'"
        ).fetchone()
        deployed = conn.execute(
            "SELECT count(*) FROM deployments WHERE build_id = 'build-A' AND retired_at IS NOT NULL"
        ).fetchone()
    assert row == (1, 6.0, "build-A")
    assert deployed == (1,)


def test_servers_outlive_the_auto_process(
    build_python: Path, artifacts: dict[str, Path], tmp_path: Path
) -> None:
    """`auto deploy` exits; its proxy and model server keep serving (new session)."""
    import subprocess
    import sys

    _record_builds(build_python, artifacts)
    auto = str(Path(sys.executable).with_name("auto"))
    done = subprocess.run(
        [auto, "deploy", "build-B", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    port = int(json.loads(done.stdout)["address"].rsplit(":", 1)[1])
    try:
        assert request(port, "POST", "/predict", {"x": 1})[1][0]["build"] == "B"
    finally:
        stopped = subprocess.run(
            [auto, "undeploy", "churn"], capture_output=True, text=True, timeout=120, cwd=tmp_path
        )
    assert stopped.returncode == 0, stopped.stderr
    assert not processes.port_open(port)
