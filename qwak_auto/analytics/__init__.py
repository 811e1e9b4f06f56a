"""The analytics store: a DuckDB file that thresholds and metric triggers query.

Where: ``config.analytics_url`` (``duckdb:///relative/path`` or ``duckdb:////absolute/path``;
default ``<home>/analytics.duckdb``). A writer meeting another's file lock waits (30 s at most,
then "the analytics store is busy"); a reader waits 10 s.
Who writes: only the run holding a claim (one short transaction, then the file is closed);
metric-trigger evaluation loads new prediction segments too, but only when the file is free.
Everyone else reads through :func:`run_query` (read-only, one SELECT, bounded rows and time).

Modules: ``store`` (the file, its tables, the writer's transaction), ``ingest`` (prediction
logs and files), ``rows`` (a record as columns), ``query`` (bounded read-only SQL: run_query,
evaluate_scalar for a threshold, SqlEvaluator for metric triggers), ``thresholds`` (a
threshold string as a number, and the comparison). Only :mod:`qwak_auto.run.sink` calls the
writing functions (an import contract says so).

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
