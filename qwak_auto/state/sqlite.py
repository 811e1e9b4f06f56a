"""The SQLite state store: one file (default ``.auto/state.db``), WAL, created on first use.

Writers serialise on ``BEGIN IMMEDIATE`` (which waits up to ``busy_timeout``), so a claim's
read-check-insert can never interleave with another process's. Readers never block in WAL.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from qwak_auto.errors import StateError
from qwak_auto.state.approvals import ApprovalStore
from qwak_auto.state.sql import SQLITE_TYPES, Tx, jsonable, utc

# Fixed-width ISO-8601 UTC, so that text order is time order in queries.
TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+00:00"
HINT = "check that the directory is writable and that no other program holds the file locked"


class SqliteStore(ApprovalStore):
    def __init__(self, path: Path, *, busy_timeout: float = 30.0) -> None:
        super().__init__(f"sqlite:///{path}")
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves. check_same_thread=False:
            # the runner's heartbeat thread shares this connection under SqlStore._lock.
            self._conn = sqlite3.connect(
                str(path), timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"{path}: cannot open the state database: {exc}", HINT) from None
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self._wal(busy_timeout)
            self._conn.execute("PRAGMA synchronous = NORMAL")  # durable enough with WAL
            self._migrate(SQLITE_TYPES)
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise StateError(f"{path}: cannot prepare the state database: {exc}", HINT) from None

    def _wal(self, busy_timeout: float) -> None:
        # Switching to WAL needs a moment of exclusive access; several processes opening a
        # new file at once may see "locked" even with busy_timeout, so retry briefly.
        deadline = time.monotonic() + busy_timeout
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self, *, write: bool, lock: str = "") -> Iterator[Tx]:  # noqa: ARG002
        # `lock` needs nothing here: BEGIN IMMEDIATE already serialises all writers.
        with self._lock:
            cur = self._conn.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield Tx(cur, "?")
                except BaseException:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
                cur.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise StateError(f"{self.path}: state database error: {exc}", HINT) from None
            finally:
                cur.close()

    def _is_unique_violation(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc)

    def _ts_in(self, value: datetime | None) -> Any:
        return None if value is None else utc(value).strftime(TS_FORMAT)

    def _ts_out(self, value: Any) -> datetime | None:
        return None if value is None else utc(datetime.fromisoformat(value))

    def _json_in(self, value: Any) -> Any:
        return json.dumps(jsonable(value), sort_keys=True)

    def _json_out(self, value: Any) -> Any:
        return json.loads(value)
