"""The views behind `auto status`, `auto history` and `auto plan`, built as plain data.

Each function returns JSON-ready dicts (the stable ``--format json`` shapes, documented on
each function); the CLI renders the same dicts as tables. Nothing here writes to the store:
an automation the scheduler has not registered yet is shown as "not registered yet", with
fire times computed as if it were registered now.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from qwak_auto.automation.model import Automation, MetricTrigger, ScheduledTrigger
from qwak_auto.errors import AutoError
from qwak_auto.schedule import once as once_rules
from qwak_auto.schedule import triggers as schedule
from qwak_auto.state.base import AutomationRecord, DeploymentRecord, RunRecord, StateStore
from qwak_auto.views import approvals

if TYPE_CHECKING:
    from qwak_auto.config import Config


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _zone_name(automation: Automation) -> str:
    trigger = automation.trigger
    if isinstance(trigger, ScheduledTrigger | MetricTrigger):
        return trigger.timezone or "UTC"
    return "UTC"


def run_row(run: RunRecord) -> dict[str, Any]:
    """One run: run_id, run_key, automation, trigger_reason, scheduled_for, owner, status,
    started_at, ended_at, duration_s, error, attempt (timestamps ISO-8601 UTC or null)."""
    duration = (run.ended_at - run.started_at).total_seconds() if run.ended_at else None
    return {
        "run_id": run.run_id,
        "run_key": run.run_key,
        "automation": run.automation,
        "trigger_reason": run.trigger_reason,
        "scheduled_for": _iso(run.scheduled_for),
        "owner": run.owner,
        "status": run.status.value,
        "started_at": run.started_at.isoformat(),
        "ended_at": _iso(run.ended_at),
        "duration_s": round(duration, 3) if duration is not None else None,
        "error": run.error,
        "attempt": run.attempt,
    }


def history(store: StateStore, name: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """Runs newest first (each as :func:`run_row`, with ``approval``: null, or for a run
    that reached approval :func:`qwak_auto.views.approvals.row`)."""
    runs = store.runs(name, limit)
    found = approvals.by_run(store, [r.run_id for r in runs], datetime.now(UTC))
    return [{**run_row(r), "approval": found.get(r.run_id)} for r in runs]


def run_detail(store: StateStore, run_id: str) -> dict[str, Any] | None:
    """A run (:func:`run_row`) with ``steps``: a list of {name, status, started_at, ended_at,
    duration_s, reason, detail}, in the order they ran, and ``approval`` (null, or
    :func:`qwak_auto.views.approvals.row`). A unique prefix of the id works."""
    run = store.run(run_id)
    if run is None:
        matches = [r for r in store.runs(None, 10_000) if r.run_id.startswith(run_id)]
        if len(matches) != 1:
            return None
        run = matches[0]
    steps = []
    for s in store.steps(run.run_id):
        duration = (s.ended_at - s.started_at).total_seconds() if s.ended_at else None
        steps.append(
            {
                "name": s.name,
                "status": s.status.value,
                "started_at": s.started_at.isoformat(),
                "ended_at": _iso(s.ended_at),
                "duration_s": round(duration, 3) if duration is not None else None,
                "reason": s.reason,
                "detail": dict(s.detail),
            }
        )
    approval = store.approval(run.run_id)
    now = datetime.now(UTC)
    return {
        **run_row(run),
        "steps": steps,
        "approval": approvals.row(approval, now) if approval is not None else None,
    }


def _deployed(store: StateStore, automation: Automation, config: Config) -> list[dict[str, Any]]:
    variation = automation.action.deployment_spec.variation_name
    out = []
    for name in automation.environments:
        env = config.environment(name).name
        serving = store.serving(automation.model_id, env, variation)
        out.append(
            {
                "environment": env,
                "variation": variation,
                "build_id": serving.build_id if serving else None,
                "address": serving.address if serving else None,
                "model_address": serving.detail.get("model_address") if serving else None,
                "since": _iso(serving.created_at) if serving else None,
                "health": _health(serving) if serving else None,
                "rollout": _rollout(store, automation.model_id, env, variation),
            }
        )
    return out


def _rollout(store: StateStore, model_id: str, env: str, variation: str) -> dict[str, Any] | None:
    """A new build taking this target's traffic now: its phase, weights and windows."""
    for status in ("canary", "baking"):
        for d in store.deployments(model_id, env, variation, status=status, limit=1):
            return {
                "deployment_id": d.deployment_id,
                "build_id": d.build_id,
                "phase": d.detail.get("phase"),
                "weights": d.detail.get("weights"),
                "windows": d.detail.get("windows", []),
            }
    return None


