"""execute_immediately / on_boarding: run once when first seen, retried with a backoff after a
failure until a run ends well (SPEC-REFERENCE "Details"; issue 18). Pure rules first, then
ticks on a fake clock with fake steps and a real SQLite store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from qwak_auto.errors import SourceError
from qwak_auto.schedule import once as once_rules
from qwak_auto.state.base import RunRecord, RunStatus
from tests.unit.test_runner_pipeline import FakeGate, FakeSource
from tests.unit.test_schedule_tick import NOW, tick, write
from tests.unit.test_schedule_tick import config as config  # the fixtures
from tests.unit.test_schedule_tick import folder as folder
from tests.unit.test_schedule_tick import store as store

WEEKLY = '  scheduled:\n    cron: "0 0 * * 0"'
MANUAL = "  none: {}"  # no recurring slot gets in the way of a clock that jumps about
BASE = "weekly@2026-05-01T12:00:00+00:00"


def test_backoff_doubles_from_a_minute_up_to_an_hour() -> None:
    minutes = [once_rules.backoff(n).total_seconds() / 60 for n in range(1, 10)]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def record(key: str, status: RunStatus, minute: int) -> RunRecord:
    at = NOW + timedelta(minutes=minute)
    return RunRecord(
        run_id=f"r{minute}", run_key=key, automation="weekly", trigger_reason="x",
        scheduled_for=NOW, owner="o", status=status, started_at=at, ended_at=at,
    )  # fmt: skip


def test_state_from_runs() -> None:
    assert once_rules.from_runs([], BASE) == once_rules.Once()
    failed = [record(BASE, RunStatus.FAILED, 0), record(BASE + "#2", RunStatus.FAILED, 5)]
    state = once_rules.from_runs(failed, BASE)
    assert (state.done, state.attempts, state.last_run) == (False, 2, "r5")
    assert once_rules.retry_at(state) == NOW + timedelta(minutes=5 + 2)
    # any run that ends well completes it, a manual one too
    done = once_rules.from_runs([*failed, record("weekly@manual:u", RunStatus.SUCCEEDED, 9)], BASE)
    assert (done.done, done.done_run, once_rules.retry_at(done)) == (True, "r9", None)
    # a run still going is waited for, not retried
    running = once_rules.from_runs([record(BASE, RunStatus.RUNNING, 0)], BASE)
    assert running.waiting
    assert once_rules.retry_at(running) is None
    # a key that only looks alike is not an attempt
    assert once_rules.from_runs([record(BASE + "#x", RunStatus.FAILED, 0)], BASE).attempts == 0


def failing_source() -> FakeSource:
    class Missing(FakeSource):
        def fetch(self, spec, ctx):
            raise SourceError("the repository does not exist yet")

    return Missing()


def test_a_failed_first_run_is_retried_with_backoff_until_it_succeeds(folder, config, store):
    # Run end times are on the real clock, so the schedule's clock starts at the real now.
    start = datetime.now(UTC)
    write(folder, "weekly", MANUAL, "execute_immediately: true\n")
    first = tick(folder, config, store, start, source=failing_source())
    assert [(r.status, r.summary.trigger_reason) for r in first.runs] == [
        (RunStatus.FAILED, "execute_immediately")
    ]
    base = first.runs[0].run_key
    ended = store.run(first.runs[0].run_id).ended_at
    assert ended is not None
    # before the backoff: nothing; the tick says when the retry is due
    early = tick(folder, config, store, ended + timedelta(seconds=30), source=failing_source())
    assert early.runs == ()
    assert early.next_due == ended + timedelta(minutes=1)
    second = tick(folder, config, store, ended + timedelta(seconds=61), source=failing_source())
    assert [(r.run_key, r.summary.trigger_reason) for r in second.runs] == [
        (base + "#2", "execute_immediately (attempt 2)")
    ]
    ended = store.run(second.runs[0].run_id).ended_at
    assert ended is not None
    assert tick(folder, config, store, ended + timedelta(seconds=90)).runs == ()  # 2 min now
    third = tick(folder, config, store, ended + timedelta(minutes=2, seconds=1))
    assert [(r.run_key, r.status) for r in third.runs] == [(base + "#3", RunStatus.SUCCEEDED)]
    # done: never again, however long later (and the store remembers which run did it)
    assert tick(folder, config, store, ended + timedelta(days=3, minutes=1)).runs == ()
    assert store.get_value("weekly", once_rules.DONE_KEY) == third.runs[0].run_id


def test_a_run_that_ends_well_is_not_repeated(folder, config, store) -> None:
    write(folder, "weekly", WEEKLY, "execute_immediately: true\n")
    assert len(tick(folder, config, store, NOW).runs) == 1
    assert tick(folder, config, store, NOW + timedelta(minutes=30)).runs == ()


def test_a_gated_out_run_completes_it_too(folder, config, store) -> None:
    write(folder, "weekly", WEEKLY, "execute_immediately: true\n")
    (run,) = tick(folder, config, store, NOW, gate=FakeGate(deploy=False)).runs
    assert run.status is RunStatus.NOT_DEPLOYED
    assert tick(folder, config, store, NOW + timedelta(minutes=30)).runs == ()


def test_on_boarding_is_retried_too(folder, config, store) -> None:
    write(folder, "boarding", "  on_boarding: {}")
    first = tick(folder, config, store, datetime.now(UTC), source=failing_source())
    assert first.runs[0].status is RunStatus.FAILED
    ended = store.run(first.runs[0].run_id).ended_at
    assert ended is not None
    again = tick(folder, config, store, ended + timedelta(minutes=2))
    assert [r.summary.trigger_reason for r in again.runs] == ["on_boarding (attempt 2)"]


def test_execute_immediately_added_long_after_registration_does_not_run(
    folder, config, store
) -> None:
    write(folder, "weekly", WEEKLY)
    tick(folder, config, store, NOW)
    write(folder, "weekly", WEEKLY, "execute_immediately: true\n")
    assert tick(folder, config, store, NOW + timedelta(hours=2)).runs == ()
