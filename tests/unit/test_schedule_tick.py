"""One scheduler tick on a fake clock, with fake steps and a real SQLite store in tmp_path."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from qwak_auto.config import Config, load_config
from qwak_auto.run.setup import RunnerSettings, steps_for
from qwak_auto.schedule.metric import TriggerVerdict, evaluate_metric_trigger
from qwak_auto.schedule.summary import TickSummary
from qwak_auto.schedule.tick import run_once
from qwak_auto.state import open_store
from qwak_auto.state.base import ClaimRequest, RunStatus, StateStore
from tests.unit.test_runner_pipeline import fakes

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ENV = {"AUTO_LEASE_SECONDS": "60"}


def write(folder: Path, name: str, trigger: str, extra: str = "") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(
        f"name: {name}\nmodel_id: {name}\ntrigger:\n{trigger}\n{extra}"
        "action:\n  build_deploy:\n    build_spec:\n      git_uri: https://example.com/r.git\n"
    )
    return path


CRON_HOURLY = '  scheduled:\n    cron: "0 * * * *"'


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    f = tmp_path / "automations"
    f.mkdir()
    return f


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config((), env={"AUTO_HOME": str(tmp_path / ".auto")}, cwd=tmp_path)


@pytest.fixture
def store(config: Config) -> Iterator[StateStore]:
    s = open_store(config)
    yield s
    s.close()


def tick(
    folder, config, store, now=NOW, evaluate_trigger=evaluate_metric_trigger, **changes: Any
) -> TickSummary:
    settings = RunnerSettings(
        owner="tester:1:x", environ=ENV, steps=steps_for(config, **fakes(**changes))
    )
    return run_once(
        (folder,), config, settings, now, store=store, evaluate_trigger=evaluate_trigger
    )


def test_a_due_slot_is_claimed_once(folder, config, store) -> None:
    write(folder, "hourly", CRON_HOURLY)
    first = tick(folder, config, store)
    assert [r.status for r in first.runs] == [RunStatus.SUCCEEDED]
    assert first.ok
    second = tick(folder, config, store, NOW + timedelta(seconds=30))
    assert second.runs == ()
    assert second.already_claimed == 1
    runs = store.runs("hourly")
    assert [r.run_key for r in runs] == ["hourly@2026-05-01T12:00:00+00:00"]
    assert runs[0].trigger_reason == "schedule"
    assert first.next_due == NOW + timedelta(hours=1)


def test_registration_does_not_run_earlier_slots(folder, config, store) -> None:
    write(folder, "hourly", CRON_HOURLY)
    summary = tick(folder, config, store, NOW + timedelta(minutes=10))
    assert summary.runs == ()  # 12:00 was before the automation existed
    later = tick(folder, config, store, NOW + timedelta(hours=3, minutes=20))
    assert [r.summary.trigger_reason for r in later.runs] == ["missed slot"]
    assert store.runs("hourly")[0].scheduled_for == NOW + timedelta(hours=3)


def test_overlap_forbid_records_a_skip(folder, config, store) -> None:
    write(folder, "hourly", CRON_HOURLY)
    tick(folder, config, store, NOW - timedelta(hours=2))  # registers it
    busy = store.claim(
        ClaimRequest(
            automation="hourly",
            run_key="hourly@busy",
            trigger_reason="schedule",
            scheduled_for=NOW - timedelta(hours=1),
            owner="other:2:y",
            now=datetime.now(UTC),
            lease_seconds=600,
            forbid_overlap=True,
        )
    )
    assert busy.claimed
    summary = tick(folder, config, store)
    assert summary.runs == ()
    assert [(s.automation, s.reason) for s in summary.skipped] == [("hourly", "still running")]
    recorded = {r.run_key: r for r in store.runs("hourly")}
    skipped = recorded["hourly@2026-05-01T12:00:00+00:00"]
    assert skipped.status is RunStatus.SKIPPED
    assert skipped.error == "still running"
    assert summary.ok  # a skip is not a failure


def test_concurrency_allow_overlaps(folder, config, store) -> None:
    write(folder, "hourly", CRON_HOURLY, "concurrency: allow\n")
    tick(folder, config, store, NOW - timedelta(hours=2))
    store.claim(
        ClaimRequest(
            automation="hourly",
            run_key="hourly@busy",
            trigger_reason="schedule",
            scheduled_for=None,
            owner="other:2:y",
            now=datetime.now(UTC),
            lease_seconds=600,
            forbid_overlap=False,
        )
    )
    assert [r.status for r in tick(folder, config, store).runs] == [RunStatus.SUCCEEDED]


def test_invalid_file_does_not_stop_the_others(folder, config, store) -> None:
    write(folder, "hourly", CRON_HOURLY)
    (folder / "broken.yaml").write_text("name: [unclosed\n")
    summary = tick(folder, config, store)
    assert [r.automation for r in summary.runs] == ["hourly"]
    assert summary.problems
    assert not summary.ok
    assert summary.as_dict()["problems"][0]["file"].endswith("broken.yaml")


def test_failed_run_makes_the_tick_not_ok(folder, config, store) -> None:
    from qwak_auto.errors import BuildError
    from tests.unit.test_runner_pipeline import FakeBuilder

    write(folder, "hourly", CRON_HOURLY)
    summary = tick(folder, config, store, builder=FakeBuilder(fail=BuildError("boom")))
    assert not summary.ok
    assert summary.as_dict()["runs"][0]["error"] == "step build: boom"


def test_not_deployed_is_fine(folder, config, store) -> None:
    from tests.unit.test_runner_pipeline import FakeGate

    write(folder, "hourly", CRON_HOURLY)
    summary = tick(folder, config, store, gate=FakeGate(deploy=False))
    assert summary.ok
    assert summary.runs[0].status is RunStatus.NOT_DEPLOYED


def test_gone_automations_are_reported_not_deleted(folder, config, store) -> None:
    path = write(folder, "hourly", CRON_HOURLY)
    write(folder, "other", CRON_HOURLY)
    tick(folder, config, store)
    path.unlink()
    summary = tick(folder, config, store, NOW + timedelta(minutes=1))
    assert summary.gone == ("hourly",)
    assert store.automation("hourly") is not None


def test_abandoned_run_is_retried_once(folder, config, store) -> None:
    write(folder, "hourly", CRON_HOURLY)
    tick(folder, config, store, NOW - timedelta(hours=2))
    dead = store.claim(
        ClaimRequest(
            automation="hourly",
            run_key="hourly@2026-05-01T11:00:00+00:00",
            trigger_reason="schedule",
            scheduled_for=NOW - timedelta(hours=1),
            owner="dead:9:z",
            now=datetime.now(UTC),
            lease_seconds=0.05,
            forbid_overlap=True,
        )
    )
    assert dead.run is not None
    time.sleep(0.1)
    summary = tick(folder, config, store)
    assert summary.abandoned == (dead.run.run_id,)
    retried = store.run(dead.run.run_id)
    assert retried is not None
    assert retried.attempt == 2
    assert retried.status is RunStatus.SUCCEEDED
    # ...and the current slot ran as well
    assert {r.run_key for r in summary.runs} == {
        "hourly@2026-05-01T11:00:00+00:00",
        "hourly@2026-05-01T12:00:00+00:00",
    }


def test_execute_immediately_runs_once_at_registration(folder, config, store) -> None:
    write(folder, "weekly", '  scheduled:\n    cron: "0 0 * * 0"', "execute_immediately: true\n")
    first = tick(folder, config, store, NOW + timedelta(minutes=7))
    assert [r.summary.trigger_reason for r in first.runs] == ["execute_immediately"]
    assert tick(folder, config, store, NOW + timedelta(minutes=8)).runs == ()


def test_on_boarding_and_manual_only(folder, config, store) -> None:
    write(folder, "boarding", "  on_boarding: {}")
    write(folder, "manual", "  none: {}")
    summary = tick(folder, config, store)
    assert [(r.automation, r.summary.trigger_reason) for r in summary.runs] == [
        ("boarding", "on_boarding")
    ]
    assert tick(folder, config, store, NOW + timedelta(days=1)).runs == ()


def test_disabled_never_runs(folder, config, store) -> None:
    write(folder, "off", CRON_HOURLY, "enabled: false\n")
    assert tick(folder, config, store).runs == ()


METRIC = (
    "  metric_based:\n    name: drift\n    sql_query: SELECT 1\n    direction: ABOVE\n"
    '    threshold: "0.3"\n    override_cron: "*/30 * * * *"'
)


def test_metric_trigger_fires_a_run(folder, config, store) -> None:
    calls: list[datetime] = []

    def fake(automation, trigger, store, config, now):
        calls.append(now)
        return TriggerVerdict(fire=True, value=0.5, reason="value 0.5 > 0.3")

    write(folder, "drifty", METRIC)
    summary = tick(folder, config, store, evaluate_trigger=fake)
    assert [r.summary.trigger_reason for r in summary.runs] == ["metric drift: value 0.5 > 0.3"]
    assert len(summary.evaluations) == 1
    # the same slot: not again
    again = tick(folder, config, store, NOW + timedelta(minutes=1), evaluate_trigger=fake)
    assert again.evaluations == ()
    assert len(calls) == 1


def test_metric_trigger_not_firing_claims_nothing(folder, config, store) -> None:
    def fake(automation, trigger, store, config, now):
        return TriggerVerdict(fire=False, value=0.1, reason="value 0.1 <= 0.3")

    write(folder, "drifty", METRIC)
    summary = tick(folder, config, store, evaluate_trigger=fake)
    assert summary.runs == ()
    assert summary.evaluations[0].reason == "value 0.1 <= 0.3"
    assert store.runs("drifty") == ()
