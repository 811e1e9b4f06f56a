"""User SQL on the analytics store: read-only and bounded.

Every threshold query, metric-trigger query and `auto query` goes through :func:`run_query`:
a separate read-only connection with external access off and the configuration locked;
exactly one statement, a SELECT (or WITH/FROM/VALUES) by DuckDB's own parser as well as by
its first word; at most ``max_rows`` rows; a wall-clock timeout that interrupts the query.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from qwak_auto.analytics.store import ensure_store, store_path, with_retry
from qwak_auto.errors import ConditionError

if TYPE_CHECKING:
    from qwak_auto.automation.model import MetricTrigger
    from qwak_auto.config import Config

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_ROWS = 1000
READ_WAIT_SECONDS = 10.0
# Every read-only connection of a process must use the same configuration (DuckDB refuses
# a second one to the same file that differs).
READ_CONFIG = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    # Locked at open: readers of one file in one process share a database instance, so a
    # later `SET lock_configuration` would fail on the already locked one.
    "lock_configuration": True,
}
# DESCRIBE/SHOW/SUMMARIZE are SELECTs to DuckDB's parser too (reads, handy to explore).
_FIRST_WORDS = ("SELECT", "WITH", "FROM", "VALUES", "(", "DESCRIBE", "SHOW", "SUMMARIZE")
_KIND_NAMES = {"LOAD": "INSTALL/LOAD", "MULTI": "several statements in one (e.g. PIVOT)"}
_COMMENTS = re.compile(r"(--[^\n]*(\n|$))|(/\*.*?\*/)", re.S)


class QueryRefused(ConditionError):
    """The SQL is not something the gate runs (refused before it ran)."""


class QueryFailed(ConditionError):
    """The SQL ran and failed (error, timeout, too many rows)."""


@dataclass(frozen=True, slots=True)
class QueryResult:
    sql: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ScalarResult:
    """What a threshold or trigger query yields: a value that counts, or why it does not."""

    sql: str
    value: float | None
    ok: bool  # exactly one row, one column, a finite number
    no_data: bool  # zero rows or NULL (a metric trigger's on_no_data applies)
    reason: str  # "" when ok
    result: QueryResult | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def check_statement(sql: str) -> str:
    """The single SELECT statement in ``sql`` (trailing ';' dropped), or QueryRefused."""
    import duckdb

    text = sql.strip()
    if not text:
        raise QueryRefused("the query is empty")
    try:
        statements = duckdb.extract_statements(text)
    except duckdb.Error as exc:
        raise QueryRefused(f"the query does not parse: {_first_line(exc)}") from None
    if len(statements) != 1:
        raise QueryRefused(
            f"the query must be exactly one statement, found {len(statements)}",
            "remove the extra statements (a threshold is one SELECT)",
        )
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise QueryRefused(
            f"only SELECT queries are allowed, this is {_KIND_NAMES.get(kind.name, kind.name)}",
            "the analytics store is read-only: COPY, ATTACH, INSTALL/LOAD, SET/PRAGMA and "
            "writes are refused",
        )
    first = _COMMENTS.sub(" ", text).lstrip().upper()
    if not first.startswith(_FIRST_WORDS):
        word = first.split(None, 1)[0] if first.split() else ""
        raise QueryRefused(f"only SELECT queries are allowed, this starts with {word}")
    return text.rstrip().rstrip(";").rstrip()


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _explain(exc: BaseException) -> str:
    import duckdb

    text = _first_line(exc)
    if isinstance(exc, duckdb.PermissionException):
        return (
            f"{text} (the store is read-only with external access off: files, extensions "
            "and settings are out of reach)"
        )
    return text


def open_reader(config: Config, wait_seconds: float = READ_WAIT_SECONDS) -> Any:
    """A read-only, locked-down connection to the analytics file (created empty if new)."""
    import duckdb

    path = ensure_store(config)
    conn = with_retry(
        lambda: duckdb.connect(str(path), read_only=True, config=dict(READ_CONFIG)),
        wait_seconds,
        "reading",
    )
    locked = conn.execute("SELECT current_setting('lock_configuration')").fetchone()
    if not (locked and locked[0] is True):
        conn.execute("SET lock_configuration = true")
    return conn


def run_query(
    config: Config,
    sql: str,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    timeout: float = DEFAULT_TIMEOUT,
) -> QueryResult:
    """Run one user SELECT read-only; raises QueryRefused / QueryFailed with the reason."""
    import duckdb

    statement = check_statement(sql)
    conn = open_reader(config)
    timed_out = threading.Event()

    def interrupt() -> None:
        timed_out.set()
        with suppress(duckdb.Error):  # the query may have ended and closed meanwhile
            conn.interrupt()

    timer = threading.Timer(timeout, interrupt)
    timer.daemon = True
    started = time.perf_counter()
    try:
        timer.start()
        try:
            cursor = conn.execute(statement)
            rows = cursor.fetchmany(max_rows + 1)
            description = cursor.description or []
        except duckdb.Error as exc:
            if timed_out.is_set() or isinstance(exc, duckdb.InterruptException):
                raise QueryFailed(
                    f"the query was interrupted after the {timeout:g}s time limit",
                    "narrow it: a WHERE on ts, fewer rows joined",
                ) from None
            hint = ""
            if isinstance(exc, duckdb.BinderException | duckdb.CatalogException):
                hint = (
                    'list the tables with auto query "SHOW TABLES", '
                    'their columns with auto query "DESCRIBE predictions"'
                )
            raise QueryFailed(f"the query failed: {_explain(exc)}", hint) from None
        finally:
            timer.cancel()
    finally:
        conn.close()
    if len(rows) > max_rows:
        raise QueryFailed(
            f"the query returned more than {max_rows} rows",
            "aggregate it (a threshold is one value) or add a LIMIT",
        )
    return QueryResult(
        sql=statement,
        columns=tuple(str(d[0]) for d in description),
        types=tuple(str(d[1]) for d in description),
        rows=tuple(tuple(r) for r in rows),
        seconds=time.perf_counter() - started,
    )


def as_number(value: Any) -> float | None:
    """A float for numeric SQL values (not booleans), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    return None


