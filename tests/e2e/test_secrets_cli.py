"""`auto secrets ...` and `auto metrics` as a user types them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from qwak_auto.cli import main
from qwak_auto.state import open_url
from qwak_auto.state.base import ClaimRequest, RunStatus, StepStatus


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(__import__("os").environ):
        if name.startswith("AUTO_SECRET"):
            monkeypatch.delenv(name)
    return tmp_path


def test_check_resolved_never_prints_value(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUTO_SECRET_GH_TOKEN", "ghp_e2e_secret_value")
    assert main(["secrets", "check", "gh_token"]) == 0
    out, err = capsys.readouterr()
    assert out == "gh_token: resolved by backend `env`\n"
    assert "ghp_e2e_secret_value" not in out + err

    assert main(["secrets", "check", "gh_token", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["backend"] == "env"
    assert report["resolved"] is True


def test_check_unresolved_exits_1_with_hint(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["secrets", "check", "slack_hook"]) == 1
    out = capsys.readouterr().out
    assert "slack_hook: not found (tried: env, file)" in out
    assert "export AUTO_SECRET_SLACK_HOOK=" in out


def test_file_backend_via_project_config(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "auto.yaml").write_text("secrets: [file]\nsecrets_dir: team.env\n")
    dotenv = project / "team.env"
    dotenv.write_text("slack_hook=https://hooks.example/T/B/abc\n")
    dotenv.chmod(0o644)
    assert main(["secrets", "check", "slack_hook"]) == 1
    out = capsys.readouterr().out
    assert "accessible by group or others" in out
    assert f"chmod 600 {dotenv}" in out
    assert "hooks.example" not in out

    dotenv.chmod(0o600)
    assert main(["secrets", "check", "slack_hook"]) == 0
    assert "resolved by backend `file`" in capsys.readouterr().out


def test_list_backends(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["secrets", "list-backends"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].split() == ["NAME", "CHAIN", "ORIGIN", "DESCRIPTION"]
    assert "chain: env → file  (from default)" in out
    assert main(["secrets", "list-backends", "--format", "json"]) == 0
    names = [b["name"] for b in json.loads(capsys.readouterr().out)["backends"]]
    assert names[:4] == ["env", "file", "kubernetes", "vault"]


def test_bad_format_and_bad_name(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["secrets", "list-backends", "--format", "yaml"]) == 2
    assert main(["secrets", "check", "../../etc/passwd"]) == 1
    assert "not a valid secret name" in capsys.readouterr().err


def test_metrics_stdout_and_textfile(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    store = open_url(f"sqlite:///{project / '.auto' / 'state.db'}")
    try:
        store.upsert_automation(
            name="nightly", model_id="churn", spec_hash="h", file="a.yaml", enabled=True, now=now
        )
        claim = store.claim(
            ClaimRequest(
                automation="nightly",
                run_key="nightly@manual:1",
                trigger_reason="manual",
                scheduled_for=None,
                owner="h:1:u",
                now=now,
                lease_seconds=60,
                forbid_overlap=True,
            )
        )
        assert claim.run is not None
        store.start_step(claim.run.run_id, "build", now)
        store.finish_step(claim.run.run_id, "build", StepStatus.FAILED, "boom", {}, now)
        store.finish_run(
            claim.run.run_id, RunStatus.FAILED, "build: boom", now + timedelta(seconds=9)
        )
    finally:
        store.close()

    assert main(["metrics"]) == 0
    out = capsys.readouterr().out
    assert 'auto_last_run_status{automation="nightly",status="failed"} 1.0' in out
    assert 'auto_last_run_duration_seconds{automation="nightly"} 9.0' in out

    target = project / "collector" / "auto.prom"
    target.parent.mkdir()
    assert main(["metrics", "--textfile", str(target)]) == 0
    assert target.read_text().rstrip("\n") == out.rstrip("\n")
    assert main(["metrics", "--textfile", str(project / "nope" / "auto.prom")]) == 2
