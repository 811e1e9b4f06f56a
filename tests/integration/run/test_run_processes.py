"""Real `auto run` processes sharing one state store (SQLite file, or PostgreSQL)."""

from __future__ import annotations

import collections
import json
import signal
import time
from pathlib import Path

import pytest

from qwak_auto.state import open_url
from tests.integration.run.conftest import Runner, write_cron

NOW = "2026-05-01T12:00:00Z"


def _store(runner: Runner):
    url = runner.env.get("AUTO_STATE_URL") or f"sqlite:///{runner.tmp_path / '.auto/state.db'}"
    return open_url(url)


def _wait_for(predicate, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def test_run_once_twice_at_the_same_time_claims_once(runner: Runner, tmp_path: Path) -> None:
    folder = tmp_path / "automations"
    folder.mkdir()
    write_cron(folder, "hourly", "0 * * * *")
    first = runner.run("run", "--once", str(folder), "--now", NOW, "--format", "json")
    assert first.returncode == 0, first.stderr
    second = runner.run("run", "--once", str(folder), "--now", NOW, "--format", "json")
    assert second.returncode == 0, second.stderr
    assert json.loads(first.stdout)["claimed"] == 1
    assert json.loads(second.stdout)["claimed"] == 0
    assert json.loads(second.stdout)["already_claimed"] == 1
    assert len(runner.lines("done")) == 1


@pytest.mark.slow
def test_eight_concurrent_runners_25_due_slots(runner: Runner, tmp_path: Path) -> None:
    """8 processes start together on 25 automations due now: every slot runs exactly once."""
    folder = tmp_path / "automations"
    folder.mkdir()
    names = [f"model_{i:02d}" for i in range(25)]
    for name in names:
        write_cron(folder, name)
    procs = [runner.start("run", "--once", str(folder), "--now", NOW) for _ in range(8)]
    results = [(p.wait(timeout=180), *p.communicate()) for p in procs]
    assert [rc for rc, _, _ in results] == [0] * 8, [err[-2000:] for _, _, err in results]
    executed = collections.Counter(line[1] for line in runner.lines("done"))
    assert executed == collections.Counter(names)  # 0 duplicates, 0 missed
    store = _store(runner)
    try:
        runs = store.runs(None, 1000)
        assert len(runs) == 25
        assert {r.automation for r in runs} == set(names)
        assert {r.status.value for r in runs} == {"succeeded"}
        assert {r.run_key for r in runs} == {f"{n}@2026-05-01T12:00:00+00:00" for n in names}
        owners = {r.owner for r in runs}
    finally:
        store.close()
    assert len(owners) >= 2  # the work really was shared


def test_kill_9_mid_step_is_abandoned_and_retried(runner: Runner, tmp_path: Path) -> None:
    folder = tmp_path / "automations"
    folder.mkdir()
    write_cron(folder, "hourly", "0 * * * *")
    victim = runner.start(
        "run", "--once", str(folder), "--now", NOW,
        AUTO_LEASE_SECONDS="1", FAKE_BUILD_SECONDS="60",
    )  # fmt: skip
    try:
        _wait_for(lambda: runner.lines("start"))
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.communicate(timeout=30)
    time.sleep(1.5)  # let the 1 s lease expire
    rescuer = runner.run(
        "run", "--once", str(folder), "--now", NOW, "--format", "json", FAKE_BUILD_SECONDS="0.05"
    )
    assert rescuer.returncode == 0, rescuer.stderr
    summary = json.loads(rescuer.stdout)
    assert len(summary["abandoned"]) == 1
    assert [r["status"] for r in summary["runs"]] == ["succeeded"]
    store = _store(runner)
    try:
        (run,) = store.runs("hourly")
        assert run.run_id == summary["abandoned"][0]
        assert run.attempt == 2
        assert run.status.value == "succeeded"
        steps = [(s.name, s.status.value) for s in store.steps(run.run_id)]
    finally:
        store.close()
    assert ("build", "interrupted") in steps  # the killed attempt's step
    assert steps[-1] == ("notify", "ok")
    assert len(runner.lines("done")) == 1
    # A third runner finds nothing to do: the slot was retried once and is done.
    again = runner.run("run", "--once", str(folder), "--now", NOW, "--format", "json")
    assert json.loads(again.stdout)["claimed"] == 0


def test_service_loop_stops_cleanly_on_sigterm(sqlite_runner: Runner, tmp_path: Path) -> None:
    folder = tmp_path / "automations"
    folder.mkdir()
    write_cron(folder, "weekly", "0 0 * * 0", extra="execute_immediately: true\n")
    proc = sqlite_runner.start("run", str(folder), FAKE_BUILD_SECONDS="1.5")
    try:
        _wait_for(lambda: sqlite_runner.lines("start"))
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate()
    assert rc == 0, err
    assert "stop requested" in err
    assert len(sqlite_runner.lines("done")) == 1  # the current step finished
    store = _store(sqlite_runner)
    try:
        (run,) = store.runs("weekly")
        assert run.status.value == "interrupted"
        assert run.error == "step build: stopped after this step (SIGTERM)"
    finally:
        store.close()


def test_service_loop_picks_up_a_new_file(sqlite_runner: Runner, tmp_path: Path) -> None:
    folder = tmp_path / "automations"
    folder.mkdir()
    write_cron(folder, "first", "0 0 * * 0")
    proc = sqlite_runner.start("run", str(folder), FAKE_BUILD_SECONDS="0.05")
    try:
        time.sleep(1.0)
        write_cron(folder, "second", "0 0 * * 0", extra="execute_immediately: true\n")
        _wait_for(lambda: sqlite_runner.lines("done"), seconds=20)
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert rc == 0
    assert [line[1] for line in sqlite_runner.lines("done")] == ["second"]


def test_second_signal_interrupts_the_running_step(sqlite_runner: Runner, tmp_path: Path) -> None:
    folder = tmp_path / "automations"
    folder.mkdir()
    write_cron(folder, "weekly", "0 0 * * 0", extra="execute_immediately: true\n")
    proc = sqlite_runner.start("run", str(folder), FAKE_BUILD_SECONDS="60")
    try:
        _wait_for(lambda: sqlite_runner.lines("start"))
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)  # long before the 60 s build would end
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate()
    assert rc == 0, err
    assert sqlite_runner.lines("done") == []
    store = _store(sqlite_runner)
    try:
        (run,) = store.runs("weekly")
        steps = {s.name: s for s in store.steps(run.run_id)}
    finally:
        store.close()
    assert run.status.value == "interrupted"
    assert run.error == "step build: interrupted (SIGTERM) while running"
    assert steps["build"].status.value == "interrupted"
