"""`auto ui` served by gunicorn on 127.0.0.1, looked at by headless Chromium (Debian's package):
a screenshot kept in the test artifacts and assertions on the rendered DOM."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from qwak_auto.config import load_config
from qwak_auto.state import open_store
from qwak_auto.state.base import BuildRecord, ClaimRequest, DeploymentRecord, RunStatus, StepStatus

AUTOMATION = """\
name: retrain_churn
model_id: churn
trigger:
  scheduled: {cron: "0 3 * * *", timezone: Europe/Berlin}
action:
  build_deploy:
    build_spec: {git_uri: "https://github.com/acme/churn.git"}
    deployment_condition:
      build_metric: {metric_name: f1_score, direction: ABOVE, threshold: "0.7"}
"""
CANARY = "canary-secret-0c7f3b"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        from tests.conftest import missing_service

        missing_service("chromium", "not installed (apt-get install -y chromium)")
    assert exe is not None
    return exe


def populate(home: Path, workdir: Path) -> None:
    config = load_config((workdir,), env={"AUTO_HOME": str(home)}, cwd=workdir)
    store = open_store(config)
    t0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    store.upsert_automation(
        name="retrain_churn", model_id="churn", spec_hash="h", file="a.yaml", enabled=True, now=t0
    )
    for i, (f1, status) in enumerate(
        [(0.66, RunStatus.NOT_DEPLOYED), (0.74, RunStatus.SUCCEEDED), (0.79, RunStatus.SUCCEEDED)]
    ):
        slot = t0 + timedelta(days=i)
        claim = store.claim(
            ClaimRequest(
                automation="retrain_churn",
                run_key=f"retrain_churn@{slot.isoformat()}",
                trigger_reason="schedule",
                scheduled_for=slot,
                owner="test",
                now=slot,
                lease_seconds=60,
                forbid_overlap=True,
            )
        )
        assert claim.run is not None
        run_id = claim.run.run_id
        build_id = f"churn-b{i}"
        store.start_step(run_id, "condition", slot)
        store.finish_step(
            run_id,
            "condition",
            StepStatus.OK,
            f"f1_score {f1} vs 0.7",
            {"threshold": 0.7, "value": f1},
            slot,
        )
        store.save_build(
            BuildRecord(
                build_id=build_id,
                model_id="churn",
                automation="retrain_churn",
                run_id=run_id,
                status="succeeded",
                started_at=slot,
                ended_at=slot + timedelta(minutes=3),
                metrics={"f1_score": f1},
            )
        )
        if status is RunStatus.SUCCEEDED:
            store.save_deployment(
                DeploymentRecord(
                    deployment_id=f"d{i}",
                    model_id="churn",
                    build_id=build_id,
                    environment="dev",
                    variation="default",
                    deployer="local",
                    status="serving" if i == 2 else "retired",
                    created_at=slot,
                    address="http://127.0.0.1:9999",
                )
            )
        store.finish_run(run_id, status, "", slot + timedelta(minutes=5), owner="test")
    store.close()


@pytest.fixture
def dashboard(tmp_path):
    workdir = tmp_path / "automations"
    workdir.mkdir()
    (workdir / "churn.yaml").write_text(AUTOMATION)
    home = tmp_path / ".auto"
    populate(home, workdir)
    port = free_port()
    env = {**os.environ, "AUTO_HOME": str(home), "AUTO_SECRET_LEAKY": CANARY}
    proc = subprocess.Popen(
        [sys.executable, "-m", "qwak_auto", "ui", str(workdir), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.stdout.read().decode() if proc.stdout else ""
                    pytest.fail(f"auto ui did not start:\n{out}")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def browse(url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--window-size=1280,1400",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def test_dashboard_in_headless_chromium(dashboard, tmp_path):
    done = browse(dashboard + "/", tmp_path, "--dump-dom")
    dom = done.stdout
    assert '<table class="automations">' in dom, done.stderr[-2000:]
    assert "retrain_churn" in dom
    assert "cron 0 3 * * * (Europe/Berlin)" in dom
    assert "churn-b2" in dom  # the serving build
    assert dom.count('class="status succeeded"') >= 2
    assert 'class="status not_deployed"' in dom
    assert '<polyline class="threshold"' in dom
    assert dom.count("<circle") == 3
    assert CANARY not in dom  # resolved secrets never reach a page

    artifacts = Path(os.environ.get("AUTO_TEST_ARTIFACTS", tmp_path))
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = artifacts / "dashboard.png"
    done = browse(dashboard + "/", tmp_path, f"--screenshot={shot}")
    assert shot.exists(), done.stderr[-2000:]
    assert shot.stat().st_size > 10_000


def test_dashboard_is_read_only_and_has_run_pages(dashboard):
    request = urllib.request.Request(dashboard + "/", method="POST", data=b"x")
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(request, timeout=5)
    assert excinfo.value.code == 405
    with urllib.request.urlopen(dashboard + "/api/overview.json", timeout=10) as r:
        body = r.read().decode()
    assert '"retrain_churn"' in body
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(dashboard + "/runs/nope", timeout=5)
    assert excinfo.value.code == 404
