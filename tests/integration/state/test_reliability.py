"""Claims hold across real processes, on SQLite and PostgreSQL (issue 4, reliability).

- 8 processes race for the same 25 due slots on a store none of them has created yet:
  every slot is claimed exactly once (0 duplicates, 0 missed).
- A process holding a claim is killed with SIGKILL mid-step: once its lease expires,
  ``abandon_expired`` marks the run abandoned and the next claim retries it once (attempt 2);
  after a second abandonment nobody claims it again.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qwak_auto.state import open_url
from qwak_auto.state.base import ClaimRequest, RunRecord, RunStatus, StateStore, StepStatus
from qwak_auto.state.sql import MIGRATIONS

ROOT = Path(__file__).resolve().parents[3]
WORKER = "tests.integration.state.claim_worker"
PROCESSES = 8
SLOTS = 25
LEASE = 1.0


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", WORKER, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_eight_processes_claim_25_slots_exactly_once(store_url: str, tmp_path: Path) -> None:
    start = tmp_path / "go"
    workers = [_spawn("race", store_url, str(start), str(SLOTS), f"w{i}") for i in range(PROCESSES)]
    time.sleep(0.5)  # let them all start and wait at the line
    start.touch()
    claimed: list[str] = []
    for w in workers:
        out, err = w.communicate(timeout=180)
        assert w.returncode == 0, err
        claimed += json.loads(out.strip().splitlines()[-1])
    counts = Counter(claimed)
    assert [k for k, n in counts.items() if n > 1] == []  # 0 duplicates
    assert len(counts) == SLOTS  # 0 missed

    store = open_url(store_url)
    try:
        runs = store.runs("nightly", limit=1000)
        assert sorted(r.run_key for r in runs) == sorted(counts)
        assert {r.status for r in runs} == {RunStatus.SUCCEEDED}
        assert {r.attempt for r in runs} == {1}
        assert store.schema_version() == MIGRATIONS[-1][0]  # type: ignore[attr-defined]
    finally:
        store.close()


def _first_line(worker: subprocess.Popen[str], timeout: float = 60) -> dict[str, Any]:
    assert worker.stdout is not None
    ready, _, _ = select.select([worker.stdout], [], [], timeout)
    assert ready, "the worker printed nothing"
    line = worker.stdout.readline()
    assert line, worker.stderr.read() if worker.stderr else ""
    result: dict[str, Any] = json.loads(line)
    return result


def _kill9(worker: subprocess.Popen[str]) -> None:
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL
    for stream in (worker.stdout, worker.stderr):
        if stream is not None:
            stream.close()


def _wait_abandoned(store: StateStore, timeout: float = 30) -> tuple[RunRecord, ...]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        gone = store.abandon_expired(datetime.now(UTC))
        if gone:
            return tuple(gone)
        time.sleep(0.1)
    raise AssertionError("the dead runner's lease never expired")


def _hold(store_url: str, owner: str) -> subprocess.Popen[str]:
    return _spawn("hold", store_url, "nightly@2026-03-29T02:30", owner, str(LEASE))


def test_killed_runner_is_abandoned_and_retried_once(store_url: str) -> None:
    store = open_url(store_url)
    try:
        first = _hold(store_url, "runner-1")
        try:
            got = _first_line(first)
            assert (got["claimed"], got["attempt"]) == (True, 1)
            run_id = got["run_id"]
            # alive: it heart-beats past its first lease and nobody may take the slot
            deadline = time.monotonic() + 30
            while True:
                run = store.run(run_id)
                assert run is not None
                assert run.lease_expires_at is not None
                assert run.heartbeat_at is not None
                if run.heartbeat_at > run.started_at:
                    break
                assert time.monotonic() < deadline, "no heartbeat"
                time.sleep(0.05)
            assert store.abandon_expired(datetime.now(UTC)) == ()
            now = datetime.now(UTC)
            other = store.claim(
                ClaimRequest(
                    automation="nightly",
                    run_key="nightly@2026-03-29T02:30",
                    trigger_reason="schedule",
                    scheduled_for=None,
                    owner="parent",
                    now=now,
                    lease_seconds=LEASE,
                    forbid_overlap=True,
                )
            )
            assert (other.claimed, other.reason) == (False, "already claimed")
        finally:
            _kill9(first)

        gone = _wait_abandoned(store)
        assert [(r.run_id, r.status, r.attempt) for r in gone] == [(run_id, RunStatus.ABANDONED, 1)]
        assert "runner runner-1 stopped heart-beating" in gone[0].error
        steps = store.steps(run_id)
        assert [(s.name, s.status) for s in steps] == [("build", StepStatus.INTERRUPTED)]

        second = _hold(store_url, "runner-2")
        try:
            got = _first_line(second)
            assert (got["claimed"], got["attempt"], got["run_id"]) == (True, 2, run_id)
        finally:
            _kill9(second)
        gone = _wait_abandoned(store)
        assert [(r.run_id, r.attempt) for r in gone] == [(run_id, 2)]
        assert "not retried again" in gone[0].error

        third = _hold(store_url, "runner-3")
        try:
            got = _first_line(third)
            assert (got["claimed"], got["reason"]) == (False, "already claimed")
            third.wait(timeout=60)
        finally:
            for stream in (third.stdout, third.stderr):
                if stream is not None:
                    stream.close()
        final = store.run(run_id)
        assert final is not None
        assert (final.status, final.attempt, final.owner) == (RunStatus.ABANDONED, 2, "runner-2")
        assert [s.attempt for s in store.steps(run_id)] == [1, 2]
    finally:
        store.close()
