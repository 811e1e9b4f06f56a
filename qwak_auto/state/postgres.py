"""The PostgreSQL state store (``AUTO_STATE_URL=postgresql://…``), through psycopg 3.

Several runners on several machines share one database. The ``run_key`` unique constraint
decides a claim; a transaction-scoped advisory lock per automation also serialises claims of
one automation, so the "never two runs at once" check cannot race. Migrations take an
advisory lock too, so concurrent first use is safe. Every statement has a timeout.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from qwak_auto import redact
from qwak_auto.errors import StateError
from qwak_auto.state.approvals import ApprovalStore
from qwak_auto.state.sql import POSTGRES_TYPES, Tx, jsonable, utc

LOCK_NAMESPACE = 0x5157  # first key of our advisory locks ("QW"), the second is hashtext(name)
CONNECT_TIMEOUT_S = 10
STATEMENT_TIMEOUT_MS = 60_000
HINT = (
    "check AUTO_STATE_URL (postgresql://USER[:PASSWORD]@HOST:PORT/DATABASE)"
    " and that the server runs"
)


def display_url(url: str) -> str:
    """The URL without its password (for messages and ``store.url``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[-1]}"))


class PostgresStore(ApprovalStore):
    def __init__(self, url: str) -> None:
        super().__init__(display_url(url))
        password = urlsplit(url).password
        if password:
            redact.register(password)
        self._dsn = url
        self._conn: Any = None
        self._connect()
        try:
            self._migrate(POSTGRES_TYPES)
        except Exception:
            self.close()
            raise

    def _connect(self) -> None:
        import psycopg

        try:
            self._conn = psycopg.connect(
                self._dsn,
                autocommit=True,  # transactions are explicit: conn.transaction()
                connect_timeout=CONNECT_TIMEOUT_S,
                options=(
                    f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"
                    f" -c lock_timeout={STATEMENT_TIMEOUT_MS} -c TimeZone=UTC"
                ),
            )
        except psycopg.Error as exc:
            detail = redact.redact(str(exc).strip().splitlines()[0] if str(exc).strip() else "")
            raise StateError(
                f"cannot connect to the PostgreSQL state store {self.url}: {detail}", HINT
            ) from None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()

    @contextmanager
    def _transaction(self, *, write: bool, lock: str = "") -> Iterator[Tx]:  # noqa: ARG002
        # `write` needs nothing here: row locks and the unique constraint do that job.
        import psycopg

        with self._lock:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._connect()  # the server restarted or the network dropped: reconnect
            try:
                with self._conn.transaction(), self._conn.cursor() as cur:
                    if lock:
                        cur.execute(
                            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                            (LOCK_NAMESPACE, lock),
                        )
                    yield Tx(cur, "%s")
            except (psycopg.OperationalError, psycopg.errors.QueryCanceled) as exc:
                detail = redact.redact(str(exc).strip())
                raise StateError(f"PostgreSQL state store {self.url}: {detail}", HINT) from None

    def _is_unique_violation(self, exc: BaseException) -> bool:
        import psycopg

        return isinstance(exc, psycopg.errors.UniqueViolation)

    def _ts_in(self, value: datetime | None) -> Any:
        return None if value is None else utc(value)

    def _ts_out(self, value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # e.g. through a view or a cast
            value = datetime.fromisoformat(value)
        return utc(value) if value.tzinfo else value.replace(tzinfo=UTC)

    def _json_in(self, value: Any) -> Any:
        from psycopg.types.json import Jsonb

        return Jsonb(jsonable(value))

    def _json_out(self, value: Any) -> Any:
        return value  # psycopg loads jsonb already