def evaluate_scalar(config: Config, sql: str) -> ScalarResult:
    """Run ``sql`` exactly as a gate does and say whether it yields one finite number."""
    try:
        result = run_query(config, sql)
    except ConditionError as exc:
        return ScalarResult(sql=sql, value=None, ok=False, no_data=False, reason=exc.message)
    return judge(result)


def judge(result: QueryResult) -> ScalarResult:
    def no(reason: str, no_data: bool = False, value: float | None = None) -> ScalarResult:
        return ScalarResult(
            sql=result.sql, value=value, ok=False, no_data=no_data, reason=reason, result=result
        )

    if not result.rows:
        return no("the query returned no rows (no data)", no_data=True)
    if len(result.rows) > 1:
        return no(f"the query returned {_count(result.rows)} rows, a threshold needs exactly one")
    if len(result.columns) != 1:
        return no(
            f"the query returned {len(result.columns)} columns "
            f"({', '.join(result.columns)}), a threshold needs exactly one"
        )
    raw = result.rows[0][0]
    if raw is None:
        return no("the query returned NULL (no data)", no_data=True)
    number = as_number(raw)
    if number is None:
        return no(
            f"the query returned {raw!r} of type {result.types[0]}, not a number "
            "(cast it, e.g. CAST(x AS DOUBLE))"
        )
    if not math.isfinite(number):
        return no(f"the query returned {number}, not a finite number", value=number)
    return ScalarResult(
        sql=result.sql, value=number, ok=True, no_data=False, reason="", result=result
    )


def _count(rows: Sequence[Any]) -> str:
    return str(len(rows)) if len(rows) <= DEFAULT_MAX_ROWS else f"more than {DEFAULT_MAX_ROWS}"


def store_exists(config: Config) -> bool:
    return store_path(config).exists()


class SqlEvaluator:
    """The scheduler's metric evaluator: a metric trigger's SQL on the analytics store,
    read-only and bounded, judged as a threshold is (one row, one finite number)."""

    def measure(self, trigger: MetricTrigger, config: Config) -> ScalarResult:
        return evaluate_scalar(config, trigger.sql_query)

    def evaluate(self, trigger: MetricTrigger, config: Config) -> float | None:
        """The value; None when the query yields no data (zero rows or NULL). Raises
        ConditionError when it fails or yields something that is not one finite number."""
        outcome = self.measure(trigger, config)
        if outcome.ok:
            return outcome.value
        if outcome.no_data:
            return None
        raise ConditionError(f"metric trigger {trigger.name}: {outcome.reason}")
