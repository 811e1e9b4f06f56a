"""The analytics file, its tables, and the one writer.

DuckDB lets one process write a file at a time, and refuses a second connection in the same
process with another configuration. So every write here opens a connection, runs one short
transaction and closes it; meeting the file lock, it waits with a bounded back-off instead of
failing at once (see DESIGN.md, "The analytics store has one writer at a time").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from qwak_auto.errors import ConditionError, ConfigError

if TYPE_CHECKING:
    from qwak_auto.config import Config
    from qwak_auto.run.contracts import BuildResult

T = TypeVar("T")
P = ParamSpec("P")

# The base columns of `predictions`; a model's output fields are added after these.
PREDICTION_COLUMNS: Mapping[str, str] = {
    "model_id": "VARCHAR",
    "build_id": "VARCHAR",
    "variation": "VARCHAR",
    "environment": "VARCHAR",
    "ts": "TIMESTAMPTZ",
    "latency_ms": "DOUBLE",
    "status": "INTEGER",
    "features": "JSON",
    "prediction": "JSON",
    "label": "JSON",
}

DDL = (
    """CREATE TABLE IF NOT EXISTS builds (
        model_id VARCHAR, build_id VARCHAR PRIMARY KEY, automation VARCHAR, "commit" VARCHAR,
        builder VARCHAR, status VARCHAR, started_at TIMESTAMPTZ, ended_at TIMESTAMPTZ,
        image VARCHAR, artifact VARCHAR, params JSON, recorded_at TIMESTAMPTZ)""",
    """CREATE TABLE IF NOT EXISTS build_metrics (
        model_id VARCHAR, build_id VARCHAR, automation VARCHAR, metric VARCHAR, value DOUBLE,
        logged_at TIMESTAMPTZ, PRIMARY KEY (build_id, metric))""",
    """CREATE TABLE IF NOT EXISTS deployments (
        model_id VARCHAR, build_id VARCHAR, variation VARCHAR, environment VARCHAR,
        deployed_at TIMESTAMPTZ, retired_at TIMESTAMPTZ)""",
    "CREATE TABLE IF NOT EXISTS predictions ("
    + ", ".join(f"{name} {kind}" for name, kind in PREDICTION_COLUMNS.items())
    + ")",
    # Which prediction-log segments were loaded, and how far (bytes): see ingest.py.
    """CREATE TABLE IF NOT EXISTS _ingested (
        segment VARCHAR PRIMARY KEY, "offset" BIGINT, done BOOLEAN, rows BIGINT,
        updated_at TIMESTAMPTZ)""",
)

LOCK_WAIT_SECONDS = 30.0  # the runner holding the claim waits this long for the file lock
# Threads of one process share DuckDB's database instance, so the file lock does not keep
# them apart: this lock does (two loaders in one process would otherwise conflict).
_WRITE_LOCK = threading.Lock()


def store_path(config: Config) -> Path:
    """The DuckDB file named by ``config.analytics_url`` (``duckdb:///path``, or a path)."""
    url = config.analytics_url or f"duckdb:///{config.home / 'analytics.duckdb'}"
    if url.startswith("duckdb://"):
        # As SQLAlchemy spells SQLite: duckdb:///rel/path is relative (to the project
        # config's folder), duckdb:////abs/path absolute.
        rest = url[len("duckdb://") :]
        path = Path(rest[1:] if rest.startswith("/") else rest).expanduser()
    elif "://" in url:
        raise ConfigError(
            f"analytics: {url!r} is not a DuckDB URL",
            "use duckdb:///relative/path or duckdb:////absolute/path",
        )
    else:
        path = Path(url).expanduser()
    if not path.is_absolute():
        base = config.source.parent if config.source is not None else Path.cwd()
        path = base / path
    return path


def is_lock_error(exc: BaseException) -> bool:
    """True when DuckDB refused the file because someone else holds it (another process's
    lock, or a connection of this process opened with another configuration)."""
    import duckdb

    text = str(exc).lower()
    if isinstance(exc, duckdb.IOException) and ("lock" in text or "resource" in text):
        return True
    return isinstance(exc, duckdb.ConnectionException) and "configuration" in text


def with_retry(opener: Callable[[], T], wait_seconds: float, what: str) -> T:
    """Call ``opener`` until it stops meeting the file lock, for at most ``wait_seconds``."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.02
    while True:
        try:
            return opener()
        except Exception as exc:
            if not is_lock_error(exc):
                raise
            if time.monotonic() >= deadline:
                raise ConditionError(
                    f"the analytics store is busy: could not open it for {what} "
                    f"within {wait_seconds:g}s ({exc})",
                    "another `auto` process is writing to it; try again in a moment",
                ) from None
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 1.0)


@contextmanager
def writer(config: Config, wait_seconds: float = LOCK_WAIT_SECONDS) -> Iterator[Any]:
    """One short write transaction on the analytics file (created with its tables if new).
    Commits when the block ends, rolls back on an exception, always closes the file."""
    import duckdb

    path = store_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    if not _WRITE_LOCK.acquire(timeout=wait_seconds):
        raise ConditionError(
            f"the analytics store is busy: another thread kept it for {wait_seconds:g}s",
            "try again in a moment",
        )
    try:
        remaining = max(0.0, wait_seconds - (time.monotonic() - started))
        conn = with_retry(lambda: duckdb.connect(str(path)), remaining, "writing")
        try:
            conn.execute("BEGIN TRANSACTION")
            for statement in DDL:
                conn.execute(statement)
            try:
                yield conn
            except BaseException:
                with suppress(duckdb.Error):  # already aborted: keep the first error
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()
    finally:
        _WRITE_LOCK.release()


def ensure_store(config: Config, wait_seconds: float = LOCK_WAIT_SECONDS) -> Path:
    """Create the analytics file with its empty documented tables when it does not exist."""
    path = store_path(config)
    if not path.exists():
        with writer(config, wait_seconds):
            pass
    return path


def write_build(
    conn: Any,
    build: BuildResult,
    automation: str,
    *,
    status: str = "succeeded",
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
) -> None:
    """Record a build and its logged metrics (``builds`` and ``build_metrics``) inside the
    caller's write transaction; idempotent."""
    import json

    now = datetime.now(UTC)
    conn.execute(
        "INSERT OR REPLACE INTO builds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            build.model_id,
            build.build_id,
            automation,
            build.commit,
            build.builder,
            status,
            started_at,
            ended_at,
            build.image,
            str(build.artifact_dir),
            json.dumps(dict(build.params)),
            now,
        ],
    )
    conn.execute("DELETE FROM build_metrics WHERE build_id = ?", [build.build_id])
    metrics = sorted(build.metrics.items())
    if metrics:
        conn.execute(
            "INSERT INTO build_metrics VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(metrics)),
            [
                v
                for metric, value in metrics
                for v in (build.model_id, build.build_id, automation, metric, float(value), now)
            ],
        )


