"""Trigger semantics: which slot is due now, and when the next one fires.

Pure functions of (trigger, first registration, now). No store, no clock: the scheduler
passes ``now`` and the automation's ``first_seen``; the store's unique run key decides
whether a due slot already ran (a slot is identified by its UTC instant, and its run key is
``f"{name}@{slot.isoformat()}"``, see :func:`run_key`).

Rules (they are the documented behaviour; tests in tests/unit/test_schedule*.py pin them):

- **cron** expressions are evaluated in the automation's time zone (default UTC). Fire times
  are computed on the local *wall clock* and mapped to UTC by :func:`local_to_utc`:

  * a local time that does not exist because the clocks jump forward (e.g. 02:30 on the
    spring-forward day in Europe/Berlin) fires **once, right after the jump** (03:00 local).
    Several skipped times (``*/15 2 * * *``) collapse into that one slot;
  * a local time that happens twice because the clocks go back (01:30 on the fall-back day in
    America/New_York) fires **once, at the first occurrence** (fold=0). The repeated hour
    does not fire again.

  croniter's own time-zone-aware iteration fires the repeated time twice; iterating on naive
  local time and mapping it ourselves is what makes the rule hold.
- **interval** slots are anchored at the automation's first registration: ``first_seen +
  k * interval`` for k >= 1 (the first run comes one interval after registration; use
  ``execute_immediately`` for a run at once).
- **metric_based** triggers are evaluated on the slots of their ``override_cron``.
- **execute_immediately: true** and the **on_boarding** trigger add one slot at
  ``first_seen``. It is due while unclaimed and less than :data:`ONCE_WINDOW` after the first
  registration (the window covers a runner that died between registering and claiming; adding
  ``execute_immediately`` to an automation registered long ago does not run it).
- **none** only runs through ``auto trigger``; **enabled: false** never runs.

Missed slots (the runner was down). Only the *latest* slot ``<= now`` is ever a candidate;
older missed slots are never run (the Kubernetes CronJob rule). Slots before ``first_seen``
never count: an automation registered now does not run for slots before its registration.
A candidate older than :data:`TICK_WINDOW` is a *missed* slot, and:

- ``missed_runs: latest`` (default) runs it once (trigger reason "missed slot");
- ``missed_runs: skip`` does not run it (only on-time slots, at most TICK_WINDOW old, run);
- ``starting_deadline`` drops a candidate older than ``now - starting_deadline`` in both modes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from qwak_auto.automation.model import (
    Automation,
    MetricTrigger,
    NoneTrigger,
    OnBoardingTrigger,
    ScheduledTrigger,
)
from qwak_auto.errors import SpecError

TICK_WINDOW = timedelta(seconds=60)  # a slot at most this old is on time, not missed
ONCE_WINDOW = timedelta(hours=1)  # execute_immediately / on_boarding stay due this long
_MAX_DST_SHIFT = timedelta(hours=3)  # larger than any real UTC offset change
_ONE_SECOND = timedelta(seconds=1)

# trigger reasons recorded on runs
SCHEDULE = "schedule"
MISSED = "missed slot"
EXECUTE_IMMEDIATELY = "execute_immediately"
ON_BOARDING = "on_boarding"
METRIC = "metric evaluation"


@dataclass(frozen=True, slots=True)
class Due:
    """A slot that is due now: run it (or, for a metric trigger, evaluate it)."""

    slot: datetime  # UTC
    reason: str  # schedule | missed slot | execute_immediately | on_boarding | metric evaluation
    evaluate: bool = False  # True: evaluate the metric trigger on this slot, run only if it fires


@dataclass(frozen=True, slots=True)
class Fire:
    """One future fire time, with a note when DST moved or merged it."""

    at: datetime  # UTC
    local: datetime  # aware, in the trigger's zone
    note: str = ""


def run_key(name: str, slot: datetime) -> str:
    return f"{name}@{slot.astimezone(UTC).isoformat()}"


@lru_cache(maxsize=512)
def zone(name: str) -> tzinfo:
    if name in ("UTC", "Etc/UTC", ""):
        return UTC
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise SpecError(
            f"timezone {name!r} is not a known IANA time zone",
            "use a name such as Europe/Berlin or America/New_York",
        ) from None


# ---------------------------------------------------------------- local time -> UTC


def local_to_utc(naive: datetime, tz: tzinfo) -> datetime:
    """Map a local wall-clock time to UTC by the DST rule (see the module docstring)."""
    if tz is UTC:
        return naive.replace(tzinfo=UTC)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first  # exists; when it exists twice, fold=0 is the first occurrence
    # In a gap fold=0 applies the offset before the jump (a later instant) and fold=1 the one
    # after (an earlier instant); the jump itself lies between them.
    return _transition(tz, naive.replace(tzinfo=tz, fold=1).astimezone(UTC), first)


def _transition(tz: tzinfo, lo: datetime, hi: datetime) -> datetime:
    """The first instant in (lo, hi] whose UTC offset is hi's (the moment of the jump)."""
    target = hi.astimezone(tz).utcoffset()
    while hi - lo > _ONE_SECOND:
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid <= lo:
            mid = lo + _ONE_SECOND
        if mid.astimezone(tz).utcoffset() == target:
            hi = mid
        else:
            lo = mid
    return hi


