"""Approvals (issue 16): a run that passed its gate waits for a person, holding no runner.

Every change here is one transaction that moves the run and its approval together, so any
number of runners and `auto approve` commands agree on what happened:

- :meth:`ApprovalStore.request_approval`: the runner that holds the run records the approval
  (state ``waiting``), turns the run ``awaiting_approval`` (no lease: nobody holds it) and
  opens its ``approval`` step. Waiting runs of the same automation that started earlier
  become ``superseded`` (by this run); if one that started later already waits, this run is
  superseded by it instead.
- :meth:`ApprovalStore.decide_approval`: approve or reject a waiting run. Approving with an
  ``owner`` also claims the deploy for that owner (the run is ``running`` again, under its
  lease); without one the approval is ``approved`` and the next runner's tick claims it
  (:meth:`ApprovalStore.claim_continuation`). A run past its deadline is expired instead.
- :meth:`ApprovalStore.claim_continuation`: ``approved`` → ``continued``; a conditional
  update, so exactly one runner ever deploys an approved run.
- :meth:`ApprovalStore.expire_approvals`: waiting runs past ``expires_at`` end ``expired``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from qwak_auto.state.base import (
    ApprovalRecord,
    ApprovalState,
    Decided,
    RunRecord,
    RunStatus,
    StepStatus,
)
from qwak_auto.state.claims import SqlStore
from qwak_auto.state.columns import APPROVAL_COLUMNS
from qwak_auto.state.sql import Tx, upsert_sql, utc

STEP = "approval"  # the run's step that waits for the person


def _when(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


class ApprovalStore(SqlStore):
    """The approval part of the StateStore (both dialects)."""

    def request_approval(self, approval: ApprovalRecord, owner: str) -> Sequence[str] | None:
        """Record ``approval`` for a run ``owner`` holds; the run ids superseded by it (this
        run's own id when a newer run already waits). None when the run is not ``owner``'s
        running run any more (its lease was taken over): nothing is recorded then."""
        a = approval
        now = utc(a.requested_at)
        with self._lock, self._transaction(write=True, lock=f"approval:{a.automation}") as tx:
            changed = tx.run(
                "UPDATE runs SET status = ?, lease_expires_at = NULL, ended_at = NULL"
                " WHERE run_id = ? AND owner = ? AND status = ?",
                RunStatus.AWAITING_APPROVAL.value,
                a.run_id,
                owner,
                RunStatus.RUNNING.value,
            )
            if changed != 1:
                return None
            values = self._encoded(a, APPROVAL_COLUMNS, state=ApprovalState(a.state).value)
            tx.run(upsert_sql("approvals", APPROVAL_COLUMNS, "run_id"), *values)
            self._open_step(tx, a, now)
            return self._supersede_others(tx, a, now)

    def _open_step(self, tx: Tx, a: ApprovalRecord, now: datetime) -> None:
        row = tx.one("SELECT attempt FROM runs WHERE run_id = ?", a.run_id)
        tx.run(
            "INSERT INTO steps (run_id, attempt, name, status, started_at, reason, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            a.run_id,
            int(row["attempt"]) if row else 1,
            STEP,
            StepStatus.WAITING.value,
            self._ts_in(now),
            f"waiting for approval until {_when(a.expires_at)}: auto approve {a.run_id}",
            self._json_in({"build_id": a.build_id, "expires_at": _when(a.expires_at)}),
        )

    def _supersede_others(self, tx: Tx, a: ApprovalRecord, now: datetime) -> list[str]:
        rows = tx.rows(
            "SELECT approvals.run_id AS run_id, runs.started_at AS started_at"
            " FROM approvals JOIN runs ON runs.run_id = approvals.run_id"
            " WHERE approvals.automation = ? AND approvals.state = ?",
            a.automation,
            ApprovalState.WAITING.value,
        )
        started = {str(r["run_id"]): self._req_ts(r["started_at"]) for r in rows}
        mine = started.pop(a.run_id, now)
        newer = sorted((at, rid) for rid, at in started.items() if at > mine)
        if newer:  # concurrency: allow, and a run that started later already waits
            self._end(tx, a.run_id, ApprovalState.SUPERSEDED, now, by=newer[-1][1])
            return [a.run_id]
        for run_id in sorted(started):
            self._end(tx, run_id, ApprovalState.SUPERSEDED, now, by=a.run_id)
        return sorted(started)

    def _end(
        self,
        tx: Tx,
        run_id: str,
        state: ApprovalState,
        now: datetime,
        *,
        by: str = "",
        reason: str = "",
        who: str = "",
        comment: str = "",
    ) -> bool:
        """End a waiting approval without a deploy (superseded, expired or rejected)."""
        if state == ApprovalState.SUPERSEDED:
            reason = f"superseded by run {by}: it reached approval with a newer build"
        changed = tx.run(
            "UPDATE approvals SET state = ?, superseded_by = ?, decided_by = ?, decided_at = ?,"
            " comment = ? WHERE run_id = ? AND state = ?",
            state.value,
            by,
            who,
            self._ts_in(now),
            comment,
            run_id,
            ApprovalState.WAITING.value,
        )
        if changed != 1:
            return False
        tx.run(
            "UPDATE runs SET status = ?, error = ?, ended_at = ?, lease_expires_at = NULL"
            " WHERE run_id = ? AND status = ?",
            RunStatus(state.value).value,
            reason,
            self._ts_in(now),
            run_id,
            RunStatus.AWAITING_APPROVAL.value,
        )
        self._close_step(tx, run_id, StepStatus.SKIPPED, reason, now)
        return True

    def _close_step(
        self, tx: Tx, run_id: str, status: StepStatus, reason: str, now: datetime
    ) -> None:
        tx.run(
            "UPDATE steps SET status = ?, reason = ?, ended_at = ?"
            " WHERE run_id = ? AND name = ? AND status = ?",
            status.value,
            reason,
            self._ts_in(now),
            run_id,
            STEP,
            StepStatus.WAITING.value,
        )

    # -- reading -------------------------------------------------------------------------
    def approval(self, run_id: str) -> ApprovalRecord | None:
        with self._lock, self._transaction(write=False) as tx:
            row = tx.one(f"SELECT {APPROVAL_COLUMNS} FROM approvals WHERE run_id = ?", run_id)
        return self._approval(row) if row else None

    def approvals(
        self,
        automation: str | None = None,
        states: Sequence[ApprovalState] = (),
        limit: int = 100,
    ) -> Sequence[ApprovalRecord]:
        where = {"automation": automation, "state": tuple(ApprovalState(s).value for s in states)}
        select = f"SELECT {APPROVAL_COLUMNS} FROM approvals"
        rows = self._newest(select, where, "requested_at DESC, run_id", limit)
        return tuple(self._approval(r) for r in rows)

    def _approval(self, r: Mapping[str, Any]) -> ApprovalRecord:
        return ApprovalRecord(**self._decoded(r, state=ApprovalState))

    # -- deciding ------------------------------------------------------------------------
    def decide_approval(
        self,
        run_id: str,
        *,
        approve: bool,
        by: str,
        comment: str,
        now: datetime,
        owner: str | None = None,
        lease_seconds: float = 60.0,
    ) -> Decided | None:
        """Approve or reject a waiting run (None: no approval for that run). With ``owner``
        an approval also claims the deploy for that owner, in the same transaction."""
        now = utc(now)
        with self._lock, self._transaction(write=True, lock=f"approval-run:{run_id}") as tx:
            row = tx.one(f"SELECT {APPROVAL_COLUMNS} FROM approvals WHERE run_id = ?", run_id)
            if row is None:
                return None
            current = self._approval(row)
            if current.state != ApprovalState.WAITING:
                return Decided(changed=False, approval=current)
            if current.expires_at <= now:
                self._expire(tx, current, now)
                return Decided(changed=False, approval=self._fresh(tx, run_id))
            who = f"{by}: {comment}" if comment else by
            if not approve:
                self._end(
                    tx, run_id, ApprovalState.REJECTED, now,
                    reason=f"rejected by {who}", who=by, comment=comment,
                )  # fmt: skip
                return Decided(changed=True, approval=self._fresh(tx, run_id))
            tx.run(
                "UPDATE approvals SET state = ?, decided_by = ?, decided_at = ?, comment = ?"
                " WHERE run_id = ? AND state = ?",
                ApprovalState.APPROVED.value,
                by,
                self._ts_in(now),
                comment,
                run_id,
                ApprovalState.WAITING.value,
            )
            self._close_step(tx, run_id, StepStatus.OK, f"approved by {who}", now)
            run = self._continue(tx, run_id, owner, now, lease_seconds) if owner else None
            return Decided(changed=True, approval=self._fresh(tx, run_id), run=run)

    def claim_continuation(
        self, run_id: str, owner: str, now: datetime, lease_seconds: float
    ) -> RunRecord | None:
        """Claim the deploy of an approved run for ``owner`` (None: not approved, or another
        runner claimed it first)."""
        now = utc(now)
        with self._lock, self._transaction(write=True, lock=f"approval-run:{run_id}") as tx:
            return self._continue(tx, run_id, owner, now, lease_seconds)

    def _continue(
        self, tx: Tx, run_id: str, owner: str, now: datetime, lease_seconds: float
    ) -> RunRecord | None:
        changed = tx.run(
            "UPDATE approvals SET state = ?, continued_by = ?, continued_at = ?"
            " WHERE run_id = ? AND state = ?",
            ApprovalState.CONTINUED.value,
            owner,
            self._ts_in(now),
            run_id,
            ApprovalState.APPROVED.value,
        )
        if changed != 1:
            return None
        claimed = tx.run(
            "UPDATE runs SET status = ?, owner = ?, ended_at = NULL, error = '',"
            " lease_expires_at = ?, heartbeat_at = ? WHERE run_id = ? AND status = ?",
            RunStatus.RUNNING.value,
            owner,
            self._ts_in(now + timedelta(seconds=lease_seconds)),
            self._ts_in(now),
            run_id,
            RunStatus.AWAITING_APPROVAL.value,
        )
        if claimed != 1:
            raise RuntimeError(f"run {run_id} was approved but is not awaiting approval")
        return self._current_run(tx, run_id)

    def expire_approvals(self, now: datetime) -> Sequence[ApprovalRecord]:
        """Waiting runs whose deadline passed end ``expired``; returns those (once each)."""
        now = utc(now)
        out: list[ApprovalRecord] = []
        due = "SELECT run_id FROM approvals WHERE state = ? AND expires_at <= ? LIMIT 1"
        with self._lock, self._transaction(write=False) as tx:
            # every tick asks: only take the write lock when something is due
            if tx.one(due, ApprovalState.WAITING.value, self._ts_in(now)) is None:
                return ()
        with self._lock, self._transaction(write=True, lock="approvals-expire") as tx:
            rows = tx.rows(
                f"SELECT {APPROVAL_COLUMNS} FROM approvals WHERE state = ? AND expires_at <= ?",
                ApprovalState.WAITING.value,
                self._ts_in(now),
            )
            for row in rows:
                current = self._approval(row)
                if self._expire(tx, current, now):
                    out.append(self._fresh(tx, current.run_id))
        return tuple(out)

    def _expire(self, tx: Tx, a: ApprovalRecord, now: datetime) -> bool:
        waited = a.expires_at - a.requested_at
        reason = (
            f"not approved within {_span(waited)} (expired at {_when(a.expires_at)}); not deployed"
        )
        return self._end(tx, a.run_id, ApprovalState.EXPIRED, now, reason=reason)

    def _fresh(self, tx: Tx, run_id: str) -> ApprovalRecord:
        row = tx.one(f"SELECT {APPROVAL_COLUMNS} FROM approvals WHERE run_id = ?", run_id)
        assert row is not None
        return self._approval(row)


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
