"""Runs, claims, leases and steps: the exactly-once part of the store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from qwak_auto.state.base import Claim, ClaimRequest, RunRecord, RunStatus, StepRecord, StepStatus
from qwak_auto.state.columns import RUN_COLUMNS, STEP_COLUMNS
from qwak_auto.state.records import RecordStore
from qwak_auto.state.sql import ALREADY_CLAIMED, STILL_RUNNING, Tx, new_id, utc


class SqlStore(RecordStore):
    """The whole StateStore on top of the dialect hooks of :class:`SqlBase`."""

    # -- runs and claims -----------------------------------------------------------------
    def claim(self, request: ClaimRequest) -> Claim:
        """Claim the slot ``run_key`` in one transaction (see state/__init__.py for the rules)."""
        now = utc(request.now)
        lease = now + timedelta(seconds=request.lease_seconds)
        try:
            with (
                self._lock,
                self._transaction(write=True, lock=f"claim:{request.automation}") as tx,
            ):
                return self._claim(tx, request, now, lease)
        except Exception as exc:
            # Another process inserted the same run_key first: the unique constraint decides.
            if self._is_unique_violation(exc):
                return Claim(claimed=False, reason=ALREADY_CLAIMED)
            raise

    def _claim(self, tx: Tx, request: ClaimRequest, now: datetime, lease: datetime) -> Claim:
        existing = tx.one(f"SELECT {RUN_COLUMNS} FROM runs WHERE run_key = ?", request.run_key)
        retry = (
            existing is not None
            and existing["status"] == RunStatus.ABANDONED
            and int(existing["attempt"]) == 1
        )
        if existing is not None and not retry:
            return Claim(claimed=False, reason=ALREADY_CLAIMED)
        if request.forbid_overlap:
            busy = tx.one(
                "SELECT run_id FROM runs WHERE automation = ? AND status = ?"
                " AND lease_expires_at >= ? AND run_key <> ?",
                request.automation,
                RunStatus.RUNNING.value,
                self._ts_in(now),
                request.run_key,
            )
            if busy is not None:
                if existing is None:  # record the skip once; an abandoned slot waits instead
                    self._insert_run(tx, request, now, RunStatus.SKIPPED, STILL_RUNNING, None)
                return Claim(claimed=False, reason=STILL_RUNNING)
        if existing is not None:
            changed = tx.run(
                "UPDATE runs SET status = ?, attempt = 2, owner = ?, started_at = ?,"
                " ended_at = NULL, error = '', lease_expires_at = ?, heartbeat_at = ?"
                " WHERE run_id = ? AND status = ? AND attempt = 1",
                RunStatus.RUNNING.value,
                request.owner,
                self._ts_in(now),
                self._ts_in(lease),
                self._ts_in(now),
                existing["run_id"],
                RunStatus.ABANDONED.value,
            )
            if changed != 1:
                return Claim(claimed=False, reason=ALREADY_CLAIMED)
            run_id = str(existing["run_id"])
        else:
            run_id = self._insert_run(tx, request, now, RunStatus.RUNNING, "", lease)
        return Claim(claimed=True, run=self._current_run(tx, run_id))

    def _insert_run(
        self,
        tx: Tx,
        request: ClaimRequest,
        now: datetime,
        status: RunStatus,
        error: str,
        lease: datetime | None,
    ) -> str:
        run_id = new_id()
        ended = None if status == RunStatus.RUNNING else now
        tx.run(
            f"INSERT INTO runs ({RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
            run_id,
            request.run_key,
            request.automation,
            request.trigger_reason,
            self._ts_in(request.scheduled_for),
            request.owner,
            status.value,
            self._ts_in(now),
            self._ts_in(ended),
            error,
            self._ts_in(lease),
            self._ts_in(now if lease is not None else None),
        )
        return run_id

    def heartbeat(self, run_id: str, owner: str, now: datetime, lease_seconds: float) -> bool:
        now = utc(now)
        with self._lock, self._transaction(write=True) as tx:
            changed = tx.run(
                "UPDATE runs SET lease_expires_at = ?, heartbeat_at = ?"
                " WHERE run_id = ? AND owner = ? AND status = ?",
                self._ts_in(now + timedelta(seconds=lease_seconds)),
                self._ts_in(now),
                run_id,
                owner,
                RunStatus.RUNNING.value,
            )
        return changed == 1

    def finish_run(
        self,
        run_id: str,
        status: RunStatus,
        error: str,
        now: datetime,
        owner: str | None = None,
    ) -> None:
        sql = (
            "UPDATE runs SET status = ?, error = ?, ended_at = ?, lease_expires_at = NULL"
            " WHERE run_id = ?"
        )
        params: list[Any] = [RunStatus(status).value, error, self._ts_in(now), run_id]
        if owner is not None:
            sql += " AND owner = ? AND status = ?"
            params += [owner, RunStatus.RUNNING.value]
        with self._lock, self._transaction(write=True) as tx:
            tx.run(sql, *params)

    def abandon_expired(self, now: datetime) -> Sequence[RunRecord]:
        now = utc(now)
        with self._lock, self._transaction(write=True, lock="abandon") as tx:
            expired = tx.rows(
                f"SELECT {RUN_COLUMNS} FROM runs WHERE status = ? AND lease_expires_at < ?",
                RunStatus.RUNNING.value,
                self._ts_in(now),
            )
            abandoned = [self._abandon(tx, self._run(row), now) for row in expired]
        return tuple(run for run in abandoned if run is not None)

    def _abandon(self, tx: Tx, run: RunRecord, now: datetime) -> RunRecord | None:
        """The run, whose lease expired, now ``abandoned`` with its running steps
        ``interrupted``; None when it is no longer that owner's running run."""
        beat = run.heartbeat_at or run.started_at
        then = _what_next(run)
        error = (
            f"runner {run.owner} stopped heart-beating at "
            f"{beat.isoformat(timespec='seconds')}; {then}"
        )
        changed = tx.run(
            "UPDATE runs SET status = ?, error = ?, ended_at = ?"
            " WHERE run_id = ? AND status = ? AND owner = ?",
            RunStatus.ABANDONED.value,
            error,
            self._ts_in(now),
            run.run_id,
            RunStatus.RUNNING.value,
            run.owner,
        )
        if changed != 1:
            return None
        tx.run(
            "UPDATE steps SET status = ?, ended_at = ?, reason = ? WHERE run_id = ? AND status = ?",
            StepStatus.INTERRUPTED.value,
            self._ts_in(now),
            f"interrupted: {error}",
            run.run_id,
            StepStatus.RUNNING.value,
        )
        return self._current_run(tx, run.run_id)

    def runs(self, automation: str | None = None, limit: int = 20) -> Sequence[RunRecord]:
        select = f"SELECT {RUN_COLUMNS} FROM runs"
        rows = self._newest(select, {"automation": automation}, "started_at DESC, seq DESC", limit)
        return tuple(self._run(r) for r in rows)

    def run(self, run_id: str) -> RunRecord | None:
        with self._lock, self._transaction(write=False) as tx:
            row = tx.one(f"SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ?", run_id)
        return self._run(row) if row else None

    def last_run(self, automation: str) -> RunRecord | None:
        found = self.runs(automation, limit=1)
        return found[0] if found else None

    def last_slot(self, automation: str) -> datetime | None:
        """The latest slot recorded for the automation (claimed, skipped or retried)."""
        with self._lock, self._transaction(write=False) as tx:
            row = tx.one(
                "SELECT MAX(scheduled_for) AS slot FROM runs WHERE automation = ?", automation
            )
        return self._ts_out(row["slot"]) if row else None

    def _current_run(self, tx: Tx, run_id: str) -> RunRecord:
        """The run as this transaction sees it now (it exists)."""
        row = tx.one(f"SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ?", run_id)
        assert row is not None
        return self._run(row)

    def _run(self, row: Mapping[str, Any]) -> RunRecord:
        return RunRecord(**self._decoded(row, status=RunStatus, attempt=int))

    # -- steps ---------------------------------------------------------------------------
    def start_step(self, run_id: str, name: str, now: datetime) -> None:
        with self._lock, self._transaction(write=True) as tx:
            self._insert_step(tx, run_id, name, StepStatus.RUNNING, now)

    def _insert_step(
        self, tx: Tx, run_id: str, name: str, status: StepStatus, now: datetime
    ) -> None:
        row = tx.one("SELECT attempt FROM runs WHERE run_id = ?", run_id)
        attempt = int(row["attempt"]) if row else 1
        tx.run(
            "INSERT INTO steps (run_id, attempt, name, status, started_at, reason, detail)"
            " VALUES (?, ?, ?, ?, ?, '', ?)",
            run_id,
            attempt,
            name,
            status.value,
            self._ts_in(now),
            self._json_in({}),
        )

    def finish_step(
        self,
        run_id: str,
        name: str,
        status: StepStatus,
        reason: str,
        detail: Mapping[str, Any],
        now: datetime,
    ) -> None:
        """End the latest step of that name (a step never started is recorded as it ends)."""
        with self._lock, self._transaction(write=True) as tx:
            row = tx.one(
                "SELECT MAX(seq) AS seq FROM steps WHERE run_id = ? AND name = ?", run_id, name
            )
            if row is None or row["seq"] is None:
                self._insert_step(tx, run_id, name, StepStatus(status), now)
                row = tx.one(
                    "SELECT MAX(seq) AS seq FROM steps WHERE run_id = ? AND name = ?", run_id, name
                )
                assert row is not None
            tx.run(
                "UPDATE steps SET status = ?, reason = ?, detail = ?, ended_at = ? WHERE seq = ?",
                StepStatus(status).value,
                reason,
                self._json_in(dict(detail)),
                self._ts_in(now),
                row["seq"],
            )

    def steps(self, run_id: str) -> Sequence[StepRecord]:
        with self._lock, self._transaction(write=False) as tx:
            rows = tx.rows(
                f"SELECT {STEP_COLUMNS} FROM steps WHERE run_id = ? ORDER BY seq", run_id
            )
        return tuple(StepRecord(**self._decoded(r, status=StepStatus, attempt=int)) for r in rows)


def _what_next(run: RunRecord) -> str:
    """What happens to an abandoned run, as the tick does it (schedule/tick.py): a slot is
    retried once; a manual run (`auto trigger`, run key ``NAME@manual:UUID``) is not retried
    at all (issue 14)."""
    if "@manual:" in run.run_key:
        return f"manual runs are not retried: `auto trigger {run.automation}` starts it again"
    return "the slot will be retried once" if run.attempt < 2 else "not retried again"
