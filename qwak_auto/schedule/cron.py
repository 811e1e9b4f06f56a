"""Cron on a wall clock: local time to UTC by the DST rule, and the cron fire-time series.

Pure functions, used by :mod:`qwak_auto.schedule.triggers` (which documents the rules and
re-exports these names).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any

from qwak_auto.errors import SpecError

_ONE_SECOND = timedelta(seconds=1)


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