def dst_note(naive: datetime, tz: tzinfo) -> str:
    """Why a local fire time is special, or '' (for `auto plan`)."""
    if tz is UTC:
        return ""
    at = local_to_utc(naive, tz)
    local = at.astimezone(tz)
    wall = naive.strftime("%H:%M")
    day = naive.date().isoformat()
    if local.replace(tzinfo=None) != naive:
        return (
            f"{wall} does not exist on {day} (clocks jump forward): "
            f"runs once at {local:%H:%M %Z}, right after the jump"
        )
    second = naive.replace(tzinfo=tz, fold=1)
    if second.utcoffset() != local.utcoffset():
        return (
            f"{wall} happens twice on {day} (clocks go back): runs once, "
            f"at the first ({local:%H:%M %Z})"
        )
    return ""


# ---------------------------------------------------------------- cron series


@lru_cache(maxsize=4096)
def _croniter(expr: str) -> Any:
    """One croniter per expression: parsing is the costly part; set_current() re-aims it."""
    from croniter import croniter

    try:
        return croniter(expr, datetime(2000, 1, 1))
    except ValueError as exc:  # CroniterError is a ValueError
        raise SpecError(
            f"cron {expr!r} does not parse: {exc}", "use 5 fields or a macro such as @daily"
        ) from None


def _cron_step(expr: str, start: datetime, forward: bool) -> datetime | None:
    from croniter import CroniterBadDateError

    it = _croniter(expr)
    it.set_current(start, force=True)
    try:
        value = it.get_next(datetime) if forward else it.get_prev(datetime)
    except CroniterBadDateError:  # e.g. "0 0 30 2 *": never matches
        return None
    return value if isinstance(value, datetime) else None


def _floor_second(value: datetime) -> datetime:
    return value.replace(microsecond=0)


def cron_latest(expr: str, tz: tzinfo, now: datetime) -> datetime | None:
    """The latest fire time <= now (UTC), by the DST rule."""
    local = now.astimezone(tz)
    naive = _floor_second(local.replace(tzinfo=None, fold=0))
    start = naive + _ONE_SECOND  # croniter's get_prev is strict; slots are whole minutes
    if local.fold == 1:
        # In the repeated hour, later wall times of its first pass are already in the past.
        first_pass = local.replace(fold=0).utcoffset()
        second_pass = local.utcoffset()
        if first_pass is not None and second_pass is not None:
            start += first_pass - second_pass
    for _ in range(10_000):
        candidate = _cron_step(expr, start, forward=False)
        if candidate is None:
            return None
        at = local_to_utc(candidate, tz)
        if at <= now:
            return at
        start = candidate
    return None


