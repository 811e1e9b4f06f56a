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
  ``first_seen``. Its first attempt is due while unclaimed and less than :data:`ONCE_WINDOW`
  after the first registration (the window covers a runner that died between registering
  and claiming; adding ``execute_immediately`` to an automation registered long ago does not
  run it). A failed attempt is retried with a backoff until a run ends well
  (:mod:`qwak_auto.schedule.once`).
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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from qwak_auto.automation.model import (
    Automation,
    MetricTrigger,
    NoneTrigger,
    OnBoardingTrigger,
    ScheduledTrigger,
)
from qwak_auto.errors import SpecError
from qwak_auto.schedule import once as once_rules
from qwak_auto.schedule.cron import _cron_step
from qwak_auto.schedule.cron import (  # re-exported: tests and the benchmark use them here
    _croniter as _croniter,
)
from qwak_auto.schedule.cron import cron_iter as cron_iter
from qwak_auto.schedule.cron import cron_latest as cron_latest
from qwak_auto.schedule.cron import cron_next as cron_next
from qwak_auto.schedule.cron import dst_note as dst_note
from qwak_auto.schedule.cron import local_to_utc as local_to_utc

TICK_WINDOW = timedelta(seconds=60)  # a slot at most this old is on time, not missed
ONCE_WINDOW = timedelta(hours=1)  # execute_immediately / on_boarding stay due this long
_MAX_DST_SHIFT = timedelta(hours=3)  # larger than any real UTC offset change

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
    attempt: int = 1  # > 1: a retry of the one-off slot (execute_immediately / on_boarding)

    def key(self, name: str) -> str:
        """The run key that claims this slot (a retry has its own)."""
        return once_rules.attempt_key(run_key(name, self.slot), self.attempt)

    @property
    def trigger_reason(self) -> str:
        """What the run records: the reason, and the attempt of a retry."""
        return self.reason if self.attempt <= 1 else f"{self.reason} (attempt {self.attempt})"


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


def has_once(automation: Automation) -> bool:
    """True when the automation has a one-off run (execute_immediately / on_boarding)."""
    return once_reason(automation) is not None


def once_reason(automation: Automation) -> str | None:
    """``on_boarding`` / ``execute_immediately`` for an automation with a one-off run."""
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


def once_due(
    automation: Automation, first_seen: datetime, now: datetime, once: once_rules.Once
) -> Due | None:
    """The one-off slot when an attempt of it is due now (see :mod:`.once`)."""
    reason = once_reason(automation)
    if reason is None or not automation.enabled or once.done or once.waiting:
        return None
    if once.attempts == 0:
        return Due(first_seen, reason) if first_seen <= now <= first_seen + ONCE_WINDOW else None
    at = once_rules.retry_at(once)
    return Due(first_seen, reason, attempt=once.attempts + 1) if at and at <= now else None


def due(
    automation: Automation,
    first_seen: datetime,
    now: datetime,
    once: once_rules.Once | None = None,
) -> tuple[Due, ...]:
    """What is due for this automation at ``now`` (claims decide whether it already ran).
    ``once``: where its one-off run stands (default: never attempted)."""
    if not automation.enabled:
        return ()
    out: list[Due] = []
    first = once_due(automation, first_seen, now, once or once_rules.Once())
    if first is not None:
        out.append(first)
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
    if out and out[0].slot == slot and out[0].attempt == 1:
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