def traffic_state(store: StateStore, config: Config) -> str:
    """The local proxy: "running", "started again (it was gone)" after a crash or a reboot
    (it is started with the recorded routes), or "" when nothing is deployed locally."""
    from qwak_auto.deploy.sites import SCOPE, Sites

    if not store.values(SCOPE):
        return ""
    try:
        return Sites(store, config.home, os.environ).ensure()
    except AutoError as exc:
        return f"down: {exc.message}"


def _health(record: DeploymentRecord) -> str:
    """healthy / not ready / down: why (asked of the serving process, within a few seconds)."""
    from qwak_auto.deploy.health import health

    return health(record)


def _state(automation: Automation, record: AutomationRecord | None) -> str:
    if not automation.enabled:
        return "disabled"
    if record is None:
        return "not registered yet"
    return "active"


def status(
    automations: Sequence[Automation],
    store: StateStore,
    config: Config,
    now: datetime,
) -> list[dict[str, Any]]:
    """One row per automation: name, model_id, trigger (human readable), timezone, enabled,
    state (active | disabled | not registered yet | gone), last_run (a :func:`run_row` or
    null), next_fire_utc, next_fire_local (ISO-8601 or null), deployed (a list of
    {environment, variation, build_id, address, since}), waiting (runs waiting for approval,
    each :func:`qwak_auto.views.approvals.row`). Automations in the store but no longer in
    the files follow with state "gone"."""
    records = {r.name: r for r in store.automations()}
    rows = []
    for a in automations:
        record = records.get(a.name)
        first_seen = record.first_seen if record else now
        nxt = schedule.next_slot(a, first_seen, now)
        last = store.last_run(a.name)
        tz = schedule.zone(_zone_name(a))
        rows.append(
            {
                "name": a.name,
                "model_id": a.model_id,
                "trigger": schedule.describe(a),
                "timezone": _zone_name(a),
                "enabled": a.enabled,
                "state": _state(a, record),
                "last_run": run_row(last) if last else None,
                "next_fire_utc": _iso(nxt),
                "next_fire_local": _iso(nxt.astimezone(tz)) if nxt else None,
                "deployed": _deployed(store, a, config),
                "waiting": approvals.waiting(store, now, a.name),
            }
        )
    known = {a.name for a in automations}
    for name, record in sorted(records.items()):
        if name in known:
            continue
        last = store.last_run(name)
        rows.append(
            {
                "name": name,
                "model_id": record.model_id,
                "trigger": "",
                "timezone": "",
                "enabled": record.enabled,
                "state": "gone" if automations else "registered",
                "last_run": run_row(last) if last else None,
                "next_fire_utc": None,
                "next_fire_local": None,
                "deployed": [],
                "waiting": approvals.waiting(store, now, name),
            }
        )
    return rows


def _last_slot(store: StateStore, name: str) -> datetime | None:
    slots = [r.scheduled_for for r in store.runs(name, 50) if r.scheduled_for is not None]
    return max(slots, default=None)


def _action(automation: Automation, config: Config) -> dict[str, Any]:
    spec = automation.action
    condition = spec.deployment_condition
    gate = "none: every successful build is deployed"
    if condition is not None:
        threshold = " ".join(condition.threshold.split())
        if len(threshold) > 60:
            threshold = f"({threshold[:57]}...)"
        gate = f"{condition.metric_name} {condition.direction.value} {threshold}"
        if condition.compare_to:
            gate += f", and better than the {condition.compare_to} build"
    return {
        "source": spec.build_spec.repo_url,
        "path": spec.build_spec.sub_path,
        "branch": spec.build_spec.git_branch,
        "builder": config.builder,
        "gate": gate,
        "environments": [
            {"name": config.environment(n).name, "deployer": config.environment(n).deployer}
            for n in automation.environments
        ],
        "variation": spec.deployment_spec.variation_name,
        "approval": {
            "required": spec.requires_approval,
            "timeout_s": spec.approval_timeout_seconds if spec.requires_approval else None,
        },
    }


