"""The bounded read-only runner: hostile SQL refused or interrupted, results judged."""

from __future__ import annotations

import duckdb
import pytest

from qwak_auto.analytics.query import (
    QueryFailed,
    QueryRefused,
    SqlEvaluator,
    check_statement,
    evaluate_scalar,
    run_query,
)
from qwak_auto.analytics.store import store_path, writer
from qwak_auto.automation.model import Direction, MetricTrigger
from qwak_auto.config import Config
from qwak_auto.errors import ConditionError

REFUSED = [
    ("COPY predictions TO '/tmp/out.csv'", "COPY"),
    ("ATTACH '/tmp/other.duckdb' AS other", "ATTACH"),
    ("INSTALL httpfs", "INSTALL/LOAD"),
    ("LOAD httpfs", "INSTALL/LOAD"),
    ("SET threads = 1", "SET"),
    ("PRAGMA enable_profiling", "PRAGMA"),
    ("SELECT 1; SELECT 2", "exactly one statement, found 2"),
    ("INSERT INTO builds (build_id) VALUES ('x')", "INSERT"),
    ("UPDATE builds SET status = 'x'", "UPDATE"),
    ("DELETE FROM predictions", "DELETE"),
    ("CREATE TABLE t (a INT)", "CREATE"),
    ("DROP TABLE predictions", "DROP"),
    ("EXPORT DATABASE '/tmp/x'", "EXPORT"),
    ("WITH a AS (SELECT 1) INSERT INTO builds (build_id) SELECT * FROM a", "INSERT"),
    ("", "empty"),
    ("SELEC 1", "does not parse"),
]


@pytest.mark.parametrize(("sql", "why"), REFUSED)
def test_refused_before_running(config: Config, sql: str, why: str) -> None:
    with pytest.raises(QueryRefused) as info:
        run_query(config, sql)
    assert why in info.value.message


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM glob('/etc/*')",
        "SELECT * FROM read_parquet('/tmp/anything.parquet')",
    ],
)
def test_files_out_of_reach(config: Config, sql: str) -> None:
    with pytest.raises(QueryFailed) as info:
        run_query(config, sql)
    assert "external access off" in info.value.message


def test_settings_are_locked_even_inside_a_select(config: Config) -> None:
    with pytest.raises(QueryRefused):
        run_query(config, "SET lock_configuration = false")
    result = run_query(config, "SELECT current_setting('enable_external_access')")
    assert result.rows == ((False,),)


def test_runaway_cross_join_is_interrupted(config: Config) -> None:
    sql = "SELECT count(*) FROM range(1000000000) a, range(1000000000) b"
    with pytest.raises(QueryFailed) as info:
        run_query(config, sql, timeout=0.3)
    assert "interrupted after the 0.3s time limit" in info.value.message
    # the store is usable afterwards
    assert run_query(config, "SELECT 1").rows == ((1,),)


def test_row_cap(config: Config) -> None:
    assert len(run_query(config, "SELECT * FROM range(10)", max_rows=10).rows) == 10
    with pytest.raises(QueryFailed, match="more than 10 rows"):
        run_query(config, "SELECT * FROM range(11)", max_rows=10)


def test_writes_refused_by_the_connection_too(config: Config) -> None:
    """Even past the textual checks, the connection itself is read-only."""
    from qwak_auto.analytics.query import open_reader

    conn = open_reader(config)
    try:
        with pytest.raises(duckdb.Error, match="read-only"):
            conn.execute("INSERT INTO builds (build_id) VALUES ('x')")
    finally:
        conn.close()


def test_empty_store_answers_with_no_rows(config: Config) -> None:
    assert not store_path(config).exists()
    for table in ("builds", "build_metrics", "deployments", "predictions"):
        assert run_query(config, f"SELECT * FROM {table}").rows == ()
    assert store_path(config).exists()


def test_comments_and_trailing_semicolon() -> None:
    assert check_statement("-- the mean\nSELECT 1;") == "-- the mean\nSELECT 1"
    assert check_statement("/* x */ WITH a AS (SELECT 1) SELECT * FROM a").endswith("FROM a")
    assert check_statement("FROM range(3)") == "FROM range(3)"


@pytest.mark.parametrize(
    ("sql", "ok", "no_data", "reason"),
    [
        ("SELECT 0.75", True, False, ""),
        ("SELECT 3::HUGEINT", True, False, ""),
        ("SELECT avg(value) FROM build_metrics", False, True, "NULL"),
        ("SELECT value FROM build_metrics", False, True, "no rows"),
        ("SELECT * FROM (VALUES (1.0), (2.0))", False, False, "returned 2 rows"),
        ("SELECT 1.0, 2.0", False, False, "2 columns"),
        ("SELECT 'abc'", False, False, "not a number"),
        ("SELECT '0.9'", False, False, "not a number"),
        ("SELECT true", False, False, "not a number"),
        ("SELECT 'nan'::DOUBLE", False, False, "not a finite number"),
        ("SELECT 'inf'::DOUBLE", False, False, "not a finite number"),
        ("SELECT no_such_column FROM predictions", False, False, "the query failed"),
        ("SELECT 1; SELECT 2", False, False, "exactly one statement"),
    ],
)
def test_scalar_judgement(config: Config, sql: str, ok: bool, no_data: bool, reason: str) -> None:
    outcome = evaluate_scalar(config, sql)
    assert (outcome.ok, outcome.no_data) == (ok, no_data)
    assert reason in outcome.reason
    if ok:
        assert isinstance(outcome.value, float)


def _trigger(sql: str) -> MetricTrigger:
    return MetricTrigger(name="t", sql_query=sql, direction=Direction.ABOVE, threshold="1")


def test_sql_evaluator(config: Config) -> None:
    with writer(config) as conn:
        conn.execute("INSERT INTO build_metrics VALUES ('m', 'b1', 'a', 'f1', 0.5, now())")
    evaluator = SqlEvaluator()
    assert evaluator.evaluate(_trigger("SELECT max(value) FROM build_metrics"), config) == 0.5
    assert (
        evaluator.evaluate(_trigger("SELECT value FROM build_metrics WHERE false"), config) is None
    )
    with pytest.raises(ConditionError, match="not a number"):
        evaluator.evaluate(_trigger("SELECT 'x'"), config)