def cron_iter(expr: str, tz: tzinfo, after: datetime) -> Iterator[datetime]:
    """Fire times (UTC) strictly after ``after``, in order, each once, by the DST rule."""
    naive = after.astimezone(tz).replace(tzinfo=None, fold=0)
    last = after
    while True:
        candidate = _cron_step(expr, naive, forward=True)
        if candidate is None:
            return
        naive = candidate
        at = local_to_utc(candidate, tz)
        if at > last:  # skips merged gap slots and the first pass of a repeated hour
            last = at
            yield at


def cron_next(expr: str, tz: tzinfo, now: datetime) -> datetime | None:
    return next(cron_iter(expr, tz, now), None)


# ---------------------------------------------------------------- per trigger


def _series(automation: Automation) -> tuple[str, tzinfo] | None:
    trigger = automation.trigger
    if isinstance(trigger, ScheduledTrigger) and trigger.cron:
        return trigger.cron, zone(trigger.timezone)
    if isinstance(trigger, MetricTrigger):
        return trigger.override_cron, zone(trigger.timezone)
    return None


def _interval(automation: Automation) -> timedelta | None:
    trigger = automation.trigger
    if isinstance(trigger, ScheduledTrigger) and trigger.interval_seconds:
        return timedelta(seconds=trigger.interval_seconds)
    return None


def latest_slot(automation: Automation, first_seen: datetime, now: datetime) -> datetime | None:
    """The latest recurring slot <= now that is not before first registration, or None."""
    series = _series(automation)
    if series is not None:
        at = cron_latest(series[0], series[1], now)
        return at if at is not None and at >= first_seen else None
    interval = _interval(automation)
    if interval is not None:
        k = math.floor((now - first_seen) / interval)
        return first_seen + k * interval if k >= 1 else None
    return None


def next_slot(automation: Automation, first_seen: datetime, now: datetime) -> datetime | None:
    """The next recurring slot strictly after now (None for manual / one-off triggers)."""
    if not automation.enabled:
        return None
    series = _series(automation)
    if series is not None:
        return cron_next(series[0], series[1], max(now, first_seen - timedelta(microseconds=1)))
    interval = _interval(automation)
    if interval is not None:
        k = max(1, math.floor((now - first_seen) / interval) + 1)
        return first_seen + k * interval
    return None


def upcoming(automation: Automation, first_seen: datetime, now: datetime, count: int) -> list[Fire]:
    """The next ``count`` recurring fire times after now, with DST notes (for `auto plan`)."""
    out: list[Fire] = []
    series = _series(automation)
    if series is not None:
        expr, tz = series
        start = max(now, first_seen - timedelta(microseconds=1))
        for at in cron_iter(expr, tz, start):
            if len(out) >= count:
                break
            out.append(Fire(at, at.astimezone(tz), _fire_note(expr, tz, at)))
        return out
    interval = _interval(automation)
    first = next_slot(automation, first_seen, now)
    if interval is not None and first is not None:
        tz = zone(getattr(automation.trigger, "timezone", "UTC"))
        out = [
            Fire(first + i * interval, (first + i * interval).astimezone(tz)) for i in range(count)
        ]
    return out


def _fire_note(expr: str, tz: tzinfo, at: datetime) -> str:
    """Note the DST rule when the cron's wall times around ``at`` were moved or merged."""
    if (
        tz is UTC
        or (at - _MAX_DST_SHIFT).astimezone(tz).utcoffset()
        == (at + _MAX_DST_SHIFT).astimezone(tz).utcoffset()
    ):
        return ""
    local = at.astimezone(tz)
    before = local.replace(tzinfo=None) - _MAX_DST_SHIFT
    notes: list[str] = []
    naive = before
    while True:
        candidate = _cron_step(expr, naive, forward=True)
        if candidate is None or local_to_utc(candidate, tz) > at:
            break
        naive = candidate
        if local_to_utc(candidate, tz) == at:
            note = dst_note(candidate, tz)
            if note and note not in notes:
                notes.append(note)
    return "; ".join(notes)


