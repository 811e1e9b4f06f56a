"""Manual runs (`auto trigger NAME`): one automation of the set, now, claimed like a slot.

The scheduler's other parts: :mod:`qwak_auto.schedule.automation_set` (files ↔ store),
:mod:`qwak_auto.schedule.tick` (one tick, `auto run --once`), :mod:`qwak_auto.schedule.summary`
(its report) and :mod:`qwak_auto.schedule.loop` (the service loop, `auto run`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qwak_auto.errors import AutoError, UsageError
from qwak_auto.run.control import utcnow
from qwak_auto.run.records import RunOutcome
from qwak_auto.run.runner import execute
from qwak_auto.run.setup import RunnerSettings
from qwak_auto.schedule.automation_set import find, register
from qwak_auto.state import open_store
from qwak_auto.state.base import ClaimRequest

if TYPE_CHECKING:
    from qwak_auto.config import Config


def trigger(
    name: str, paths: Sequence[Path], config: Config, settings: RunnerSettings
) -> RunOutcome:
    """Run one automation now (`auto trigger NAME`), recorded with trigger reason "manual"."""
    automation = find(name, paths, config)
    if not automation.enabled:
        raise UsageError(
            f"automation {name!r} is disabled (enabled: false)",
            f"set `enabled: true` in {automation.origin.file} to run it",
        )
    now = utcnow()
    store = open_store(config)
    try:
        register(store, [automation], now)
        claim = store.claim(
            ClaimRequest(
                automation=name,
                run_key=f"{name}@manual:{uuid.uuid4()}",
                trigger_reason="manual",
                scheduled_for=None,
                owner=settings.owner,
                now=now,
                lease_seconds=settings.lease_seconds,
                forbid_overlap=automation.concurrency != "allow",
            )
        )
        if not claim.claimed or claim.run is None:
            raise AutoError(
                f"{name}: not started: {claim.reason}",
                "wait for the running run to finish, or set `concurrency: allow`",
            )
        return execute(claim.run, automation, config, store, settings)
    finally:
        store.close()
