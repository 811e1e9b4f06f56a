"""The analytics store: a DuckDB file that thresholds and metric triggers query.

Where: ``config.analytics_url`` (``duckdb:///relative/path`` or ``duckdb:////absolute/path``;
default ``<home>/analytics.duckdb``). A writer meeting another's file lock waits (30 s at most,
then "the analytics store is busy"); a reader waits 10 s.
Who writes: only the run holding a claim (one short transaction, then the file is closed);
metric-trigger evaluation loads new prediction segments too, but only when the file is free.
Everyone else reads through :func:`run_query` (read-only, one SELECT, bounded rows and time).

Writers: :func:`record_build`, :func:`record_deployment`, :func:`retire_deployment`,
:func:`ingest_segments` (prediction-log segments, idempotent), :func:`ingest_file`
(`auto ingest predictions`: all rows or none) and :func:`record_build_and_segments` (the
gate's one transaction). Readers: :func:`run_query`, :func:`evaluate_scalar` (a threshold:
exactly one row, one finite number) and :class:`SqlEvaluator`.

Tables (times are ``TIMESTAMPTZ``, UTC):

``builds``
    model_id, build_id (key), automation, commit, builder, status, started_at, ended_at,
    image, artifact, params (JSON), recorded_at.
``build_metrics``
    model_id, build_id, automation, metric, value (DOUBLE), logged_at — one row per metric a
    build logged (``(build_id, metric)`` is the key).
``deployments``
    model_id, build_id, variation, environment, deployed_at, retired_at (NULL while serving).
``predictions``
    model_id, build_id, variation, environment, ts, latency_ms (DOUBLE), status (INTEGER,
    the HTTP status), features (JSON), prediction (JSON), label (JSON, NULL until known) —
    plus one column per top-level field of a model's output, added when the field first
    appears: DOUBLE for numbers and booleans (true = 1), VARCHAR otherwise (objects and lists
    as JSON text). So ``SELECT avg(score) FROM predictions WHERE model_id = 'churn'`` works.
    A scalar prediction goes to the column ``prediction_value``. An output field whose name
    is not a plain identifier, or that would shadow a column above, stays in ``prediction``
    only (read it with ``prediction->>'name'``). A value that does not fit its column's type
    is NULL there (and still whole in ``prediction``).
``_ingested``
    Bookkeeping of loaded prediction-log segments (segment, offset, done, rows, updated_at).
"""

from __future__ import annotations

from qwak_auto.analytics.ingest import (
    IngestReport,
    ingest_file,
    ingest_segments,
    record_build_and_segments,
)
from qwak_auto.analytics.query import (
    DEFAULT_MAX_ROWS,
    DEFAULT_TIMEOUT,
    QueryFailed,
    QueryRefused,
    QueryResult,
    ScalarResult,
    SqlEvaluator,
    check_statement,
    evaluate_scalar,
    judge,
    run_query,
)
from qwak_auto.analytics.store import (
    ensure_store,
    record_build,
    record_deployment,
    retire_deployment,
    store_path,
    writer,
)

__all__ = [
    "DEFAULT_MAX_ROWS",
    "DEFAULT_TIMEOUT",
    "IngestReport",
    "QueryFailed",
    "QueryRefused",
    "QueryResult",
    "ScalarResult",
    "SqlEvaluator",
    "check_statement",
    "ensure_store",
    "evaluate_scalar",
    "ingest_file",
    "ingest_segments",
    "judge",
    "record_build",
    "record_build_and_segments",
    "record_deployment",
    "retire_deployment",
    "run_query",
    "store_path",
    "writer",
]
