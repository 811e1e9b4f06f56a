"""Approvals in the state store (issue 16), on SQLite and on PostgreSQL: waiting runs hold
no lease, a newer waiting run supersedes an older one, approving claims the deploy exactly
once however many processes try, and deadlines expire runs."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from qwak_auto.state import open_url
from qwak_auto.state.base import (
    ApprovalRecord,
    ApprovalState,
    ClaimRequest,
    RunStatus,
    StateStore,
    StepStatus,
)

ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _running(store: StateStore, key: str, owner: str = "runner-1", at: datetime = T0) -> str:
    claim = store.claim(
        ClaimRequest(
            automation="churn",
            run_key=key,
            trigger_reason="schedule",
            scheduled_for=at,
            owner=owner,
            now=at,
            lease_seconds=60,
            forbid_overlap=False,
        )
    )
    assert claim.run is not None
    return claim.run.run_id


def _wait(store: StateStore, run_id: str, at: datetime = T0, hours: int = 24) -> list[str]:
    record = ApprovalRecord(
        run_id=run_id, automation="churn", model_id="churn", build_id=f"b-{run_id[:6]}",
        state=ApprovalState.WAITING, requested_at=at, expires_at=at + timedelta(hours=hours),
        detail={"build": {"build_id": f"b-{run_id[:6]}", "metrics": {"f1": 0.7}}},
    )  # fmt: skip
    superseded = store.request_approval(record, "runner-1")
    assert superseded is not None
    return list(superseded)


def test_a_waiting_run_holds_nothing_and_survives_reopening(store_url: str) -> None:
    store = open_url(store_url)
    run_id = _running(store, "churn@1")
    assert _wait(store, run_id) == []
    store.close()
    store = open_url(store_url)  # every runner restarted
    try:
        run = store.run(run_id)
        assert run is not None
        assert run.status == RunStatus.AWAITING_APPROVAL
        assert run.lease_expires_at is None
        assert run.ended_at is None
        # Far beyond any lease: nothing is abandoned, nothing expires before its deadline.
        assert store.abandon_expired(T0 + timedelta(hours=23)) == ()
        assert store.expire_approvals(T0 + timedelta(hours=23)) == ()
        (step,) = store.steps(run_id)
        assert (step.name, step.status) == ("approval", StepStatus.WAITING)
        assert f"auto approve {run_id}" in step.reason
        (waiting,) = store.approvals("churn", (ApprovalState.WAITING,))
        assert waiting.detail["build"]["metrics"] == {"f1": 0.7}
    finally:
        store.close()


def test_request_needs_the_runs_owner(store: StateStore) -> None:
    run_id = _running(store, "churn@1")
    record = ApprovalRecord(
        run_id=run_id, automation="churn", model_id="churn", build_id="b", requested_at=T0,
        state=ApprovalState.WAITING, expires_at=T0 + timedelta(hours=1),
    )  # fmt: skip
    assert store.request_approval(record, "someone-else") is None
    assert store.approval(run_id) is None
    run = store.run(run_id)
    assert run is not None
    assert run.status == RunStatus.RUNNING


def test_newer_waiting_run_supersedes_the_older(store: StateStore) -> None:
    older = _running(store, "churn@1", at=T0)
    _wait(store, older, at=T0)
    newer = _running(store, "churn@2", at=T0 + timedelta(hours=1))
    assert _wait(store, newer, at=T0 + timedelta(hours=1, minutes=5)) == [older]
    old = store.approval(older)
    assert old is not None
    assert (old.state, old.superseded_by) == (ApprovalState.SUPERSEDED, newer)
    run = store.run(older)
    assert run is not None
    assert run.status == RunStatus.SUPERSEDED
    assert run.error.startswith(f"superseded by run {newer}")
    assert store.steps(older)[-1].status == StepStatus.SKIPPED
    refused = store.decide_approval(older, approve=True, by="alice", comment="", now=T0)
    assert refused is not None
    assert not refused.changed
    assert refused.approval.superseded_by == newer


def test_an_older_run_reaching_approval_late_is_superseded_at_once(store: StateStore) -> None:
    """concurrency: allow — the run that started later already waits."""
    older = _running(store, "churn@1", at=T0)
    newer = _running(store, "churn@2", at=T0 + timedelta(minutes=1))
    _wait(store, newer, at=T0 + timedelta(minutes=10))
    assert _wait(store, older, at=T0 + timedelta(minutes=20)) == [older]
    record = store.approval(older)
    assert record is not None
    assert (record.state, record.superseded_by) == (ApprovalState.SUPERSEDED, newer)
    still = store.approval(newer)
    assert still is not None
    assert still.state == ApprovalState.WAITING


def test_reject_and_expire(store: StateStore) -> None:
    rejected = _running(store, "churn@1")
    _wait(store, rejected)
    decided = store.decide_approval(rejected, approve=False, by="bob", comment="odd", now=T0)
    assert decided is not None
    assert decided.changed
    run = store.run(rejected)
    assert run is not None
    assert (run.status, run.error) == (RunStatus.REJECTED, "rejected by bob: odd")

    expiring = _running(store, "churn@2", owner="runner-2")
    record = ApprovalRecord(
        run_id=expiring, automation="other", model_id="other", build_id="b",
        state=ApprovalState.WAITING, requested_at=T0, expires_at=T0 + timedelta(hours=2),
    )  # fmt: skip
    assert store.request_approval(record, "runner-2") == []
    assert store.expire_approvals(T0 + timedelta(hours=1)) == ()
    (gone,) = store.expire_approvals(T0 + timedelta(hours=2))
    assert gone.run_id == expiring
    assert store.expire_approvals(T0 + timedelta(hours=3)) == ()  # once
    run = store.run(expiring)
    assert run is not None
    assert run.status == RunStatus.EXPIRED
    assert run.error == "not approved within 2h (expired at 2026-05-01T14:00:00Z); not deployed"
    # Approving past the deadline expires instead of approving.
    late = _running(store, "churn@3", owner="runner-1")
    _wait(store, late, hours=1)
    after = store.decide_approval(
        late, approve=True, by="x", comment="", now=T0 + timedelta(hours=2)
    )
    assert after is not None
    assert (after.changed, after.approval.state) == (False, ApprovalState.EXPIRED)


def test_approve_now_claims_the_deploy_in_one_transaction(store: StateStore) -> None:
    run_id = _running(store, "churn@1")
    _wait(store, run_id)
    now = T0 + timedelta(minutes=3)
    decided = store.decide_approval(
        run_id, approve=True, by="alice", comment="ok", now=now, owner="approver", lease_seconds=30
    )
    assert decided is not None
    assert decided.run is not None
    assert (decided.run.status, decided.run.owner) == (RunStatus.RUNNING, "approver")
    assert decided.approval.state == ApprovalState.CONTINUED
    assert store.claim_continuation(run_id, "runner-9", now, 30) is None
    # The continuing runner holds a lease like any run: heartbeats work, finish works.
    assert store.heartbeat(run_id, "approver", now, 30)
    store.finish_run(run_id, RunStatus.SUCCEEDED, "", now, owner="approver")
    run = store.run(run_id)
    assert run is not None
    assert run.status == RunStatus.SUCCEEDED


def test_many_processes_claim_an_approved_run_once(store_url: str, tmp_path: Path) -> None:
    store = open_url(store_url)
    try:
        run_id = _running(store, "churn@1")
        _wait(store, run_id)
        later = store.decide_approval(run_id, approve=True, by="a", comment="", now=T0)
        assert later is not None
        assert later.approval.state == ApprovalState.APPROVED
    finally:
        store.close()
    start = tmp_path / "go"
    code = (
        "import json, sys, time\n"
        "from datetime import UTC, datetime\n"
        "from pathlib import Path\n"
        "from qwak_auto.state import open_url\n"
        "url, run_id, owner, start = sys.argv[1:]\n"
        "store = open_url(url)\n"
        "while not Path(start).exists(): time.sleep(0.002)\n"
        "run = store.claim_continuation(run_id, owner, datetime.now(UTC), 60)\n"
        "print(json.dumps(run is not None))\n"
        "store.close()\n"
    )
    argv = [sys.executable, "-c", code, store_url, run_id]
    procs = [
        subprocess.Popen(
            [*argv, f"runner-{i}", str(start)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(8)
    ]
    time.sleep(1.0)  # let every process open the store first
    start.touch()
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, [err[-1000:] for _, err in results]
    assert sorted(json.loads(out) for out, _ in results) == [False] * 7 + [True]
