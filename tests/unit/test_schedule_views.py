"""The status / history / plan views (history.py) on a real SQLite store in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from qwak_auto.config import Config, load_config
from qwak_auto.state import open_store
from qwak_auto.state.base import ClaimRequest, RunStatus, StateStore, StepStatus
from qwak_auto.views import history
from tests.unit.test_schedule import automation, cron

NOW = datetime(2026, 5, 1, 12, 10, tzinfo=UTC)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config((), env={"AUTO_HOME": str(tmp_path / ".auto")}, cwd=tmp_path)


@pytest.fixture
def store(config: Config) -> Iterator[StateStore]:
    s = open_store(config)
    yield s
    s.close()


def register(store: StateStore, name: str, first_seen: datetime) -> None:
    store.upsert_automation(
        name=name, model_id="m", spec_hash="h", file="f.yaml", enabled=True, now=first_seen
    )


def test_plan_lists_missed_slots_and_the_catch_up(store, config) -> None:
    a = cron("0 * * * *")
    register(store, "a", NOW - timedelta(hours=5))
    (p,) = history.plan([a], store, config, NOW, count=2)
    assert p["missed"]["count"] == 5
    assert p["missed"]["catch_up"] == "2026-05-01T12:00:00+00:00"
    assert p["due_now"] == [
        {"slot": "2026-05-01T12:00:00+00:00", "reason": "missed slot", "evaluate": False}
    ]
    assert [n["utc"] for n in p["next"]] == [
        "2026-05-01T13:00:00+00:00",
        "2026-05-01T14:00:00+00:00",
    ]
    assert p["action"]["gate"] == "none: every successful build is deployed"
    assert p["registered"] == (NOW - timedelta(hours=5)).isoformat()


def test_plan_counts_missed_since_the_last_run(store, config) -> None:
    a = cron("0 * * * *")
    register(store, "a", NOW - timedelta(hours=5))
    store.claim(
        ClaimRequest(
            automation="a",
            run_key="a@11",
            trigger_reason="schedule",
            scheduled_for=NOW - timedelta(minutes=70),
            owner="o",
            now=NOW,
            lease_seconds=60,
            forbid_overlap=True,
        )
    )
    (p,) = history.plan([a], store, config, NOW)
    assert p["missed"]["count"] == 1  # only 12:00 is after the last run's slot (11:00)


def test_status_rows(store, config) -> None:
    a = cron("0 2 * * *", "Europe/Berlin")
    off = automation({"scheduled": {"cron": "0 2 * * *"}}, name="off", enabled=False)
    register(store, "a", NOW - timedelta(days=1))
    register(store, "old", NOW - timedelta(days=9))
    claim = store.claim(
        ClaimRequest(
            automation="a",
            run_key="a@x",
            trigger_reason="schedule",
            scheduled_for=NOW,
            owner="o",
            now=NOW,
            lease_seconds=60,
            forbid_overlap=True,
        )
    )
    assert claim.run is not None
    store.finish_run(claim.run.run_id, RunStatus.FAILED, "step build: boom", NOW)
    rows = {r["name"]: r for r in history.status([a, off], store, config, NOW)}
    assert rows["a"]["trigger"] == "cron 0 2 * * * (Europe/Berlin)"
    assert rows["a"]["last_run"]["status"] == "failed"
    assert rows["a"]["last_run"]["error"] == "step build: boom"
    assert rows["a"]["next_fire_utc"] == "2026-05-02T00:00:00+00:00"
    assert rows["a"]["next_fire_local"] == "2026-05-02T02:00:00+02:00"
    assert rows["a"]["deployed"] == [
        {"environment": "dev", "variation": "default", "build_id": None, "address": None,
         "model_address": None, "since": None, "health": None, "rollout": None}
    ]  # fmt: skip
    assert rows["off"]["state"] == "disabled"
    assert rows["off"]["next_fire_utc"] is None
    assert rows["old"]["state"] == "gone"


def test_run_detail_with_steps_and_prefix(store) -> None:
    register(store, "a", NOW)
    claim = store.claim(
        ClaimRequest(
            automation="a",
            run_key="a@x",
            trigger_reason="manual",
            scheduled_for=None,
            owner="o",
            now=NOW,
            lease_seconds=60,
            forbid_overlap=True,
        )
    )
    assert claim.run is not None
    run_id = claim.run.run_id
    store.start_step(run_id, "source", NOW)
    store.finish_step(run_id, "source", StepStatus.OK, "cloned", {"commit": "abc"}, NOW)
    detail = history.run_detail(store, run_id[:8])
    assert detail is not None
    assert detail["run_id"] == run_id
    assert detail["steps"][0]["name"] == "source"
    assert detail["steps"][0]["duration_s"] == 0.0
    assert detail["steps"][0]["detail"] == {"commit": "abc"}
    assert history.run_detail(store, "nope") is None
    assert [r["run_id"] for r in history.history(store, "a")] == [run_id]
