"""An abandoned manual run says what happens to it (issue 14): it said "the slot will be
retried once", but a manual run has no slot and is not retried. A runner doing
``auto trigger`` is killed with SIGKILL mid-build; once its lease expires the next tick marks
the run abandoned, with the truth, and starts nothing for it."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from tests.integration.reliability.conftest import NOW, Fleet, git

AUTOMATION = """\
name: backfill
model_id: backfill
trigger:
  none: {{}}
action:
  build_deploy:
    build_spec: {{git_uri: "{repo}"}}
"""


def test_an_abandoned_manual_run_is_not_promised_a_retry(fleet: Fleet, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "main").mkdir(parents=True)
    (repo / "main" / "model.py").write_text("# never built: the runner is killed first\n")
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "model")
    folder = tmp_path / "automations"
    folder.mkdir()
    (folder / "backfill.yaml").write_text(AUTOMATION.format(repo=repo))
    (tmp_path / "auto.yaml").write_text(
        "builder: sleepy\nenvironments:\n  dev: {deployer: recording}\n"
    )
    started = tmp_path / "started"
    victim = fleet.start(
        "trigger", "backfill", str(folder), AUTO_LEASE_SECONDS="1", SLEEPY_STARTED=str(started)
    )
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert victim.poll() is None, victim.communicate()
            assert time.monotonic() < deadline, "the build never started"
            time.sleep(0.05)
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.communicate(timeout=30)
    time.sleep(1.5)  # let the 1 s lease expire

    tick = fleet.start("run", "--once", str(folder), "--now", NOW, "--format", "json")
    out, err = tick.communicate(timeout=120)
    assert tick.returncode == 0, err
    summary = json.loads(out)
    assert len(summary["abandoned"]) == 1
    assert summary["claimed"] == 0  # nothing started for it
    store = fleet.store()
    try:
        (run,) = store.runs("backfill")
    finally:
        store.close()
    assert run.status.value == "abandoned"
    assert run.trigger_reason == "manual"
    assert "retried once" not in run.error
    assert run.error.endswith(
        "manual runs are not retried: `auto trigger backfill` starts it again"
    )
