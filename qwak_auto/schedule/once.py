"""The one-off run of ``execute_immediately: true`` (and of the ``on_boarding`` trigger).

SPEC-REFERENCE, "Details": the automation runs once when it is first seen. A first run that
ends ``failed`` (e.g. the repository was not there yet) is retried on later ticks with a
backoff (1 minute, doubling, at most 1 hour) until a run ends ``succeeded``,
``not_deployed`` or ``rolled_back``; `auto plan` shows it as pending, then done (issue 18).

The first attempt claims the slot at ``first_seen`` (run key ``<name>@<first_seen>``) while
that is at most ``ONCE_WINDOW`` old, as before. Attempt ``n`` > 1 claims the key
``<name>@<first_seen>#<n>``: each retry is its own unique run key, so many runners still
start it exactly once. Any run of the automation that ends well (a manual ``auto trigger``
too) completes it. A run that failed, was abandoned, interrupted or skipped ("still
running") is retried; one that waits (running, awaiting approval) is not, and neither is one
a person rejected or let expire.

This module is pure apart from :func:`read`, which builds the state from the store's runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qwak_auto.state.base import RunRecord, StateStore

DONE = frozenset({"succeeded", "not_deployed", "rolled_back"})
RETRIED = frozenset({"failed", "abandoned", "interrupted", "skipped"})
FIRST_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=1)
DONE_KEY = "once_done"  # per-automation value in the store: the run that completed it
HISTORY = 500  # runs looked at; the marker keeps "done" beyond them


@dataclass(frozen=True, slots=True, kw_only=True)
class Once:
    """Where an automation's one-off run stands."""

    done: bool = False
    done_run: str = ""  # the run that completed it
    attempts: int = 0  # one-off attempts claimed so far
    last_status: str = ""  # of the latest attempt
    last_run: str = ""
    last_ended: datetime | None = None
    last_error: str = ""

    @property
    def waiting(self) -> bool:
        """The latest attempt neither ended well nor failed: it is running or waits for a
        person (approval), so no retry is due."""
        return self.attempts > 0 and not self.done and self.last_status not in RETRIED


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 1 min, 2, 4, … at most 1 h."""
    if attempts <= 0:
        return timedelta(0)
    return min(FIRST_BACKOFF * (1 << min(attempts - 1, 12)), MAX_BACKOFF)


def retry_at(once: Once) -> datetime | None:
    """When the next attempt is due, or None (done, never tried, or waiting)."""
    if once.done or once.attempts == 0 or once.waiting or once.last_ended is None:
        return None
    return once.last_ended + backoff(once.attempts)


def attempt_key(base: str, attempt: int) -> str:
    """The run key of attempt ``attempt`` of the slot whose run key is ``base``."""
    return base if attempt <= 1 else f"{base}#{attempt}"


def _is_attempt(run_key: str, base: str) -> bool:
    return run_key == base or (
        run_key.startswith(base + "#") and run_key[len(base) + 1 :].isdigit()
    )


def from_runs(runs: Sequence[RunRecord], base: str, done_run: str = "") -> Once:
    """The state, from the automation's runs (any order) and the one-off slot's run key."""
    ordered = sorted(runs, key=lambda r: r.started_at)
    attempts = [r for r in ordered if _is_attempt(r.run_key, base)]
    finished = next((r for r in ordered if str(r.status) in DONE), None)
    if finished is not None and not done_run:
        done_run = finished.run_id
    last = attempts[-1] if attempts else None
    return Once(
        done=bool(done_run),
        done_run=done_run,
        attempts=len(attempts),
        last_status=str(last.status) if last else "",
        last_run=last.run_id if last else "",
        last_ended=(last.ended_at or last.started_at) if last else None,
        last_error=last.error if last else "",
    )


def read(store: StateStore, name: str, base: str, *, remember: bool = False) -> Once:
    """The state of automation ``name`` whose one-off slot has run key ``base``.
    ``remember``: record "done" in the store once seen (the scheduler does; views only read)."""
    marker = store.get_value(name, DONE_KEY)
    if isinstance(marker, str) and marker:
        return Once(done=True, done_run=marker)  # one read per tick once it is done
    once = from_runs(store.runs(name, HISTORY), base)
    if remember and once.done:
        store.set_value(name, DONE_KEY, once.done_run)
    return once
