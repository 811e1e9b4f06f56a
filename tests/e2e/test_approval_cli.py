"""A person approves a deploy, as they type it (issue 16): `auto run --once` leaves the run
waiting, `auto status` / `auto history` show it with its age and what approving deploys,
`auto approve` deploys it, and the commands say clearly what they refuse. In-process main(),
with the fake builder and deployer plugged in as a plugin distribution."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qwak_auto.cli import main
from tests.integration.run.conftest import model_repo
from tests.integration.run.fake_steps import use_fake_steps

NOW = "2026-05-01T12:00:00Z"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    use_fake_steps(tmp_path, monkeypatch)
    monkeypatch.setenv("FAKE_BUILD_SECONDS", "0")
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "automations"
    f.mkdir()
    (f / "churn.yaml").write_text(
        "name: churn\nmodel_id: churn\n"
        'trigger:\n  scheduled: {cron: "0 * * * *"}\n'
        "action:\n  build_deploy:\n    requires_approval: true\n"
        f"    build_spec: {{git_uri: '{model_repo()}'}}\n"
    )
    return f


def _waiting(folder: Path, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["run", "--once", str(folder), "--now", NOW, "--format", "json"]) == 0
    (run,) = json.loads(capsys.readouterr().out)["runs"]
    assert run["status"] == "awaiting_approval"
    return str(run["run_id"])


def test_wait_look_approve(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_id = _waiting(folder, capsys)
    assert main(["status", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"churn: run {run_id} waiting " in out
    assert "approving deploys build b-" in out
    assert f"approve: auto approve {run_id}" in out

    assert main(["history"]) == 0
    out = capsys.readouterr().out
    assert "awaiting_approval" in out
    assert "approving deploys build b-" in out

    assert main(["approve", run_id[:12], "--comment", "checked the metrics", "--by", "ana"]) == 0
    out = capsys.readouterr().out
    assert f"approved run {run_id} of churn by ana: checked the metrics" in out
    assert "serving on dev/default" in out  # the deploy step ran here

    assert main(["status", str(folder), "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["automations"]
    assert row["waiting"] == []
    assert row["last_run"]["status"] == "succeeded"
    assert row["deployed"][0]["build_id"].startswith("b-")


def test_refusals_name_the_state(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_id = _waiting(folder, capsys)
    assert main(["reject", run_id, "--comment", "wrong data window"]) == 0
    assert "not deployed: build b-" in capsys.readouterr().out
    assert main(["approve", run_id]) == 1
    err = capsys.readouterr().err
    assert f"cannot approve run {run_id}: it was rejected by" in err
    assert "(wrong data window)" in err
    assert main(["approve", "0123456789abcdef"]) == 2
    err = capsys.readouterr().err
    assert "no run '0123456789abcdef' is recorded" in err
    assert "list waiting runs with `auto status` or `auto history`" in err
    # approved for later: approving it for later again is refused; the next tick deploys it
    assert main(["trigger", "churn", str(folder)]) == 0
    capsys.readouterr()
    assert main(["history", "--format", "json"]) == 0
    latest = json.loads(capsys.readouterr().out)["runs"][0]
    assert latest["status"] == "awaiting_approval"
    assert main(["approve", latest["run_id"], "--later"]) == 0
    assert "the next `auto run` tick deploys build b-" in capsys.readouterr().out
    assert main(["approve", latest["run_id"], "--later"]) == 1
    assert "the next runner tick deploys it" in capsys.readouterr().err
    assert main(["run", "--once", str(folder), "--now", NOW, "--format", "json"]) == 0
    tick = json.loads(capsys.readouterr().out)
    assert [(r["run_id"], r["status"]) for r in tick["runs"]] == [(latest["run_id"], "succeeded")]
