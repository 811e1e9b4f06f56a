"""The scheduler: one tick (`auto run --once`), the service loop (`auto run`), manual runs.

A tick loads and validates the automation set, records it in the state store, marks runs
whose runner died as abandoned (and retries each such slot once), then for every automation
computes what is due now (:mod:`qwak_auto.schedule.triggers`), claims each due slot exactly once
(the store's unique run key) and runs what it claimed, one run after the other.

An invalid file never stops the others: its problems are reported and the tick's exit code
is 1, but every valid automation still runs. Automations that are in the store but no longer
in the files are reported as gone; their records are kept.

Environment: ``AUTO_LEASE_SECONDS`` (default 60) is the lease a runner holds on a run and
renews every third of it; a run whose lease expired is abandoned by the next tick.

This module is the entry point and holds manual runs (`auto trigger`); the parts live in
:mod:`qwak_auto.schedule.automation_set` (files ↔ store), :mod:`qwak_auto.schedule.tick` (one tick),
:mod:`qwak_auto.schedule.summary` (its report) and :mod:`qwak_auto.schedule.loop` (the loop).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qwak_auto.automation.problems import Problem, Severity
from qwak_auto.errors import AutoError, UsageError
from qwak_auto.run.control import utcnow
from qwak_auto.run.runner import RunOutcome, Stop, execute
from qwak_auto.schedule.automation_set import fingerprint, load_set, register
from qwak_auto.schedule.loop import MAX_SLEEP, RETRY_SLEEP, serve
from qwak_auto.schedule.summary import Evaluated, Skipped, TickSummary
from qwak_auto.schedule.tick import (
    ALREADY_CLAIMED,
    DEFAULT_LEASE,
    lease_seconds,
    new_owner,
    next_due,
    run_once,
)

if TYPE_CHECKING:
    from qwak_auto.config import Config

# Re-exported: the CLI, the build service and tests import these from qwak_auto.schedule.manual.
__all__ = [
    "ALREADY_CLAIMED",
    "DEFAULT_LEASE",
    "MAX_SLEEP",
    "RETRY_SLEEP",
    "Evaluated",
    "Skipped",
    "TickSummary",
    "fingerprint",
    "lease_seconds",
    "load_set",
    "new_owner",
    "next_due",
    "register",
    "run_once",
    "serve",
    "trigger",
]


def trigger(
    name: str,
    paths: Sequence[Path],
    config: Config,
    *,
    environ: Mapping[str, str] | None = None,
    stop: Stop | None = None,
    step_overrides: Mapping[str, Any] | None = None,
) -> RunOutcome:
    """Run one automation now (`auto trigger NAME`), recorded with trigger reason "manual"."""
    from qwak_auto.state import open_store

    environ = os.environ if environ is None else environ
    automations, problems = load_set(paths, config)
    _refuse_duplicate(name, problems)
    by_name = {a.name: a for a in automations}
    automation = by_name.get(name)
    if automation is None:
        import difflib

        bad = [p for p in problems if p.severity is Severity.ERROR]
        close = difflib.get_close_matches(name, list(by_name), n=1)
        hint = (
            f"did you mean `{close[0]}`?"
            if close
            else (
                "known automations: " + ", ".join(sorted(by_name))
                if by_name
                else "no valid automations found"
            )
        )
        if bad:
            hint += f" ({len(bad)} problem(s) in the files: run `auto validate`)"
        raise UsageError(f"no automation named {name!r} in {', '.join(map(str, paths))}", hint)
    if not automation.enabled:
        raise UsageError(
            f"automation {name!r} is disabled (enabled: false)",
            f"set `enabled: true` in {automation.origin.file} to run it",
        )
    now = utcnow()
    owner = new_owner()
    store = open_store(config)
    try:
        register(store, [automation], now)
        claim = store.claim(
            automation=name,
            run_key=f"{name}@manual:{uuid.uuid4()}",
            trigger_reason="manual",
            scheduled_for=None,
            owner=owner,
            now=now,
            lease_seconds=lease_seconds(environ),
            forbid_overlap=automation.concurrency != "allow",
        )
        if not claim.claimed or claim.run is None:
            raise AutoError(
                f"{name}: not started: {claim.reason}",
                "wait for the running run to finish, or set `concurrency: allow`",
            )
        return execute(
            claim.run,
            automation,
            config,
            store,
            owner=owner,
            lease_seconds=lease_seconds(environ),
            stop=stop,
            step_overrides=step_overrides,
            environ=environ,
        )
    finally:
        store.close()


def _refuse_duplicate(name: str, problems: Sequence[Problem]) -> None:
    """A name written twice is ambiguous: say where, rather than run whichever came first."""
    import re

    tail = re.compile(rf"^the name `{re.escape(name)}` is already used in (.+)$")
    places: list[str] = []
    for p in problems:
        match = tail.match(p.message) if p.code == "name.duplicate" else None
        if match:
            if not places:
                places.append(match.group(1))
            places.append(f"{p.file}:{p.line}")
    if places:
        raise UsageError(
            f"automation {name!r} is defined more than once: " + ", ".join(places),
            "names are unique within an automation set: rename or remove all but one "
            "(`auto validate` lists this too)",
        )
