"""The build pod's steps run for real, outside a cluster: each step is started with the
environment its container gets in the rendered Job (a ``secretKeyRef`` resolved from the
build's Secret, as the kubelet does), against a private repository over smart HTTP that
refuses requests without the token, and a real pip. The workspace folders stand in for the
pod's ``emptyDir`` and its ``subPath`` mounts (/opt/venv, /opt/auto, /opt/model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from qwak_auto import redact
from qwak_auto.automation.model import from_document
from qwak_auto.builders.kubernetes_follow import JobEnd
from qwak_auto.builders.kubernetes_job import companions, render_job
from qwak_auto.builders.kubernetes_plan import plan
from qwak_auto.builders.kubernetes_pod import digest, parse_result
from qwak_auto.builders.kubernetes_result import build_result, termination_of
from qwak_auto.config import load_config
from qwak_auto.run.contracts import RunContext
from qwak_auto.source import GitSource
from qwak_auto.state import open_store
from tests.integration.build_k8s.conftest import TOKEN

REPO = Path(__file__).resolve().parents[3]


def container_env(
    job: dict[str, Any], name: str, secret: dict[str, Any], **extra: str
) -> dict[str, str]:
    """What the kubelet hands the step: its env, secretKeyRefs resolved, on top of this
    machine's (PATH, pip's settings)."""
    pod = job["spec"]["template"]["spec"]
    container = next(c for c in [*pod["initContainers"], *pod["containers"]] if c["name"] == name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    for item in container["env"]:
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            assert ref["name"] == secret["metadata"]["name"]
            env[item["name"]] = secret["stringData"][ref["key"]]
    env.update(extra)
    return env


def step(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qwak_auto.builders.kubernetes_pod", *argv],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_the_pod_steps_build_the_model(tmp_path, private_repo, home):
    (tmp_path / "auto.yaml").write_text(
        "environments:\n  prod: {deployer: kubernetes, image_registry: registry.example.com/ml}\n"
        "default_environment: prod\n",
        encoding="utf-8",
    )
    config = load_config((tmp_path,), env={"AUTO_HOME": str(home)}, cwd=tmp_path)
    automation = from_document(
        {
            "name": "retrain_churn",
            "model_id": "churn",
            "trigger": {"none": {}},
            "action": {
                "build_deploy": {
                    "build_spec": {
                        "git_uri": private_repo,
                        "git_access_token_secret": "gh_token",
                        "parameters": {"n_estimators": "40"},
                    }
                }
            },
        }
    )

    def secrets(name: str) -> str:
        redact.register_secret(TOKEN)
        return TOKEN

    ctx = RunContext(
        run_id="r",
        automation=automation,
        config=config,
        store=open_store(config),
        secrets=secrets,
        trigger_reason="test",
        started_at=datetime.now(UTC),
        log_dir=tmp_path / "logs",
        environ=dict(os.environ),
    )
    checkout = GitSource(timeout=60).fetch(automation.action.build_spec, ctx)
    build_id = "churn-20260101000000-" + checkout.commit[:7]
    job, _deps = plan(
        automation,
        config.environment("prod"),
        config,
        build_id=build_id,
        deadline_seconds=900,
        checkout=checkout,
    )
    ws = tmp_path / "workspace"
    image = ws / "image"
    paths = {
        "workspace": str(ws),
        "venv": str(image / "venv"),
        "auto": str(image / "auto"),
        "model": str(image / "model"),
    }
    request = json.dumps({**job.request, "paths": paths})
    header = "Authorization: " + redact.basic_auth("x-access-token", TOKEN)
    (secret,) = companions(job, "uid-1", header=header, ssh_key=None)
    rendered = render_job(job)
    ws.mkdir()

    source = step(
        ["source"],
        container_env(rendered, "source", secret, AUTO_BUILD_REQUEST=request, PYTHONPATH=str(REPO)),
        tmp_path,
    )
    assert source.returncode == 0, source.stdout + source.stderr
    assert TOKEN not in source.stdout + source.stderr
    assert f"==> at {checkout.commit}" in source.stdout
    assert (image / "model" / "code" / "main" / "model.py").is_file()
    assert (image / "auto" / "qwak_auto" / "builders" / "harness.py").is_file()
    assert (image / "Dockerfile").read_text().startswith("# Rendered by auto (kubernetes")

    termination = tmp_path / "termination-log"
    built = step(
        ["build"],
        container_env(
            rendered,
            "build",
            secret,
            PYTHONPATH=str(image / "auto"),
            AUTO_BUILD_WORKSPACE=str(ws),
            AUTO_TERMINATION_LOG=str(termination),
        ),
        tmp_path,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    result = parse_result(built.stdout)
    assert result is not None
    assert result["status"] == "succeeded", result
    assert result["metrics"] == {"f1_score": 0.82}
    assert result["unit_tests"] == "passed"
    assert any(line.startswith("cloudpickle==") for line in result["resolved"])
    short = termination_of(termination.read_text())
    assert short is not None
    assert short["digest"] == digest(result)
    model = image / "model"
    assert (model / "model.pkl").stat().st_size == result["model"]["bytes"]
    assert json.loads((model / "metrics.json").read_text()) == {"f1_score": 0.82}
    assert not (model / "result.json").exists()
    pth = list((image / "venv").glob("lib/python*/site-packages/_qwak_auto.pth"))
    assert len(pth) == 1
    assert pth[0].read_text().startswith(f"{image / 'auto'}\n")

    # what the runner makes of it
    end = JobEnd(
        succeeded=True,
        logs={"build": built.stdout},
        terminated={"build": {"exitCode": 0, "message": termination.read_text()}},
    )
    with open(tmp_path / "out.log", "a", encoding="utf-8") as sink:

        class Out:
            path = tmp_path / "out.log"

            def line(self, text: str) -> None:
                sink.write(text + "\n")

        assert build_result(end, Out())["metrics"] == {"f1_score": 0.82}  # type: ignore[arg-type]
