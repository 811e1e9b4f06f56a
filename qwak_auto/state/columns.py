"""The columns the store reads and writes, table by table, and how their values are stored.

Each record's fields are named as its table's columns (builds' ``commit_sha`` and evaluations'
``sql_text`` aside); :class:`qwak_auto.state.sql.SqlBase` encodes and decodes by these names.
"""

from __future__ import annotations

RUN_COLUMNS = (
    "run_id, run_key, automation, trigger_reason, scheduled_for, owner, status, started_at,"
    " ended_at, error, attempt, lease_expires_at, heartbeat_at"
)
BUILD_COLUMNS = (
    "build_id, model_id, automation, run_id, status, started_at, ended_at, commit_sha, builder,"
    " artifact, image, log_path, metrics, params, provenance, reason"
)
DEPLOYMENT_COLUMNS = (
    "deployment_id, model_id, build_id, environment, variation, deployer, status, created_at,"
    " retired_at, address, automation, run_id, reason, detail"
)
APPROVAL_COLUMNS = (
    "run_id, automation, model_id, build_id, state, requested_at, expires_at, decided_by,"
    " decided_at, comment, superseded_by, continued_by, continued_at, detail"
)
STEP_COLUMNS = "run_id, attempt, name, status, started_at, ended_at, reason, detail"
EVALUATION_COLUMNS = "automation, evaluated_at, value, breached, fired, reason, sql_text"

# How a record encodes into a row and back (SqlBase._encoded, _decoded): the timestamp and
# JSON columns, named alike in every table (a NULL in TIMESTAMPS is an error, one in
# OPTIONAL_TIMESTAMPS is None); every other column is stored as it is, unless the record says.
TIMESTAMPS = frozenset(
    {
        "first_seen",
        "last_seen",
        "started_at",
        "created_at",
        "evaluated_at",
        "requested_at",
        "expires_at",
    }
)
OPTIONAL_TIMESTAMPS = frozenset(
    {
        "scheduled_for",
        "ended_at",
        "lease_expires_at",
        "heartbeat_at",
        "retired_at",
        "decided_at",
        "continued_at",
    }
)
JSON_COLUMNS = frozenset({"detail", "metrics", "params", "provenance"})
