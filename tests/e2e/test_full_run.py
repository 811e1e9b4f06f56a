"""The main job as a user runs it: example model repo → `auto run --once` → built, tested,
gated, served on 127.0.0.1 → a prediction answered → `auto status` → undeployed.

One real build (a virtual environment with scikit-learn and pandas, shared per test session),
one real gunicorn behind the stable local address."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from qwak_auto.cli import main

ROOT = Path(__file__).parents[2]
CHURN = ROOT / "examples" / "model-repos" / "churn"

AUTOMATION = """\
name: e2e_churn
model_id: churn_e2e
execute_immediately: true
trigger:
  scheduled: {{cron: "0 3 * * *", timezone: Europe/Berlin}}
action:
  build_deploy:
    build_spec:
      git_uri: "{repo}"
      git_branch: main
    deployment_condition:
      build_metric: {{metric_name: f1_score, direction: ABOVE, threshold: "{threshold}"}}
    deployment_spec:
      number_of_http_server_workers: 1
      max_batch_size: 10
      deployment_process_timeout_limit: 120
"""


def make_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "churn-repo"
    shutil.copytree(CHURN, repo, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "churn"]):
        subprocess.run(["git", *args], cwd=repo, check=True, timeout=60)
    return repo


def status(folder: Path, capsys) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["status", str(folder), "--format", "json"]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


@pytest.fixture
def automation_dir(tmp_path, shared_envs_home):
    folder = tmp_path / "automations"
    folder.mkdir()
    return folder


@pytest.mark.slow
def test_build_gate_deploy_predict(tmp_path, automation_dir, capsys):
    repo = make_repo(tmp_path)
    (automation_dir / "churn.yaml").write_text(AUTOMATION.format(repo=repo, threshold="0.5"))
    try:
        code = main(["run", "--once", str(automation_dir)])
        out = capsys.readouterr()
        assert code == 0, out.out + out.err
        rows = status(automation_dir, capsys)["automations"]
        assert rows[0]["last_run"]["status"] == "succeeded"
        assert rows[0]["deployed"][0]["health"] == "healthy"
        address = rows[0]["deployed"][0]["address"]
        assert address.startswith("http://127.0.0.1:")
        sample = json.loads((CHURN / "main" / "sample_request.json").read_text())
        request = urllib.request.Request(
            f"{address}/v1/churn_e2e/predict",
            data=json.dumps(sample).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
            answer = json.loads(response.read())
        assert isinstance(answer, list)
        assert answer
        # the second tick finds nothing due: the slot was claimed once
        assert main(["run", "--once", str(automation_dir), "--format", "json"]) == 0
        tick = json.loads(capsys.readouterr().out)
        assert tick.get("ran", tick.get("runs", [])) in (0, [])
        assert main(["history", "--format", "json"]) == 0
        runs = json.loads(capsys.readouterr().out)["runs"]
        assert len(runs) == 1
    finally:
        main(["undeploy", "churn_e2e"])


DRIFT = """\
name: e2e_churn_drift
model_id: churn_e2e
trigger:
  metric_based:
    name: mean_churn_probability
    sql_query: "SELECT avg(churn_probability) FROM predictions WHERE model_id = 'churn_e2e'"
    direction: ABOVE
    threshold: "0.0"
    override_cron: "* * * * *"
action:
  build_deploy:
    build_spec: {{git_uri: "{repo}"}}
    deployment_spec: {{number_of_http_server_workers: 1, max_batch_size: 10}}
"""


@pytest.mark.slow
def test_production_predictions_fire_a_metric_trigger(tmp_path, automation_dir, capsys):
    """Served predictions are logged, loaded into the analytics store, and a metric trigger
    on them fires a re-train that replaces the serving build."""
    repo = make_repo(tmp_path)
    (automation_dir / "churn.yaml").write_text(AUTOMATION.format(repo=repo, threshold="0.5"))
    try:
        assert main(["run", "--once", str(automation_dir)]) == 0
        first = status(automation_dir, capsys)["automations"][0]["deployed"][0]
        sample = json.loads((CHURN / "main" / "sample_request.json").read_text())
        for _ in range(3):
            request = urllib.request.Request(
                f"{first['address']}/v1/churn_e2e/predict",
                data=json.dumps(sample).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.status == 200
        (automation_dir / "drift.yaml").write_text(DRIFT.format(repo=repo))
        minute = datetime.now(UTC).replace(second=0, microsecond=0)
        # registered half a minute into `minute` (no slot of its cron is due yet) ...
        registered = (minute + timedelta(seconds=30)).isoformat()
        assert main(["run", "--once", str(automation_dir), "--now", registered]) == 0
        # ... and its first slot, the next minute, is evaluated on the production data
        later = (minute + timedelta(minutes=1, seconds=5)).isoformat()
        capsys.readouterr()
        assert main(["run", "--once", str(automation_dir), "--now", later]) == 0
        capsys.readouterr()
        assert main(["history", "e2e_churn_drift", "--format", "json"]) == 0
        runs = json.loads(capsys.readouterr().out)["runs"]
        assert len(runs) == 1
        assert runs[0]["trigger_reason"].startswith("metric mean_churn_probability")
        assert runs[0]["status"] == "succeeded"
        now_serving = status(automation_dir, capsys)["automations"]
        serving = {row["name"]: row["deployed"][0] for row in now_serving}
        assert serving["e2e_churn_drift"]["build_id"] != first["build_id"]
        assert serving["e2e_churn_drift"]["address"] == first["address"]  # the stable address
    finally:
        main(["undeploy", "churn_e2e"])


@pytest.mark.slow
def test_gate_keeps_the_serving_model(tmp_path, automation_dir, capsys):
    repo = make_repo(tmp_path)
    (automation_dir / "churn.yaml").write_text(AUTOMATION.format(repo=repo, threshold="0.999"))
    code = main(["run", "--once", str(automation_dir)])
    capsys.readouterr()
    assert code == 0  # not_deployed is not a failure
    rows = status(automation_dir, capsys)["automations"]
    assert rows[0]["last_run"]["status"] == "not_deployed"
    assert rows[0]["deployed"][0]["build_id"] is None
