"""open_store, URLs, migrations and SQLite specifics (real SQLite files, no programs)."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from qwak_auto import redact
from qwak_auto.config import load_config
from qwak_auto.errors import ConfigError, StateError
from qwak_auto.state import open_store, open_url, sql, sqlite_path
from qwak_auto.state.base import ClaimRequest, RunStatus, StateStore
from qwak_auto.state.postgres import PostgresStore, display_url
from qwak_auto.state.sqlite import SqliteStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_open_store_default_creates_home_and_wal(tmp_path: Path) -> None:
    config = load_config(env={"AUTO_HOME": str(tmp_path / "deep" / ".auto")}, cwd=tmp_path)
    store = open_store(config)
    try:
        assert isinstance(store, SqliteStore)
        db = tmp_path / "deep" / ".auto" / "state.db"
        assert store.path == db
        assert db.is_file()
        assert store.url == f"sqlite:///{db}"
        with closing(sqlite3.connect(db)) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert {"automations", "runs", "steps", "builds", "deployments", "evaluations", "kv"} <= (
            tables
        )
    finally:
        store.close()


def test_open_store_state_url_from_environment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x' / 'other.db'}"
    store = open_store(load_config(env={"AUTO_STATE_URL": url}, cwd=tmp_path))
    store.close()
    assert (tmp_path / "x" / "other.db").is_file()


def test_relative_sqlite_path_is_from_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "auto.yaml").write_text("state: sqlite:///db/state.db\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    store = open_store(load_config(paths=(tmp_path,), cwd=elsewhere))
    store.close()
    assert (tmp_path / "db" / "state.db").is_file()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:////abs/state.db", Path("/abs/state.db")),
        ("sqlite:///rel/state.db", Path("/base/rel/state.db")),
    ],
)
def test_sqlite_path(url: str, expected: Path) -> None:
    assert sqlite_path(url, Path("/base")) == expected


@pytest.mark.parametrize("url", ["mysql://x/y", "redis://localhost", "state.db", "sqlite://", ""])
def test_unknown_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        open_url(url)
    assert "sqlite:///" in info.value.hint


def test_display_url_hides_the_password() -> None:
    assert display_url("postgresql://u:pw@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert display_url("postgresql://u@h/db") == "postgresql://u@h/db"


def test_postgres_unreachable_is_a_state_error_without_password(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StateError) as info:
        PostgresStore(f"postgresql://u:hunter2-secret@127.0.0.1:{port}/db")
    assert "hunter2-secret" not in str(info.value)
    assert "u:***@127.0.0.1" in str(info.value)
    assert "AUTO_STATE_URL" in info.value.hint
    assert redact.redact("hunter2-secret") == "***"


def test_unwritable_location_is_a_state_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StateError, match="cannot open the state database"):
        SqliteStore(blocker / "state.db")


def test_not_a_database_is_a_state_error(tmp_path: Path) -> None:
    bad = tmp_path / "state.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StateError, match="cannot prepare"):
        SqliteStore(bad)


def test_statements_per_dialect() -> None:
    lite = sql.statements(sql.MIGRATIONS[0][1], sql.SQLITE_TYPES)
    pg = sql.statements(sql.MIGRATIONS[0][1], sql.POSTGRES_TYPES)
    assert len(lite) == len(pg) > 7
    assert "TIMESTAMPTZ" in " ".join(pg)
    assert "JSONB" in " ".join(pg)
    assert "TIMESTAMPTZ" not in " ".join(lite)
    assert all("{" not in s for s in lite + pg)
    versions = [v for v, _ in sql.MIGRATIONS]
    assert versions == sorted(set(versions))
    assert versions[0] == 1


def test_a_new_migration_applies_once_on_reopen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "state.db"
    SqliteStore(db).close()
    following = sql.MIGRATIONS[-1][0] + 1
    extra = (*sql.MIGRATIONS, (following, "CREATE TABLE extra (x {json})"))
    monkeypatch.setattr(sql, "MIGRATIONS", extra)
    store = SqliteStore(db)
    assert store.schema_version() == following
    store.close()
    store = SqliteStore(db)  # nothing left to apply: no "table exists" error
    assert store.schema_version() == following
    store.close()


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        sql.utc(datetime(2026, 1, 1))
    assert sql.utc(datetime(2026, 1, 1, 1, tzinfo=UTC)).tzinfo == UTC


def test_concurrent_first_use_from_threads(tmp_path: Path) -> None:
    db = tmp_path / "new" / "state.db"
    errors: list[BaseException] = []
    stores: list[StateStore] = []

    def opener() -> None:
        try:
            stores.append(SqliteStore(db))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    latest = sql.MIGRATIONS[-1][0]
    assert [s.schema_version() for s in stores] == [latest] * 6  # type: ignore[attr-defined]
    for s in stores:
        s.close()


def test_heartbeat_thread_shares_the_connection(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    c = store.claim(
        ClaimRequest(
            automation="a",
            run_key="a@1",
            trigger_reason="schedule",
            scheduled_for=T0,
            owner="o",
            now=T0,
            lease_seconds=60,
            forbid_overlap=True,
        )
    )
    assert c.run is not None
    rid = c.run.run_id
    beats: list[bool] = []

    def beat() -> None:
        for i in range(200):
            beats.append(store.heartbeat(rid, "o", T0 + timedelta(seconds=i), 60))

    thread = threading.Thread(target=beat)
    thread.start()
    for i in range(200):
        store.start_step(rid, f"s{i}", T0)
        store.set_value("a", "n", i)
    thread.join(timeout=60)
    assert all(beats)
    assert len(beats) == 200
    assert len(store.steps(rid)) == 200
    store.finish_run(rid, RunStatus.SUCCEEDED, "", T0)
    store.close()


def test_a_bad_state_url_says_where_it_was_set(tmp_path: Path) -> None:
    config = load_config(env={"AUTO_STATE_URL": "mysql://x"}, cwd=tmp_path)
    with pytest.raises(ConfigError, match=r"set by environment variable AUTO_STATE_URL") as err:
        open_store(config)
    assert err.value.hint
    (tmp_path / "auto.yaml").write_text("state: 'sqlite://'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"set by .*auto\.yaml"):
        open_store(load_config((tmp_path,), env={}, cwd=tmp_path))