def _once_reason(automation: Automation) -> str | None:
    if isinstance(automation.trigger, OnBoardingTrigger):
        return ON_BOARDING
    if automation.execute_immediately:
        return EXECUTE_IMMEDIATELY
    return None


def _deadline(automation: Automation) -> timedelta | None:
    trigger = automation.trigger
    if not isinstance(trigger, ScheduledTrigger):
        return None
    limit = (
        None
        if trigger.starting_deadline_seconds is None
        else timedelta(seconds=trigger.starting_deadline_seconds)
    )
    if trigger.missed_runs == "skip":
        limit = TICK_WINDOW if limit is None else min(limit, TICK_WINDOW)
    return limit


def due(automation: Automation, first_seen: datetime, now: datetime) -> tuple[Due, ...]:
    """What is due for this automation at ``now`` (claims decide whether it already ran)."""
    if not automation.enabled:
        return ()
    out: list[Due] = []
    once = _once_reason(automation)
    if once is not None and first_seen <= now <= first_seen + ONCE_WINDOW:
        out.append(Due(first_seen, once))
    if isinstance(automation.trigger, NoneTrigger | OnBoardingTrigger):
        return tuple(out)
    slot = latest_slot(automation, first_seen, now)
    if slot is None:
        return tuple(out)
    if isinstance(automation.trigger, MetricTrigger):
        return (*out, Due(slot, METRIC, evaluate=True))
    age = now - slot
    limit = _deadline(automation)
    if limit is not None and age > limit:
        return tuple(out)
    if out and out[0].slot == slot:
        return tuple(out)  # one run for one instant
    return (*out, Due(slot, SCHEDULE if age <= TICK_WINDOW else MISSED))


def missed(
    automation: Automation,
    first_seen: datetime,
    since: datetime | None,
    now: datetime,
    limit: int = 50,
) -> tuple[list[datetime], int]:
    """Recurring slots in (since, now] (since defaults to just before first_seen): the first
    ``limit`` of them and how many there are in all (counting stops at 10,000)."""
    start = max(since, first_seen) if since is not None else first_seen - timedelta(microseconds=1)
    series = _series(automation)
    slots: list[datetime] = []
    total = 0
    if series is not None:
        for at in cron_iter(series[0], series[1], start):
            if at > now or total >= 10_000:
                break
            total += 1
            if len(slots) < limit:
                slots.append(at)
        return slots, total
    interval = _interval(automation)
    if interval is not None:
        k = max(1, math.floor((start - first_seen) / interval) + 1)
        while first_seen + k * interval <= now and total < 10_000:
            total += 1
            if len(slots) < limit:
                slots.append(first_seen + k * interval)
            k += 1
    return slots, total


# ---------------------------------------------------------------- describing


def _duration(seconds: int) -> str:
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def describe(automation: Automation) -> str:
    """The trigger in one human line: "cron 0 2 * * * (Europe/Berlin)", "every 6h", ..."""
    trigger = automation.trigger
    text: str
    if isinstance(trigger, ScheduledTrigger):
        if trigger.cron:
            text = f"cron {trigger.cron} ({trigger.timezone or 'UTC'})"
        else:
            text = f"every {_duration(trigger.interval_seconds or 0)}"
        if trigger.missed_runs == "skip":
            text += ", missed runs skipped"
        if trigger.starting_deadline_seconds:
            text += f", deadline {_duration(trigger.starting_deadline_seconds)}"
    elif isinstance(trigger, MetricTrigger):
        text = (
            f"metric {trigger.name} {trigger.direction.value} {trigger.threshold} "
            f"on cron {trigger.override_cron} ({trigger.timezone or 'UTC'})"
        )
    elif isinstance(trigger, OnBoardingTrigger):
        text = "on boarding"
    else:
        text = "manual only"
    if automation.execute_immediately and not isinstance(trigger, OnBoardingTrigger):
        text += " + once when first seen"
    return text
