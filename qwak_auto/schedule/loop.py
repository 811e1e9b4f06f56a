"""The service loop (`auto run`): tick, sleep until the next due time, repeat until stopped.

The loop wakes at least every MAX_SLEEP seconds and earlier when an automation file changes;
a failed tick (e.g. the database is restarting) is logged and retried after RETRY_SLEEP.
Stop requests come from the CLI's signal handlers through the settings'
:class:`qwak_auto.run.control.Stop`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from qwak_auto import log
from qwak_auto.errors import AutoError
from qwak_auto.run.control import Stop, utcnow
from qwak_auto.run.setup import RunnerSettings
from qwak_auto.schedule.automation_set import fingerprint
from qwak_auto.schedule.summary import TickSummary
from qwak_auto.schedule.tick import run_once
from qwak_auto.state import open_store

if TYPE_CHECKING:
    from qwak_auto.config import Config

MAX_SLEEP = 60.0  # the loop wakes at least this often, so changed files are picked up
RETRY_SLEEP = 10.0  # after a failed tick (e.g. the database is unreachable)


def serve(
    paths: Sequence[Path],
    config: Config,
    settings: RunnerSettings,
    *,
    max_ticks: int | None = None,
    on_tick: Callable[[TickSummary], None] | None = None,
) -> int:
    """Tick, sleep until the next due time (at most MAX_SLEEP, earlier when a file changes),
    repeat until a stop is requested. Returns the number of ticks."""
    stop, owner = settings.stop, settings.owner
    store = open_store(config)
    ticks = 0
    seen: set[str] = set()
    try:
        while not stop.soft.is_set():
            try:
                summary = run_once(paths, config, settings, utcnow(), store=store, seen=seen)
            except Exception as exc:  # noqa: BLE001 - a service outlives a failed tick
                # e.g. the database is restarting: say so, wait, try again
                message = (
                    exc.message if isinstance(exc, AutoError) else f"{type(exc).__name__}: {exc}"
                )
                log.event(
                    "tick failed; retrying", level="error", error=message, retry_s=RETRY_SLEEP
                )
                ticks += 1
                stop.soft.wait(RETRY_SLEEP)
                continue
            ticks += 1
            if on_tick is not None:
                on_tick(summary)
            if max_ticks is not None and ticks >= max_ticks:
                break
            _sleep_until(summary.next_due, paths, stop)
    finally:
        store.close()
    log.event("runner stopped", owner=owner, ticks=ticks)
    return ticks


def _sleep_until(when: datetime | None, paths: Sequence[Path], stop: Stop) -> None:
    start = fingerprint(paths)
    deadline = time.monotonic() + MAX_SLEEP
    if when is not None:
        wait = (when - utcnow()).total_seconds() + 0.05  # wake just after the slot
        deadline = min(deadline, time.monotonic() + max(0.0, wait))
    checked = time.monotonic()
    while time.monotonic() < deadline and not stop.soft.is_set():
        stop.soft.wait(min(0.5, max(0.0, deadline - time.monotonic())))
        if time.monotonic() - checked >= 2.0:
            checked = time.monotonic()
            if fingerprint(paths) != start:
                log.event("automation files changed: reloading")
                return
