"""A reader that goes away early (`auto trigger NAME PATH 2>&1 | head -3`) must not change a
run's outcome: the run finishes and is recorded succeeded, `auto` exits quietly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from qwak_auto.state import open_url
from tests.integration.run.conftest import Runner, write_cron


def test_trigger_piped_into_head_still_succeeds(sqlite_runner: Runner, tmp_path: Path) -> None:
    folder = tmp_path / "automations"
    folder.mkdir()
    write_cron(folder, "chatty")
    flag = tmp_path / "reader-gone"
    env = {
        **sqlite_runner.env,
        "AUTO_BUILDER": "chatty",
        "FAKE_CHATTY_FLAG": str(flag),
    }
    # stdout and stderr share one pipe, like `2>&1 | head -3`.
    proc = subprocess.Popen(
        [sys.executable, "-m", "qwak_auto", "trigger", "chatty", str(folder)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    head = [proc.stdout.readline() for _ in range(3)]
    proc.stdout.close()  # the reader goes away
    flag.touch()
    try:
        rc = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert any(b"still building" in line for line in head), head
    store = open_url(f"sqlite:///{tmp_path / '.auto/state.db'}")
    try:
        runs = store.runs(None, 10)
    finally:
        store.close()
    assert [r.status.value for r in runs] == ["succeeded"], [r.error for r in runs]
    assert rc == 0
    log = next((tmp_path / ".auto/logs/builds").glob("chatty-*.log")).read_text()
    assert "line 199 after the reader went away" in log  # the build log is kept in full
