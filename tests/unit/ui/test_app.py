"""The dashboard's WSGI app, called directly on a real SQLite store in tmp_path (no server):
routes, links between run, build and deployment, 404s, headers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from qwak_auto.config import Config, load_config
from qwak_auto.state import open_store
from qwak_auto.state.base import BuildRecord, ClaimRequest, DeploymentRecord, RunStatus, StepStatus
from qwak_auto.ui.app import Dashboard

T0 = datetime(2026, 7, 1, 1, 0, tzinfo=UTC)
AUTOMATION = """\
name: nightly
model_id: m
trigger: {scheduled: {cron: "0 3 * * *", timezone: Asia/Tokyo}}
action:
  build_deploy:
    build_spec: {git_uri: "https://example.com/r.git"}
    deployment_condition: {build_metric: {metric_name: f1, direction: ABOVE, threshold: "0.5"}}
"""


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config((), env={"AUTO_HOME": str(tmp_path / ".auto")}, cwd=tmp_path)


@pytest.fixture
def run_id(config: Config, tmp_path: Path) -> str:
    store = open_store(config)
    store.upsert_automation(
        name="nightly", model_id="m", spec_hash="h", file="f", enabled=True, now=T0
    )
    claim = store.claim(
        ClaimRequest(
            automation="nightly",
            run_key="nightly@x",
            trigger_reason="schedule",
            scheduled_for=T0,
            owner="o",
            now=T0,
            lease_seconds=60,
            forbid_overlap=True,
        )
    )
    assert claim.run is not None
    rid = claim.run.run_id
    store.start_step(rid, "build", T0)
    store.finish_step(rid, "build", StepStatus.OK, "built b1", {"build_id": "b1"}, T0)
    log = tmp_path / "build.log"
    log.write_text("==> build() of Model\nmetric f1 = 0.9\n")
    store.save_build(
        BuildRecord(
            build_id="b1", model_id="m", automation="nightly", run_id=rid, status="succeeded",
            started_at=T0, ended_at=T0 + timedelta(minutes=2), metrics={"f1": 0.9},
            log_path=str(log),
        )
    )  # fmt: skip
    store.save_deployment(
        DeploymentRecord(
            deployment_id="dep-1", model_id="m", build_id="b1", environment="dev",
            variation="default", deployer="local", status="serving", created_at=T0,
            address="http://127.0.0.1:9", automation="nightly", run_id=rid,
            detail={"backend_port": 9},
        )
    )  # fmt: skip
    (config.home / "runs" / rid).mkdir(parents=True)
    (config.home / "runs" / rid / "source.log").write_text("cloned\n")
    store.finish_run(rid, RunStatus.SUCCEEDED, "", T0 + timedelta(minutes=3), owner="o")
    store.close()
    return rid


def call(app: Dashboard, path: str, method: str = "GET") -> tuple[str, dict[str, str], str]:
    seen: dict[str, Any] = {}

    def start(status: str, headers: list[tuple[str, str]]) -> None:
        seen.update(status=status, headers=dict(headers))

    body = b"".join(app({"REQUEST_METHOD": method, "PATH_INFO": path}, start)).decode()
    return seen["status"], seen["headers"], body


@pytest.fixture
def app(config: Config, tmp_path: Path) -> Dashboard:
    folder = tmp_path / "automations"
    folder.mkdir()
    (folder / "nightly.yaml").write_text(AUTOMATION)
    dashboard = Dashboard([folder], config)
    dashboard.sampler.start = lambda: None  # type: ignore[method-assign]  # no thread here
    return dashboard


def test_a_run_links_to_its_build_logs_and_deployment(app: Dashboard, run_id: str) -> None:
    status, _, body = call(app, f"/runs/{run_id}")
    assert status == "200 OK"
    for link in (
        "/builds/b1",
        "/builds/b1/log",
        "/deployments/dep-1",
        f"/runs/{run_id}/logs/source.log",
    ):
        assert f'href="{link}"' in body
    assert "2026-07-01 10:00 JST" in body  # started, in the automation's zone
    assert call(app, f"/runs/{run_id}/logs/source.log")[2] == "cloned\n"
    assert "metric f1 = 0.9" in call(app, "/builds/b1/log")[2]
    build = call(app, "/builds/b1")[2]
    assert f'href="/runs/{run_id}"' in build
    assert 'href="/deployments/dep-1"' in build
    deployment = call(app, "/deployments/dep-1")[2]
    assert 'href="/builds/b1"' in deployment
    assert "waiting for the first sample" in deployment


@pytest.mark.parametrize(
    "path",
    [
        "/runs/nope",
        "/builds/nope",
        "/deployments/nope",
        "/builds/b1/x",
        "/runs/{run}/logs/state.db",
        "/runs/{run}/logs/../../state.db",
        "/nowhere",
    ],
)
def test_what_is_not_there_is_a_404(app: Dashboard, run_id: str, path: str) -> None:
    assert call(app, path.format(run=run_id))[0] == "404 Not Found"


def test_the_page_script_and_its_policy(app: Dashboard, run_id: str) -> None:
    status, headers, body = call(app, "/")
    assert status == "200 OK"
    assert '<script src="/static/dashboard.js" defer></script>' in body
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "connect-src 'self'" in headers["Content-Security-Policy"]
    assert '<tr data-deployment="dep-1">' in body
    script = call(app, "/static/dashboard.js")
    assert script[1]["Content-Type"].startswith("text/javascript")
    assert "/api/traffic.json" in script[2]
    assert call(app, "/", method="POST")[0] == "405 Method Not Allowed"