def _once_state(
    automation: Automation, record: AutomationRecord | None, store: StateStore
) -> once_rules.Once | None:
    if record is None or not schedule.has_once(automation):
        return None
    base = schedule.run_key(automation.name, record.first_seen)
    return once_rules.read(store, automation.name, base)


def _once(
    automation: Automation, first_seen: datetime, state: once_rules.Once, now: datetime
) -> dict[str, Any]:
    """Where the one-off run stands: {reason (execute_immediately | on_boarding), state
    (pending | done | not run), attempts, due_now, next_attempt (ISO or null), last_status,
    last_run, last_error, done_run}."""
    due = schedule.once_due(automation, first_seen, now, state)
    if state.done:
        label = "done"
    elif due is None and state.attempts == 0:
        label = "not run"  # first seen over an hour before it had the flag: never runs
    else:
        label = "pending"
    at = due.slot if due is not None and state.attempts == 0 else once_rules.retry_at(state)
    return {
        "reason": schedule.once_reason(automation),
        "state": label,
        "attempts": state.attempts,
        "due_now": due is not None,
        "next_attempt": _iso(at) if label == "pending" else None,
        "last_status": state.last_status or None,
        "last_run": state.last_run or None,
        "last_error": state.last_error or None,
        "done_run": state.done_run or None,
    }


def plan(
    automations: Sequence[Automation],
    store: StateStore,
    config: Config,
    now: datetime,
    count: int = 5,
) -> list[dict[str, Any]]:
    """Per automation: name, trigger, timezone, enabled, registered, next (a list of
    {utc, local, note}: the next ``count`` fire times, notes explain DST), due_now (a list
    of {slot, reason, evaluate}: what `auto run --once` would claim now), once (null, or
    where its execute_immediately / on_boarding run stands: see :func:`_once`), missed ({count,
    slots, catch_up}: slots since the last run or registration up to now, and the one a run
    would catch up, or null), action ({source, path, branch, builder, gate, environments,
    variation, approval: {required, timeout_s}})."""
    records: Mapping[str, AutomationRecord] = {r.name: r for r in store.automations()}
    out = []
    for a in automations:
        record = records.get(a.name)
        first_seen = record.first_seen if record else now
        tz = schedule.zone(_zone_name(a))
        fires = schedule.upcoming(a, first_seen, now, count) if a.enabled else []
        state = _once_state(a, record, store)
        due = schedule.due(a, first_seen, now, state)
        once = (
            _once(a, first_seen, state or once_rules.Once(), now) if schedule.has_once(a) else None
        )
        slots, total = schedule.missed(a, first_seen, _last_slot(store, a.name), now, limit=20)
        catch_up = next((d for d in due if d.reason == schedule.MISSED), None)
        out.append(
            {
                "name": a.name,
                "trigger": schedule.describe(a),
                "timezone": _zone_name(a),
                "enabled": a.enabled,
                "registered": _iso(record.first_seen) if record else None,
                "next": [
                    {"utc": f.at.isoformat(), "local": f.local.isoformat(), "note": f.note}
                    for f in fires
                ],
                "due_now": [
                    {"slot": d.slot.isoformat(), "reason": d.reason, "evaluate": d.evaluate}
                    for d in due
                ],
                "missed": {
                    "count": total if a.enabled else 0,
                    "slots": [s.isoformat() for s in slots] if a.enabled else [],
                    "catch_up": catch_up.slot.isoformat() if catch_up else None,
                },
                "once": once,
                "action": _action(a, config),
                "local_now": now.astimezone(tz).isoformat(),
            }
        )
    return out
