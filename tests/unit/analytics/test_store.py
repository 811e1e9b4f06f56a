"""The analytics file and its writer: tables, builds, deployments, the bounded lock wait."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from qwak_auto.analytics.query import open_reader, run_query
from qwak_auto.analytics.store import (
    ensure_store,
    record_build,
    record_deployment,
    retire_deployment,
    store_path,
    writer,
)
from qwak_auto.config import Config
from qwak_auto.errors import ConditionError, ConfigError
from qwak_auto.run.contracts import BuildResult

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _build(build_id: str = "b1", **metrics: float) -> BuildResult:
    return BuildResult(
        build_id=build_id,
        model_id="churn",
        commit="abc123",
        builder="local",
        artifact_dir=Path("/tmp/artifact"),
        metrics=metrics,
        params={"lr": "0.1"},
        log_path=Path("/tmp/build.log"),
    )


def test_default_path_is_in_home(config: Config) -> None:
    assert store_path(config) == config.home / "analytics.duckdb"


def test_url_forms(config: Config, tmp_path: Path) -> None:
    assert store_path(replace(config, analytics_url=f"duckdb:///{tmp_path}/a.db")) == (
        tmp_path / "a.db"
    )
    assert store_path(replace(config, analytics_url="duckdb:///rel/a.db")) == (
        Path.cwd() / "rel" / "a.db"
    )
    with pytest.raises(ConfigError, match="not a DuckDB URL"):
        store_path(replace(config, analytics_url="postgresql://x/y"))


def test_ensure_store_creates_the_documented_tables(config: Config) -> None:
    path = ensure_store(config)
    conn = duckdb.connect(str(path), read_only=True)
    try:
        tables = {r[0] for r in conn.execute("SHOW TABLES").fetchall()}
        columns = {
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'predictions'"
            ).fetchall()
        }
    finally:
        conn.close()
    assert {"builds", "build_metrics", "deployments", "predictions", "_ingested"} <= tables
    assert {
        "model_id",
        "build_id",
        "variation",
        "environment",
        "ts",
        "latency_ms",
        "status",
        "features",
        "prediction",
        "label",
    } == columns


def test_record_build_is_idempotent(config: Config) -> None:
    record_build(config, _build(f1=0.7, auc=0.8), "churn-retrain", started_at=T0, ended_at=T0)
    record_build(config, _build(f1=0.75), "churn-retrain")
    result = run_query(
        config,
        "SELECT b.build_id, b.automation, b.commit, m.metric, m.value "
        "FROM builds b JOIN build_metrics m USING (build_id) ORDER BY m.metric",
    )
    assert result.rows == (("b1", "churn-retrain", "abc123", "f1", 0.75),)


def test_deployments_recorded_and_retired(config: Config) -> None:
    record_deployment(
        config,
        model_id="churn",
        build_id="b1",
        variation="default",
        environment="dev",
        deployed_at=T0,
    )
    record_deployment(
        config,
        model_id="churn",
        build_id="b1",
        variation="default",
        environment="dev",
        deployed_at=T0,
    )  # the same event twice: one row
    later = datetime(2026, 1, 2, tzinfo=UTC)
    changed = retire_deployment(
        config,
        model_id="churn",
        build_id="b1",
        variation="default",
        environment="dev",
        retired_at=later,
    )
    assert changed == 1
    rows = run_query(config, "SELECT build_id, retired_at FROM deployments").rows
    assert rows == (("b1", later),)


def test_writer_rolls_back_on_error(config: Config) -> None:
    ensure_store(config)

    def half_written() -> None:
        with writer(config) as conn:
            conn.execute("INSERT INTO builds (build_id) VALUES ('half')")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        half_written()
    assert run_query(config, "SELECT * FROM builds").rows == ()


def test_writer_waits_for_the_file_then_gives_up(config: Config) -> None:
    """A reader open in this process blocks the writer (DuckDB: one configuration per file
    per process); the writer retries within its bound, then says the store is busy."""
    reader = open_reader(config)
    try:
        with pytest.raises(ConditionError, match="busy"), writer(config, wait_seconds=0.3):
            pass
    finally:
        reader.close()


def test_writer_gets_the_file_once_released(config: Config) -> None:
    reader = open_reader(config)
    threading.Timer(0.2, reader.close).start()
    with writer(config, wait_seconds=10) as conn:
        conn.execute("INSERT INTO builds (build_id) VALUES ('late')")
    assert run_query(config, "SELECT build_id FROM builds").rows == (("late",),)
