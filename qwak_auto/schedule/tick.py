"""One scheduler tick (`auto run --once`): abandon, register, evaluate, claim, run.

A tick marks runs whose runner died as abandoned (and retries each such slot once), records
the automation set in the store, expires and continues runs that waited for approval
(:mod:`qwak_auto.schedule.approvals`), then for every automation computes what is due now
(:mod:`qwak_auto.schedule.triggers`), evaluates metric triggers on their slots, claims each due slot
exactly once (the store's unique run key) and runs what it claimed, one run after the other.

Who runs, with which lease and parts: :class:`qwak_auto.run.setup.RunnerSettings`. Metric
triggers are evaluated by an injected function
(:func:`qwak_auto.schedule.metric.evaluate_metric_trigger` by default).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from qwak_auto import log
from qwak_auto.automation.model import Automation, MetricTrigger
from qwak_auto.automation.problems import Problem
from qwak_auto.errors import AutoError
from qwak_auto.run.control import utcnow
from qwak_auto.run.records import RunOutcome
from qwak_auto.run.recovery import recover
from qwak_auto.run.runner import execute
from qwak_auto.run.setup import RunnerSettings
from qwak_auto.schedule import approvals
from qwak_auto.schedule import once as once_rules
from qwak_auto.schedule import triggers as schedule
from qwak_auto.schedule.automation_set import gone, load_set, register
from qwak_auto.schedule.metric import TriggerEvaluation, evaluate_metric_trigger
from qwak_auto.schedule.summary import Evaluated, Skipped, TickSummary
from qwak_auto.state import open_store
from qwak_auto.state.base import AutomationRecord, ClaimRequest

if TYPE_CHECKING:
    from qwak_auto.config import Config
    from qwak_auto.state.base import StateStore

ALREADY_CLAIMED = "already claimed"


@dataclass(slots=True)
class _Tick:
    config: Config
    store: StateStore
    now: datetime
    settings: RunnerSettings
    evaluate_trigger: TriggerEvaluation
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
            ClaimRequest(
                automation=automation.name,
                run_key=key,
                trigger_reason=reason,
                scheduled_for=slot,
                owner=self.settings.owner,
                now=utcnow(),  # leases run on the real clock; ``self.now`` only picks slots
                lease_seconds=self.settings.lease_seconds,
                forbid_overlap=automation.concurrency != "allow",
            )
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
        self.runs.append(execute(claim.run, automation, self.config, self.store, self.settings))

    def evaluate(self, automation: Automation, slot: datetime) -> str | None:
        """Evaluate a metric trigger on ``slot`` (once per slot); the run reason if it fires."""
        trigger = automation.trigger
        assert isinstance(trigger, MetricTrigger)
        marker = slot.isoformat()
        if self.store.get_value(automation.name, "last_evaluated_slot") == marker:
            return None
        self.store.set_value(automation.name, "last_evaluated_slot", marker)
        try:
            verdict = self.evaluate_trigger(automation, trigger, self.store, self.config, self.now)
        except AutoError as exc:
            self.errors.append(f"{automation.name}: metric trigger {trigger.name}: {exc.message}")
            return None
        self.evaluations.append(
            Evaluated(
                automation=automation.name, slot=slot, fired=verdict.fire, reason=verdict.reason
            )
        )
        return f"metric {trigger.name}: {verdict.reason}" if verdict.fire else None


def once_state(
    store: StateStore, automation: Automation, first_seen: datetime, *, remember: bool = False
) -> once_rules.Once | None:
    """Where the automation's one-off run stands (None: it has none)."""
    if not schedule.has_once(automation):
        return None
    base = schedule.run_key(automation.name, first_seen)
    return once_rules.read(store, automation.name, base, remember=remember)


def next_due(
    automations: Sequence[Automation],
    records: Mapping[str, AutomationRecord],
    now: datetime,
    store: StateStore | None = None,
) -> datetime | None:
    """The next recurring slot of any automation, or a one-off retry (given the store)."""
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
        once = once_state(store, a, records[a.name].first_seen) if store is not None else None
        retry = once_rules.retry_at(once) if once is not None and a.enabled else None
        if retry is not None:
            times.append(max(retry, now))
    return min(times, default=None)


def run_once(
    paths: Sequence[Path],
    config: Config,
    settings: RunnerSettings,
    now: datetime | None = None,
    *,
    store: StateStore | None = None,
    evaluate_trigger: TriggerEvaluation = evaluate_metric_trigger,
    seen: set[str] | None = None,
) -> TickSummary:
    """One tick: everything due at ``now`` is claimed once and run (see the module doc).

    ``now`` is the schedule's clock (which slots are due, first registration); claims,
    leases and step times always use the real clock."""
    now = now or utcnow()
    automations, problems = load_set(paths, config)
    own_store = store is None
    if store is None:
        store = open_store(config)
    try:
        return _tick(
            automations,
            problems,
            _Tick(
                config=config,
                store=store,
                now=now,
                settings=settings,
                evaluate_trigger=evaluate_trigger,
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
    abandoned = store.abandon_expired(utcnow())
    for run in abandoned:
        log.event("run abandoned", automation=run.automation, run=run.run_id, error=run.error)
    for line in recover(store, tick.config, tick.settings.environ):
        log.event("recovered", what=line)
    records = register(store, automations, now)
    # Waiting runs past their deadline end expired; approved ones are deployed (once).
    continued, _expired = approvals.on_tick(store, automations, tick.config, tick.settings)
    tick.runs.extend(continued)
    by_name = {a.name: a for a in automations}
    # An abandoned slot is retried once, even when a later slot is due by now.
    for run in abandoned:
        automation = by_name.get(run.automation)
        if automation is None or run.scheduled_for is None or run.attempt >= 2:
            continue
        if tick.settings.stop.soft.is_set():
            break
        tick.seen.discard(run.run_key)
        tick.claim_and_run(automation, run.run_key, run.trigger_reason, run.scheduled_for)
    for automation in automations:
        if tick.settings.stop.soft.is_set():
            break
        record = records[automation.name]
        try:
            once = once_state(store, automation, record.first_seen, remember=True)
            due = schedule.due(automation, record.first_seen, now, once)
        except AutoError as exc:  # a bad cron or zone that validation did not catch
            tick.errors.append(f"{automation.name}: {exc.message}")
            continue
        for item in due:
            if tick.settings.stop.soft.is_set():
                break
            reason = item.trigger_reason
            if item.evaluate:
                fired = tick.evaluate(automation, item.slot)
                if fired is None:
                    continue
                reason = fired
            tick.claim_and_run(automation, item.key(automation.name), reason, item.slot)
    return TickSummary(
        now=now,
        owner=tick.settings.owner,
        automations=len(automations),
        problems=tuple(problems),
        runs=tuple(tick.runs),
        skipped=tuple(tick.skipped),
        already_claimed=tick.already_claimed,
        abandoned=tuple(r.run_id for r in abandoned),
        evaluations=tuple(tick.evaluations),
        errors=tuple(tick.errors),
        gone=gone(store, automations),
        next_due=next_due(automations, records, now, store),
        stopped=tick.settings.stop.soft.is_set(),
    )
