"""A whole run with the project's own parts: source (a private repository over smart HTTP) →
build (builder: kubernetes) → condition → deploy (an Argo Rollout), against the recording
kubectl; the Rollout serves the image the build pushed, by digest."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from ruamel.yaml import YAML

from qwak_auto.automation.model import from_document
from qwak_auto.builders.kubernetes_pod import result_line, termination_message
from qwak_auto.config import load_config
from qwak_auto.run import runner
from qwak_auto.run.setup import RunnerSettings, steps_for
from qwak_auto.state import open_store
from qwak_auto.state.base import ClaimRequest, RunStatus
from tests.integration.build_k8s.conftest import AUTO_YAML as K8S_PROJECT
from tests.integration.build_k8s.conftest import TOKEN

DIGEST = "sha256:" + "7e" * 32
AUTO_YAML = K8S_PROJECT + "    prometheus_url: http://prometheus.monitoring:9090\n"


def job_scenario(f1: float) -> dict[str, object]:
    result = {
        "status": "succeeded",
        "reason": "",
        "metrics": {"f1_score": f1},
        "params": {},
        "model": {"sha256": "cd" * 32, "bytes": 99},
        "unit_tests": "passed",
    }
    return {
        "outcome": "succeeded",
        "logs": {"build": f"metric f1_score = {f1}\n{result_line(result)}\n"},
        "terminated": {
            "build": {"exitCode": 0, "reason": "Completed", "message": termination_message(result)},
            "image": {"exitCode": 0, "reason": "Completed", "message": DIGEST},
        },
    }


def run_once(tmp_path: Path, git_uri: str, threshold: str):
    (tmp_path / "auto.yaml").write_text(AUTO_YAML, encoding="utf-8")
    config = load_config((tmp_path,), env={"AUTO_HOME": str(tmp_path / ".auto")}, cwd=tmp_path)
    automation = from_document(
        {
            "name": "retrain_churn",
            "model_id": "churn",
            "trigger": {"none": {}},
            "action": {
                "build_deploy": {
                    "build_spec": {"git_uri": git_uri, "git_access_token_secret": "gh_token"},
                    "deployment_condition": {
                        "build_metric": {
                            "metric_name": "f1_score",
                            "direction": "ABOVE",
                            "threshold": threshold,
                        }
                    },
                    "deployment_spec": {"rollout": {"canary_steps": [10], "step_time": "1s"}},
                }
            },
        }
    )
    store = open_store(config)
    now = datetime.now(UTC)
    store.upsert_automation(
        name=automation.name, model_id="churn", spec_hash="h", file="f", enabled=True, now=now
    )
    claim = store.claim(
        ClaimRequest(
            automation=automation.name,
            run_key="retrain_churn@manual:1",
            trigger_reason="manual",
            scheduled_for=None,
            owner="t:1:x",
            now=now,
            lease_seconds=60,
            forbid_overlap=True,
        )
    )
    assert claim.run is not None
    environ = {**os.environ, "AUTO_SECRET_GH_TOKEN": TOKEN, "AUTO_KUBE_POLL_SECONDS": "0.01"}
    settings = RunnerSettings(owner="t:1:x", environ=environ, steps=steps_for(config))
    outcome = runner.execute(claim.run, automation, config, store, settings)
    return outcome, store


def test_source_build_condition_deploy_on_kubernetes(
    kubectl, tmp_path, private_repo, git_server, monkeypatch
):
    monkeypatch.setenv("KUBECTL_JOB", json.dumps(job_scenario(0.82)))
    monkeypatch.setenv(
        "KUBECTL_ROLLOUT",
        json.dumps(
            {
                "scripts": {
                    "*": [
                        {"phase": "Paused", "step": 1, "analysis": "Running"},
                        {"phase": "Healthy", "step": 2, "promoted": True, "analysis": "Successful"},
                    ]
                }
            }
        ),
    )
    outcome, store = run_once(tmp_path, private_repo, "0.5")
    assert outcome.status == RunStatus.SUCCEEDED, outcome.error
    (build,) = store.builds("churn")
    assert build.builder == "kubernetes"
    assert build.image == f"registry.example.com/ml/churn:{build.build_id}@{DIGEST}"
    # the Job cloned the commit the run's source step resolved
    job = json.loads(next(c["stdin"] for c in kubectl.calls() if "-o" in c["argv"]))
    assert job["metadata"]["annotations"]["auto.qwak.ai/commit"] == build.commit
    # the Rollout serves that image
    applied = next(c["stdin"] for c in kubectl.calls() if "apply" in c["argv"])
    rollout = next(d for d in YAML(typ="safe").load_all(applied) if d["kind"] == "Rollout")
    assert rollout["spec"]["template"]["spec"]["containers"][0]["image"] == build.image
    serving = store.serving("churn", "prod", "default")
    assert serving is not None
    assert serving.build_id == build.build_id
    assert serving.detail["kind"] == "Rollout"
    # the token went to the git server as a header, never into kubectl's argv
    assert all(TOKEN not in " ".join(c["argv"]) for c in kubectl.calls())
    assert git_server.accepted > 0


def test_a_build_below_the_threshold_is_not_deployed(kubectl, tmp_path, private_repo, monkeypatch):
    monkeypatch.setenv("KUBECTL_JOB", json.dumps(job_scenario(0.41)))
    outcome, store = run_once(tmp_path, private_repo, "0.5")
    assert outcome.status == RunStatus.NOT_DEPLOYED
    assert not [c for c in kubectl.argvs() if c[0] == "apply"]
    assert store.serving("churn", "prod", "default") is None
