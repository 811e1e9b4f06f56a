"""Issue 18, point 2: `execute_immediately` survives a failed first run, and `auto plan` tells
the truth about it; `auto plan` exits 1 on invalid files and lists their problems.

The scenario of the issue: the Quick start's `auto run --once` ran before the model
repository existed. The source step is the real one (git on a local path); build, gate and
deploy are the documented fake-step plugins, so the test needs no model environment.
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from qwak_auto.cli import main
from tests.integration.run.fake_steps import use_fake_steps

AUTOMATION = """\
name: first_model
model_id: first
execute_immediately: true
trigger:
  scheduled: {{cron: "0 3 * * *", timezone: Europe/Berlin}}
action:
  build_deploy:
    build_spec:
      git_uri: "{repo}"
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    use_fake_steps(tmp_path, monkeypatch)  # the real git source: it fails while the repo is absent
    folder = tmp_path / "automations"
    folder.mkdir()
    (folder / "first.yaml").write_text(AUTOMATION.format(repo=tmp_path / "repo"))
    return folder


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out + out.err


def plan(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    rc, out = cli(capsys, "plan", *argv, "--format", "json")
    assert rc == 0, out
    (entry,) = json.loads(out)["automations"]
    return dict(entry)


def make_repo(path: Path) -> None:
    (path / "main").mkdir(parents=True)
    (path / "main" / "__init__.py").write_text("")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "m"]):
        subprocess.run(["git", *args], cwd=path, check=True, timeout=60)


def test_a_failed_first_run_is_retried_and_plan_shows_pending_then_done(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out = cli(capsys, "plan", str(folder))
    assert rc == 0
    assert "execute_immediately: pending, due now" in out

    # The first run fails at the source: the repository is not there yet.
    rc, out = cli(capsys, "run", "--once", str(folder))
    assert rc == 1
    assert "first_model: failed" in out
    once = plan(capsys, str(folder))["once"]
    assert once["state"] == "pending"
    assert once["attempts"] == 1
    assert once["last_status"] == "failed"
    retry = datetime.fromisoformat(once["next_attempt"])
    rc, out = cli(capsys, "plan", str(folder))
    assert "execute_immediately: pending; attempt 1 failed: step source:" in out
    assert "attempt 2 at " in out

    # Within the backoff nothing runs, and nothing is used up.
    rc, out = cli(capsys, "run", "--once", str(folder))
    assert (rc, "0 run(s)") == (0, out.split("automation(s), ")[1][:8])

    # The repository appears; the retry (one minute after the failure) succeeds.
    make_repo(tmp_path / "repo")
    later = (retry + timedelta(seconds=1)).isoformat()
    rc, out = cli(capsys, "run", "--once", str(folder), "--now", later)
    assert rc == 0, out
    assert "first_model: succeeded" in out
    assert "execute_immediately (attempt 2)" in out
    once = plan(capsys, str(folder), "--now", later)["once"]
    assert (once["state"], once["next_attempt"]) == ("done", None)
    rc, out = cli(capsys, "plan", str(folder), "--now", later)
    assert "execute_immediately: done (run " in out
    assert "due now" not in out

    # Done means done: an hour later nothing is due but the cron.
    rc, out = cli(
        capsys, "run", "--once", str(folder), "--now", (retry + timedelta(hours=1)).isoformat()
    )
    assert rc == 0
    assert "0 run(s)" in out


def test_plan_exits_1_and_lists_the_problems_of_invalid_files(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "broken.yaml").write_text(
        'name: broken\nmodel_id: m\ntrigger:\n  scheduled: {cron: "0 25 * * 0"}\n'
        "action: {build_deploy: {build_spec: {git_uri: x}}}\n"
    )
    rc, out = cli(capsys, "plan", str(folder))
    assert rc == 1
    assert "first_model: cron 0 3 * * * (Europe/Berlin)" in out  # the valid one is planned
    assert f"{folder / 'broken.yaml'}:4:21: error: trigger.scheduled.cron:" in out
    assert "hour 25: must be 0-23" in out
    rc, out = cli(capsys, "plan", str(folder), "--format", "json")
    assert rc == 1
    (problem,) = json.loads(out)["problems"]
    assert (problem["line"], problem["code"]) == (4, "cron.invalid")
