"""The scheduler: one tick (`auto run --once`), the service loop (`auto run`), manual runs.

A tick loads and validates the automation set, records it in the state store, marks runs
whose runner died as abandoned (and retries each such slot once), then for every automation
computes what is due now (:mod:`qwak_auto.schedule`), claims each due slot exactly once
(the store's unique run key) and runs what it claimed, one run after the other.

An invalid file never stops the others: its problems are reported and the tick's exit code
is 1, but every valid automation still runs. Automations that are in the store but no longer
in the files are reported as gone; their records are kept.

Environment: ``AUTO_LEASE_SECONDS`` (default 60) is the lease a runner holds on a run and
renews every third of it; a run whose lease expired is abandoned by the next tick.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qwak_auto import log, schedule
from qwak_auto.errors import AutoError, UsageError
from qwak_auto.runner import RunOutcome, Stop, execute
from qwak_auto.spec.model import Automation, MetricTrigger
from qwak_auto.spec.problems import Problem, Severity
from qwak_auto.state.base import AutomationRecord

if TYPE_CHECKING:
    from qwak_auto.config import Config
    from qwak_auto.state.base import StateStore

DEFAULT_LEASE = 60.0
MAX_SLEEP = 60.0  # the loop wakes at least this often, so changed files are picked up
RETRY_SLEEP = 10.0  # after a failed tick (e.g. the database is unreachable)
ALREADY_CLAIMED = "already claimed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Skipped:
    automation: str
    run_key: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Evaluated:
    automation: str
    slot: datetime
    fired: bool
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TickSummary:
    """What one tick did. ``ok`` is False when any run failed or any file was invalid."""

    now: datetime
    owner: str
    automations: int
    problems: tuple[Problem, ...] = ()
    runs: tuple[RunOutcome, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    already_claimed: int = 0
    abandoned: tuple[str, ...] = ()  # run ids this tick marked abandoned
    evaluations: tuple[Evaluated, ...] = ()
    errors: tuple[str, ...] = ()  # e.g. a metric trigger that could not be evaluated
    gone: tuple[str, ...] = ()  # in the store, no longer in the files
    next_due: datetime | None = None
    stopped: bool = False

    @property
    def errors_count(self) -> int:
        return sum(1 for p in self.problems if p.severity is Severity.ERROR)

    @property
    def ok(self) -> bool:
        return self.errors_count == 0 and not self.errors and all(run.ok for run in self.runs)

    def as_dict(self) -> dict[str, Any]:
        """The stable JSON shape of `auto run --once --format json`."""
        return {
            "now": self.now.isoformat(),
            "owner": self.owner,
            "ok": self.ok,
            "automations": self.automations,
            "claimed": len(self.runs),
            "runs": [
                {
                    "run_id": r.run_id,
                    "run_key": r.run_key,
                    "automation": r.automation,
                    "status": r.status.value,
                    "error": r.error,
                    "trigger_reason": r.summary.trigger_reason,
                    "build_id": r.summary.build_id,
                }
                for r in self.runs
            ],
            "skipped": [
                {"automation": s.automation, "run_key": s.run_key, "reason": s.reason}
                for s in self.skipped
            ],
            "already_claimed": self.already_claimed,
            "abandoned": list(self.abandoned),
            "evaluations": [
                {
                    "automation": e.automation,
                    "slot": e.slot.isoformat(),
                    "fired": e.fired,
                    "reason": e.reason,
                }
                for e in self.evaluations
            ],
            "errors": list(self.errors),
            "problems": [_problem(p) for p in self.problems],
            "gone": list(self.gone),
            "next_due": self.next_due.isoformat() if self.next_due else None,
            "stopped": self.stopped,
        }


def _problem(p: Problem) -> dict[str, Any]:
    return {
        "file": p.file,
        "line": p.line,
        "column": p.column,
        "path": p.path,
        "code": p.code,
        "severity": p.severity.value,
        "message": p.message,
        "hint": p.hint,
    }


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_seconds(environ: Mapping[str, str]) -> float:
    raw = environ.get("AUTO_LEASE_SECONDS", "")
    try:
        return max(1.0, float(raw)) if raw else DEFAULT_LEASE
    except ValueError:
        raise UsageError(
            f"AUTO_LEASE_SECONDS: {raw!r} is not a number of seconds", "e.g. AUTO_LEASE_SECONDS=60"
        ) from None


# ---------------------------------------------------------------- loading the set


def load_set(
    paths: Sequence[Path], config: Config
) -> tuple[tuple[Automation, ...], tuple[Problem, ...]]:
    """The valid automations of ``paths`` and the problems of the rest (validated as by
    `auto validate`: an invalid document is left out, the others load)."""
    from qwak_auto.spec.validate import load_automations

    automations, problems = load_automations(tuple(paths), config)
    return tuple(automations), tuple(problems)


def fingerprint(paths: Sequence[Path]) -> str:
    """Changes when any automation file under ``paths`` changes (mtime, size or name)."""
    digest = hashlib.sha256()
    for root in paths:
        files = [root] if root.is_file() else sorted(root.rglob("*.y*ml")) if root.is_dir() else []
        for f in files:
            try:
                st = f.stat()
            except OSError:
                continue
            digest.update(f"{f}:{st.st_mtime_ns}:{st.st_size}\n".encode())
    return digest.hexdigest()


# ---------------------------------------------------------------- one tick


@dataclass(slots=True)
class _Tick:
    config: Config
    store: StateStore
    now: datetime
    owner: str
    lease: float
    stop: Stop
    environ: Mapping[str, str]
    step_overrides: Mapping[str, Any] | None
    # run keys this process already claimed or saw claimed (the service loop keeps it across
    # ticks, so a slot that is done costs no store transaction on every later tick)
    seen: set[str] = field(default_factory=set)
    runs: list[RunOutcome] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    evaluations: list[Evaluated] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    already_claimed: int = 0

    def claim_and_run(
        self, automation: Automation, key: str, reason: str, slot: datetime | None
    ) -> None:
        if key in self.seen:
            self.already_claimed += 1
            return
        claim = self.store.claim(
            automation=automation.name,
            run_key=key,
            trigger_reason=reason,
            scheduled_for=slot,
            owner=self.owner,
            now=_utcnow(),  # leases run on the real clock; ``self.now`` only picks slots
            lease_seconds=self.lease,
            forbid_overlap=automation.concurrency != "allow",
        )
        if len(self.seen) > 100_000:
            self.seen.clear()
        self.seen.add(key)  # after the claim answered: a store error leaves the key retryable
        if not claim.claimed or claim.run is None:
            if claim.reason == ALREADY_CLAIMED:
                self.already_claimed += 1
            else:
                self.skipped.append(
                    Skipped(automation=automation.name, run_key=key, reason=claim.reason)
                )
                log.event(
                    "slot skipped", automation=automation.name, run_key=key, reason=claim.reason
                )
            return
        outcome = execute(
            claim.run,
            automation,
            self.config,
            self.store,
            owner=self.owner,
            lease_seconds=self.lease,
            stop=self.stop,
            step_overrides=self.step_overrides,
            environ=self.environ,
        )
        self.runs.append(outcome)

    def evaluate(self, automation: Automation, slot: datetime) -> str | None:
        """Evaluate a metric trigger on ``slot`` (once per slot); the run reason if it fires."""
        trigger = automation.trigger
        assert isinstance(trigger, MetricTrigger)
        marker = slot.isoformat()
        if self.store.get_value(automation.name, "last_evaluated_slot") == marker:
            return None
        self.store.set_value(automation.name, "last_evaluated_slot", marker)
        try:
            from qwak_auto.conditions import evaluate_metric_trigger
        except ImportError as exc:
            self.errors.append(
                f"{automation.name}: metric trigger not evaluated: the metric evaluator is "
                f"not available ({exc})"
            )
            return None
        try:
            verdict = evaluate_metric_trigger(
                automation, trigger, self.store, self.config, self.now
            )
        except AutoError as exc:
            self.errors.append(f"{automation.name}: metric trigger {trigger.name}: {exc.message}")
            return None
        self.evaluations.append(
            Evaluated(
                automation=automation.name, slot=slot, fired=verdict.fire, reason=verdict.reason
            )
        )
        return f"metric {trigger.name}: {verdict.reason}" if verdict.fire else None


def _utcnow() -> datetime:
    return datetime.now(UTC)


def register(
    store: StateStore, automations: Sequence[Automation], now: datetime
) -> dict[str, AutomationRecord]:
    return {
        a.name: store.upsert_automation(
            name=a.name,
            model_id=a.model_id,
            spec_hash=a.spec_hash,
            file=a.origin.file,
            enabled=a.enabled,
            now=now,
        )
        for a in automations
    }


def next_due(
    automations: Sequence[Automation], records: Mapping[str, AutomationRecord], now: datetime
) -> datetime | None:
    times = []
    for a in automations:
        if a.name not in records:
            continue
        try:
            t = schedule.next_slot(a, records[a.name].first_seen, now)
        except AutoError:
            continue  # reported by the tick
        if t is not None:
            times.append(t)
    return min(times, default=None)


def run_once(
    paths: Sequence[Path],
    config: Config,
    now: datetime | None = None,
    owner: str | None = None,
    *,
    store: StateStore | None = None,
    stop: Stop | None = None,
    environ: Mapping[str, str] | None = None,
    step_overrides: Mapping[str, Any] | None = None,
    seen: set[str] | None = None,
) -> TickSummary:
    """One tick: everything due at ``now`` is claimed once and run (see the module doc).

    ``now`` is the schedule's clock (which slots are due, first registration); claims,
    leases and step times always use the real clock."""
    environ = os.environ if environ is None else environ
    now = now or _utcnow()
    owner = owner or new_owner()
    automations, problems = load_set(paths, config)
    own_store = store is None
    if store is None:
        from qwak_auto.state import open_store

        store = open_store(config)
    try:
        return _tick(
            automations,
            problems,
            _Tick(
                config=config,
                store=store,
                now=now,
                owner=owner,
                lease=lease_seconds(environ),
                stop=stop or Stop(),
                environ=environ,
                step_overrides=step_overrides,
                seen=seen if seen is not None else set(),
            ),
        )
    finally:
        if own_store:
            store.close()


def _tick(
    automations: Sequence[Automation], problems: Sequence[Problem], tick: _Tick
) -> TickSummary:
    store, now = tick.store, tick.now
    abandoned = store.abandon_expired(_utcnow())
    for run in abandoned:
        log.event("run abandoned", automation=run.automation, run=run.run_id, error=run.error)
    records = register(store, automations, now)
    by_name = {a.name: a for a in automations}
    # An abandoned slot is retried once, even when a later slot is due by now.
    for run in abandoned:
        automation = by_name.get(run.automation)
        if automation is None or run.scheduled_for is None or run.attempt >= 2:
            continue
        if tick.stop.soft.is_set():
            break
        tick.seen.discard(run.run_key)
        tick.claim_and_run(automation, run.run_key, run.trigger_reason, run.scheduled_for)
    for automation in automations:
        if tick.stop.soft.is_set():
            break
        record = records[automation.name]
        try:
            due = schedule.due(automation, record.first_seen, now)
        except AutoError as exc:  # a bad cron or zone that validation did not catch
            tick.errors.append(f"{automation.name}: {exc.message}")
            continue
        for item in due:
            if tick.stop.soft.is_set():
                break
            reason = item.reason
            if item.evaluate:
                fired = tick.evaluate(automation, item.slot)
                if fired is None:
                    continue
                reason = fired
            key = schedule.run_key(automation.name, item.slot)
            tick.claim_and_run(automation, key, reason, item.slot)
    known = {a.name for a in automations}
    gone = tuple(r.name for r in store.automations() if r.name not in known)
    return TickSummary(
        now=now,
        owner=tick.owner,
        automations=len(automations),
        problems=tuple(problems),
        runs=tuple(tick.runs),
        skipped=tuple(tick.skipped),
        already_claimed=tick.already_claimed,
        abandoned=tuple(r.run_id for r in abandoned),
        evaluations=tuple(tick.evaluations),
        errors=tuple(tick.errors),
        gone=gone,
        next_due=next_due(automations, records, now),
        stopped=tick.stop.soft.is_set(),
    )


# ---------------------------------------------------------------- the service loop


def serve(
    paths: Sequence[Path],
    config: Config,
    stop: Stop,
    *,
    environ: Mapping[str, str] | None = None,
    max_ticks: int | None = None,
    on_tick: Any = None,
) -> int:
    """Tick, sleep until the next due time (at most MAX_SLEEP, earlier when a file changes),
    repeat until ``stop`` is requested. Returns the number of ticks."""
    from qwak_auto.state import open_store

    environ = os.environ if environ is None else environ
    owner = new_owner()
    store = open_store(config)
    ticks = 0
    seen: set[str] = set()
    try:
        while not stop.soft.is_set():
            try:
                summary = run_once(
                    paths, config, _utcnow(), owner, store=store, stop=stop, environ=environ,
                    seen=seen,
                )  # fmt: skip
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
        wait = (when - _utcnow()).total_seconds() + 0.05  # wake just after the slot
        deadline = min(deadline, time.monotonic() + max(0.0, wait))
    checked = time.monotonic()
    while time.monotonic() < deadline and not stop.soft.is_set():
        stop.soft.wait(min(0.5, max(0.0, deadline - time.monotonic())))
        if time.monotonic() - checked >= 2.0:
            checked = time.monotonic()
            if fingerprint(paths) != start:
                log.event("automation files changed: reloading")
                return


# ---------------------------------------------------------------- manual runs


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
    now = _utcnow()
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
