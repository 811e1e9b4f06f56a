"""Trigger semantics on a fake clock: DST, leap days, month ends, intervals, missed runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from qwak_auto.automation.model import Automation, from_document
from qwak_auto.schedule import triggers as schedule

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def automation(trigger: dict[str, Any], **top: Any) -> Automation:
    doc = {
        "name": "a",
        "model_id": "m",
        "trigger": trigger,
        "action": {"build_deploy": {"build_spec": {"git_uri": "https://example.com/r.git"}}},
        **top,
    }
    return from_document(doc)


def cron(expr: str, tz: str = "UTC", **extra: Any) -> Automation:
    return automation({"scheduled": {"cron": expr, "timezone": tz, **extra}})


def fires(a: Automation, after: datetime, count: int) -> list[datetime]:
    return [f.at for f in schedule.upcoming(a, LONG_AGO, after, count)]


def local(tz: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=tz, fold=fold).astimezone(UTC)  # type: ignore[arg-type,misc]


# ---------------------------------------------------------------- DST


def test_spring_forward_berlin_skipped_time_runs_once_right_after_the_jump() -> None:
    a = cron("30 2 * * *", "Europe/Berlin")
    got = fires(a, local(BERLIN, 2026, 3, 28, 12), 3)
    assert got == [
        local(BERLIN, 2026, 3, 29, 3, 0),  # 02:30 does not exist: 03:00 CEST = 01:00 UTC
        local(BERLIN, 2026, 3, 30, 2, 30),
        local(BERLIN, 2026, 3, 31, 2, 30),
    ]
    assert got[0] == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_spring_forward_new_york() -> None:
    a = cron("30 2 * * *", "America/New_York")
    got = fires(a, local(NEW_YORK, 2026, 3, 7, 12), 2)
    assert got == [datetime(2026, 3, 8, 7, 0, tzinfo=UTC), local(NEW_YORK, 2026, 3, 9, 2, 30)]
    assert got[0].astimezone(NEW_YORK).strftime("%H:%M %Z") == "03:00 EDT"


def test_several_skipped_times_collapse_into_one_slot() -> None:
    a = cron("*/15 2 * * *", "Europe/Berlin")
    got = fires(a, local(BERLIN, 2026, 3, 28, 12), 6)
    assert got[0] == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert got[1] == local(BERLIN, 2026, 3, 30, 2, 0)
    assert len(set(got)) == len(got)


def test_spring_forward_other_times_unchanged() -> None:
    a = cron("0 1,3,4 * * *", "Europe/Berlin")
    got = [g.astimezone(BERLIN).hour for g in fires(a, local(BERLIN, 2026, 3, 28, 23), 3)]
    assert got == [1, 3, 4]


def test_fall_back_new_york_repeated_time_runs_once_at_the_first() -> None:
    a = cron("30 1 * * *", "America/New_York")
    got = fires(a, local(NEW_YORK, 2026, 10, 31, 12), 2)
    assert got == [datetime(2026, 11, 1, 5, 30, tzinfo=UTC), local(NEW_YORK, 2026, 11, 2, 1, 30)]
    assert got[0].astimezone(NEW_YORK).strftime("%H:%M %Z") == "01:30 EDT"


def test_fall_back_berlin_hourly_does_not_repeat_the_hour() -> None:
    a = cron("0 * * * *", "Europe/Berlin")
    got = fires(a, local(BERLIN, 2026, 10, 25, 0, 30), 4)
    labels = [g.astimezone(BERLIN).strftime("%H:%M %Z") for g in got]
    assert labels == ["01:00 CEST", "02:00 CEST", "03:00 CET", "04:00 CET"]


def test_fall_back_latest_slot_during_second_pass() -> None:
    a = cron("30 1 * * *", "America/New_York")
    now = local(NEW_YORK, 2026, 11, 1, 1, 10, fold=1)  # 01:10 EST, after the first 01:30 EDT
    due = schedule.due(a, LONG_AGO, now)
    assert [d.slot for d in due] == [datetime(2026, 11, 1, 5, 30, tzinfo=UTC)]
    assert due[0].reason == schedule.MISSED
    assert schedule.next_slot(a, LONG_AGO, now) == local(NEW_YORK, 2026, 11, 2, 1, 30)


def test_fall_back_at_second_pass_time_is_not_due_again() -> None:
    a = cron("30 1 * * *", "America/New_York")
    now = local(NEW_YORK, 2026, 11, 1, 1, 30, fold=1)  # 01:30 EST: the repeat
    assert [d.slot for d in schedule.due(a, LONG_AGO, now)] == [
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # the first 01:30, an hour ago
    ]


def test_spring_forward_due_at_the_jump() -> None:
    a = cron("30 2 * * *", "Europe/Berlin")
    now = datetime(2026, 3, 29, 1, 0, 5, tzinfo=UTC)
    due = schedule.due(a, LONG_AGO, now)
    assert due == (schedule.Due(datetime(2026, 3, 29, 1, 0, tzinfo=UTC), schedule.SCHEDULE),)
    assert schedule.due(a, LONG_AGO, now - timedelta(seconds=10))[0].slot.day == 28


def test_plan_notes_explain_dst() -> None:
    a = cron("30 2 * * *", "Europe/Berlin")
    first = schedule.upcoming(a, LONG_AGO, local(BERLIN, 2026, 3, 28, 12), 2)
    assert "does not exist on 2026-03-29" in first[0].note
    assert "03:00 CEST" in first[0].note
    assert first[1].note == ""
    b = cron("30 1 * * *", "America/New_York")
    fall = schedule.upcoming(b, LONG_AGO, local(NEW_YORK, 2026, 10, 31, 12), 1)
    assert "happens twice on 2026-11-01" in fall[0].note
    assert "EDT" in fall[0].note


def test_local_to_utc_exhaustive_over_a_dst_year() -> None:
    """Every quarter hour of 2026 in two zones maps monotonically, never twice to one instant
    except inside the spring-forward gap, and round-trips wherever the wall time exists."""
    for tz in (BERLIN, NEW_YORK):
        naive = datetime(2026, 1, 1)
        previous = None
        while naive.year == 2026:
            at = schedule.local_to_utc(naive, tz)
            if previous is not None:
                assert at >= previous
            back = at.astimezone(tz).replace(tzinfo=None)
            assert back == naive or back > naive  # only a gap time moves, and only forward
            previous = at
            naive += timedelta(minutes=15)


# ---------------------------------------------------------------- calendars


def test_leap_day() -> None:
    a = cron("0 0 29 2 *")
    got = fires(a, datetime(2026, 3, 1, tzinfo=UTC), 2)
    assert got == [datetime(2028, 2, 29, tzinfo=UTC), datetime(2032, 2, 29, tzinfo=UTC)]
    assert schedule.latest_slot(a, LONG_AGO, datetime(2026, 3, 1, tzinfo=UTC)) == datetime(
        2024, 2, 29, tzinfo=UTC
    )


def test_month_ends() -> None:
    a = cron("0 0 31 * *", "Europe/Berlin")
    got = [g.astimezone(BERLIN).date().isoformat() for g in fires(a, local(BERLIN, 2026, 1, 1), 4)]
    assert got == ["2026-01-31", "2026-03-31", "2026-05-31", "2026-07-31"]


def test_impossible_date_never_fires() -> None:
    a = cron("0 0 30 2 *")
    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert schedule.next_slot(a, LONG_AGO, now) is None
    assert schedule.due(a, LONG_AGO, now) == ()


def test_macro() -> None:
    a = cron("@daily", "Europe/Berlin")
    assert fires(a, local(BERLIN, 2026, 6, 1, 12), 1) == [local(BERLIN, 2026, 6, 2)]


# ---------------------------------------------------------------- intervals


def interval(value: str, **top: Any) -> Automation:
    return automation({"scheduled": {"interval": value}}, **top)


def test_interval_anchored_at_first_registration() -> None:
    a = interval("6h")
    first = datetime(2026, 5, 1, 10, 17, 3, tzinfo=UTC)
    assert schedule.due(a, first, first) == ()  # no run at registration
    assert schedule.next_slot(a, first, first) == first + timedelta(hours=6)
    now = first + timedelta(hours=13)
    assert schedule.latest_slot(a, first, now) == first + timedelta(hours=12)
    assert schedule.next_slot(a, first, now) == first + timedelta(hours=18)
    assert [f.at for f in schedule.upcoming(a, first, now, 2)] == [
        first + timedelta(hours=18),
        first + timedelta(hours=24),
    ]


def test_interval_is_not_shifted_by_dst() -> None:
    a = automation({"scheduled": {"interval": "1d", "timezone": "Europe/Berlin"}})
    first = local(BERLIN, 2026, 3, 28, 12)
    assert schedule.next_slot(a, first, first) == first + timedelta(hours=24)


# ---------------------------------------------------------------- missed runs


def test_first_registration_does_not_run_earlier_slots() -> None:
    a = cron("0 2 * * *")
    now = datetime(2026, 5, 1, 9, tzinfo=UTC)
    assert schedule.due(a, now, now) == ()  # today's 02:00 predates the registration
    assert schedule.due(a, now, now + timedelta(hours=17))[0].slot == datetime(
        2026, 5, 2, 2, tzinfo=UTC
    )


def test_slot_exactly_at_registration_runs() -> None:
    a = cron("0 2 * * *")
    now = datetime(2026, 5, 1, 2, tzinfo=UTC)
    assert schedule.due(a, now, now) == (schedule.Due(now, schedule.SCHEDULE),)


def test_latest_catches_up_only_the_latest_missed_slot() -> None:
    a = cron("0 * * * *")
    now = datetime(2026, 5, 1, 9, 20, tzinfo=UTC)  # down since 03:30: 6 slots missed
    due = schedule.due(a, datetime(2026, 5, 1, 3, 30, tzinfo=UTC), now)
    assert due == (schedule.Due(datetime(2026, 5, 1, 9, tzinfo=UTC), schedule.MISSED),)
    slots, total = schedule.missed(a, datetime(2026, 5, 1, 3, 30, tzinfo=UTC), None, now)
    assert total == 6
    assert slots[0] == datetime(2026, 5, 1, 4, tzinfo=UTC)


def test_skip_does_not_run_a_missed_slot() -> None:
    a = cron("0 * * * *", missed_runs="skip")
    assert schedule.due(a, LONG_AGO, datetime(2026, 5, 1, 9, 20, tzinfo=UTC)) == ()
    on_time = datetime(2026, 5, 1, 9, 0, 30, tzinfo=UTC)
    assert schedule.due(a, LONG_AGO, on_time)[0].reason == schedule.SCHEDULE


def test_starting_deadline_drops_old_slots() -> None:
    a = cron("0 2 * * *", starting_deadline="2h")
    assert schedule.due(a, LONG_AGO, datetime(2026, 5, 1, 3, 59, tzinfo=UTC))[0].reason == (
        schedule.MISSED
    )
    assert schedule.due(a, LONG_AGO, datetime(2026, 5, 1, 4, 1, tzinfo=UTC)) == ()


def test_skip_with_a_shorter_deadline() -> None:
    a = cron("0 2 * * *", missed_runs="skip", starting_deadline="30s")
    assert schedule.due(a, LONG_AGO, datetime(2026, 5, 1, 2, 0, 29, tzinfo=UTC))
    assert schedule.due(a, LONG_AGO, datetime(2026, 5, 1, 2, 0, 31, tzinfo=UTC)) == ()


def test_run_key_is_utc_iso() -> None:
    slot = local(BERLIN, 2026, 3, 29, 3)
    assert schedule.run_key("a", slot) == "a@2026-03-29T01:00:00+00:00"


# ---------------------------------------------------------------- one-off and manual triggers


def test_execute_immediately_runs_once_when_first_seen() -> None:
    a = automation({"scheduled": {"cron": "0 2 * * *"}}, execute_immediately=True)
    first = datetime(2026, 5, 1, 9, tzinfo=UTC)
    assert schedule.due(a, first, first) == (schedule.Due(first, schedule.EXECUTE_IMMEDIATELY),)
    assert schedule.due(a, first, first + timedelta(hours=2)) == ()
    later = schedule.due(a, first, datetime(2026, 5, 2, 2, tzinfo=UTC))
    assert [d.reason for d in later] == [schedule.SCHEDULE]


def test_on_boarding_once() -> None:
    a = automation({"on_boarding": {}})
    first = datetime(2026, 5, 1, 9, tzinfo=UTC)
    assert schedule.due(a, first, first + timedelta(minutes=5)) == (
        schedule.Due(first, schedule.ON_BOARDING),
    )
    assert schedule.next_slot(a, first, first) is None
    assert schedule.describe(a) == "on boarding"


def test_none_trigger_is_manual_only() -> None:
    a = automation({"none": {}})
    assert schedule.due(a, LONG_AGO, datetime(2026, 5, 1, tzinfo=UTC)) == ()
    assert schedule.describe(a) == "manual only"


def test_disabled_never_runs() -> None:
    a = automation({"scheduled": {"cron": "* * * * *"}}, enabled=False, execute_immediately=True)
    now = datetime(2026, 5, 1, tzinfo=UTC)
    assert schedule.due(a, now, now) == ()
    assert schedule.next_slot(a, now, now) is None


def test_metric_trigger_evaluates_on_override_cron() -> None:
    a = automation(
        {
            "metric_based": {
                "name": "drift",
                "sql_query": "SELECT 1",
                "direction": "ABOVE",
                "threshold": "0.3",
                "override_cron": "*/30 * * * *",
            }
        }
    )
    due = schedule.due(a, LONG_AGO, datetime(2026, 5, 1, 9, 40, tzinfo=UTC))
    assert due == (schedule.Due(datetime(2026, 5, 1, 9, 30, tzinfo=UTC), schedule.METRIC, True),)
    assert schedule.describe(a) == "metric drift ABOVE 0.3 on cron */30 * * * * (UTC)"


@pytest.mark.parametrize(
    ("trigger", "text"),
    [
        ({"scheduled": {"cron": "0 2 * * *", "timezone": "Europe/Berlin"}},
         "cron 0 2 * * * (Europe/Berlin)"),
        ({"scheduled": {"interval": "6h"}}, "every 6h"),
        ({"scheduled": {"interval": "90m"}}, "every 90m"),
        ({"scheduled": {"cron": "0 2 * * *", "missed_runs": "skip"}},
         "cron 0 2 * * * (UTC), missed runs skipped"),
    ],
)  # fmt: skip
def test_describe(trigger: dict[str, Any], text: str) -> None:
    assert schedule.describe(automation(trigger)) == text


def _reference(expr: str, tz: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """Brute force over every UTC minute: each matching local wall time fires at the first
    instant it is shown on the clock; a wall time the clock never shows fires at the first
    instant after it (the jump). Independent of schedule.local_to_utc."""
    from croniter import croniter

    shown: dict[datetime, datetime] = {}
    walls: list[tuple[datetime, datetime]] = []
    t = start
    while t <= end:
        wall = t.astimezone(tz).replace(tzinfo=None)
        shown.setdefault(wall, t)
        walls.append((wall, t))
        t += timedelta(minutes=1)
    lo, hi = walls[0][0], max(w for w, _ in walls)
    fires: set[datetime] = set()
    it = croniter(expr, lo - timedelta(seconds=1))  # naive wall-clock matches, in order
    while (n := it.get_next(datetime)) <= hi:
        if n in shown:
            fires.add(shown[n])
        else:
            fires.add(next(u for w, u in walls if w > n))
    return sorted(fires)


@pytest.mark.parametrize(
    ("zone_name", "day"),
    [
        ("Europe/Berlin", datetime(2026, 3, 29, tzinfo=UTC)),
        ("Europe/Berlin", datetime(2026, 10, 25, tzinfo=UTC)),
        ("America/New_York", datetime(2026, 3, 8, 4, tzinfo=UTC)),
        ("America/New_York", datetime(2026, 11, 1, 4, tzinfo=UTC)),
        ("Australia/Lord_Howe", datetime(2026, 4, 4, 12, tzinfo=UTC)),  # a 30-minute shift
        ("Australia/Lord_Howe", datetime(2026, 10, 3, 13, tzinfo=UTC)),
    ],
)
@pytest.mark.parametrize("expr", ["*/20 * * * *", "30 2 * * *", "0 1,2,3 * * *", "45 * * * *"])
def test_cron_iter_matches_brute_force_reference(zone_name: str, day: datetime, expr: str) -> None:
    tz = ZoneInfo(zone_name)
    start, end = day - timedelta(hours=6), day + timedelta(hours=12)
    want = [f for f in _reference(expr, tz, start, end) if start < f <= end - timedelta(hours=3)]
    got: list[datetime] = []
    for at in schedule.cron_iter(expr, tz, start):
        if at > end - timedelta(hours=3):
            break
        got.append(at)
    assert got == want
    # and the latest slot <= t agrees with the sequence at every minute of the window
    t = start + timedelta(hours=3)
    while t <= end - timedelta(hours=3):
        expected = max((f for f in want if f <= t), default=None)
        if expected is not None:
            assert schedule.cron_latest(expr, tz, t) == expected, t
        t += timedelta(minutes=7)


def test_unknown_zone_and_bad_cron_are_clear_errors() -> None:
    from qwak_auto.errors import SpecError

    with pytest.raises(SpecError, match="not a known IANA time zone"):
        schedule.due(cron("0 2 * * *", "Mars/Olympus"), LONG_AGO, datetime(2026, 5, 1, tzinfo=UTC))
    with pytest.raises(SpecError, match="does not parse"):
        schedule.next_slot(cron("61 2 * * *"), LONG_AGO, datetime(2026, 5, 1, tzinfo=UTC))