def in_own_transaction(
    write: Callable[Concatenate[Any, P], None],
) -> Callable[Concatenate[Config, P], None]:
    """``write``, which writes inside the caller's transaction (its first argument, the
    connection), as a function of the config that opens and commits a transaction of its own."""

    def write_alone(config: Config, /, *args: P.args, **kwargs: P.kwargs) -> None:
        with writer(config) as conn:
            write(conn, *args, **kwargs)

    return write_alone


# record_build(config, build, automation, *, status, started_at, ended_at)
record_build = in_own_transaction(write_build)


def record_deployment(
    config: Config,
    *,
    model_id: str,
    build_id: str,
    variation: str,
    environment: str,
    deployed_at: datetime,
    retired_at: datetime | None = None,
) -> None:
    """Record that a build started serving (idempotent for the same deployed_at)."""
    with writer(config) as conn:
        conn.execute(
            "DELETE FROM deployments WHERE model_id = ? AND build_id = ? AND variation = ? "
            "AND environment = ? AND deployed_at = ?",
            [model_id, build_id, variation, environment, deployed_at],
        )
        conn.execute(
            "INSERT INTO deployments VALUES (?, ?, ?, ?, ?, ?)",
            [model_id, build_id, variation, environment, deployed_at, retired_at],
        )


def write_deployments(
    conn: Any,
    model_id: str,
    rows: Sequence[tuple[str, str, str, str, datetime, datetime | None]],
) -> None:
    """Replace the model's rows of ``deployments`` (model_id, build_id, variation,
    environment, deployed_at, retired_at) inside the caller's write transaction."""
    conn.execute("DELETE FROM deployments WHERE model_id = ?", [model_id])
    if rows:
        conn.executemany(
            "INSERT INTO deployments VALUES (?, ?, ?, ?, ?, ?)", [list(r) for r in rows]
        )


def retire_deployment(
    config: Config,
    *,
    model_id: str,
    build_id: str,
    variation: str,
    environment: str,
    retired_at: datetime,
) -> int:
    """Mark the open deployment(s) of a build as retired; returns how many rows changed."""
    with writer(config) as conn:
        row = conn.execute(
            "UPDATE deployments SET retired_at = ? WHERE model_id = ? AND build_id = ? "
            "AND variation = ? AND environment = ? AND retired_at IS NULL",
            [retired_at, model_id, build_id, variation, environment],
        ).fetchone()
    return int(row[0]) if row else 0
