"""What the dashboard shows, gathered read-only from the automation files and the state store."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qwak_auto.automation.model import Automation, MetricTrigger, ScheduledTrigger
from qwak_auto.state.base import (
    ApprovalRecord,
    ApprovalState,
    BuildRecord,
    DeploymentRecord,
    RunRecord,
    StateStore,
    StepRecord,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class AutomationRow:
    name: str
    model_id: str
    trigger: str
    enabled: bool
    zone: str  # the trigger's time zone: every time of this automation is shown in it
    next_fire: datetime | None
    last_status: str
    last_run_id: str
    last_started: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricPoint:
    build_id: str
    at: datetime
    value: float
    threshold: float | None
    deployed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricSeries:
    automation: str
    model_id: str
    metric: str
    direction: str
    static_threshold: float | None
    points: tuple[MetricPoint, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Overview:
    generated_at: datetime
    automations: tuple[AutomationRow, ...]
    runs: tuple[RunRecord, ...]
    deployments: tuple[DeploymentRecord, ...]  # the serving ones
    series: tuple[MetricSeries, ...]
    zones: Mapping[str, str] = field(default_factory=dict)  # automation -> time zone
    model_zones: Mapping[str, str] = field(default_factory=dict)  # model id -> a time zone
    problems: tuple[str, ...] = field(default_factory=tuple)
    waiting: tuple[ApprovalRecord, ...] = ()  # runs waiting for approval (or for a runner)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunView:
    """A run with everything it links to: its steps, builds, deployments and log files."""

    run: RunRecord
    steps: tuple[StepRecord, ...]
    builds: tuple[BuildRecord, ...]
    deployments: tuple[DeploymentRecord, ...]
    logs: tuple[str, ...]  # file names in <home>/runs/<run_id>/
    zone: str
    approval: ApprovalRecord | None = None  # when the run reached approval


def zone_of(automation: Automation) -> str:
    trigger = automation.trigger
    if isinstance(trigger, ScheduledTrigger | MetricTrigger):
        return trigger.timezone or "UTC"
    return "UTC"


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _next_fire(automation: Automation, store: StateStore, now: datetime) -> datetime | None:
    from qwak_auto.schedule import triggers as schedule

    record = store.automation(automation.name)
    first_seen = record.first_seen if record is not None else now
    try:
        return schedule.next_slot(automation, first_seen, now)
    except (ValueError, KeyError):
        return None


def _row(automation: Automation, store: StateStore, now: datetime) -> AutomationRow:
    from qwak_auto.schedule import triggers as schedule

    last = store.last_run(automation.name)
    return AutomationRow(
        name=automation.name,
        model_id=automation.model_id,
        trigger=schedule.describe(automation),
        enabled=automation.enabled,
        zone=zone_of(automation),
        next_fire=_next_fire(automation, store, now),
        last_status=last.status.value if last is not None else "never ran",
        last_run_id=last.run_id if last is not None else "",
        last_started=last.started_at if last is not None else None,
    )


def _gate_thresholds(store: StateStore, builds: Sequence[BuildRecord]) -> dict[str, float]:
    """The threshold each build was judged against (dynamic SQL thresholds vary per build)."""
    out: dict[str, float] = {}
    for build in builds:
        if not build.run_id:
            continue
        for step in store.steps(build.run_id):
            if step.name == "condition":
                value = step.detail.get("threshold")
                if isinstance(value, int | float) and math.isfinite(value):
                    out[build.build_id] = float(value)
    return out


def _series(automation: Automation, store: StateStore) -> MetricSeries | None:
    condition = automation.action.deployment_condition
    if condition is None:
        return None
    builds = [
        b
        for b in reversed(store.builds(automation.model_id, limit=50))
        if b.automation in ("", automation.name) and condition.metric_name in b.metrics
    ]
    deployed = {d.build_id for d in store.deployments(automation.model_id, limit=200)}
    thresholds = _gate_thresholds(store, builds)
    static = _float(condition.threshold)
    points = tuple(
        MetricPoint(
            build_id=b.build_id,
            at=b.ended_at or b.started_at,
            value=float(b.metrics[condition.metric_name]),
            threshold=thresholds.get(b.build_id, static),
            deployed=b.build_id in deployed,
        )
        for b in builds
        if math.isfinite(float(b.metrics[condition.metric_name]))
    )
    return MetricSeries(
        automation=automation.name,
        model_id=automation.model_id,
        metric=condition.metric_name,
        direction=condition.direction.value,
        static_threshold=static,
        points=points,
    )


def overview(
    automations: Sequence[Automation],
    store: StateStore,
    *,
    problems: Sequence[str] = (),
    now: datetime | None = None,
    run_limit: int = 30,
) -> Overview:
    now = now or datetime.now(UTC)
    series = [s for s in (_series(a, store) for a in automations) if s is not None]
    return Overview(
        generated_at=now,
        automations=tuple(_row(a, store, now) for a in automations),
        runs=tuple(store.runs(None, limit=run_limit)),
        deployments=tuple(store.deployments(status="serving", limit=200)),
        series=tuple(series),
        zones={a.name: zone_of(a) for a in automations},
        model_zones={a.model_id: zone_of(a) for a in automations},
        problems=tuple(problems),
        waiting=tuple(store.approvals(None, (ApprovalState.WAITING, ApprovalState.APPROVED))),
    )


def _find_run(store: StateStore, run_id: str) -> RunRecord | None:
    run = store.run(run_id)
    if run is None and len(run_id) >= 6:  # a unique prefix, as `auto history --run` takes
        matches = [r for r in store.runs(None, 10_000) if r.run_id.startswith(run_id)]
        run = matches[0] if len(matches) == 1 else None
    return run


def _model_of(store: StateStore, automation: str) -> str | None:
    record = store.automation(automation)
    return record.model_id if record is not None else None


def run_view(
    store: StateStore, home: Path, run_id: str, zones: Mapping[str, str]
) -> RunView | None:
    run = _find_run(store, run_id)
    if run is None:
        return None
    steps = tuple(store.steps(run.run_id))
    model_id = _model_of(store, run.automation)
    builds = tuple(b for b in store.builds(model_id, limit=500) if b.run_id == run.run_id)
    named = {
        str(d.get("deployment_id"))
        for s in steps
        for d in s.detail.get("deployments", ()) or ()
        if isinstance(d, Mapping)
    }
    deployments = tuple(
        d
        for d in store.deployments(model_id, limit=500)
        if d.run_id == run.run_id or d.deployment_id in named
    )
    folder = home / "runs" / run.run_id
    logs = tuple(sorted(p.name for p in folder.glob("*.log") if p.is_file()))
    return RunView(
        run=run,
        steps=steps,
        builds=builds,
        deployments=deployments,
        logs=logs,
        zone=zones.get(run.automation, "UTC"),
        approval=store.approval(run.run_id),
    )


def build_record(store: StateStore, build_id: str) -> BuildRecord | None:
    return store.build(build_id)


def deployments_of_build(store: StateStore, build: BuildRecord) -> tuple[DeploymentRecord, ...]:
    return tuple(
        d for d in store.deployments(build.model_id, limit=500) if d.build_id == build.build_id
    )


def deployment_record(store: StateStore, deployment_id: str) -> DeploymentRecord | None:
    return next(
        (d for d in store.deployments(limit=5000) if d.deployment_id == deployment_id), None
    )


def read_tail(path: Path, limit: int = 512 * 1024) -> str:
    """The last ``limit`` bytes of a log file (a served log can grow large)."""
    with path.open("rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - limit))
        data = handle.read()
    text = data.decode("utf-8", errors="replace")
    if size > limit:
        text = f"[… the first {size - limit} bytes are not shown …]\n" + text.split("\n", 1)[-1]
    return text


def jsonable_detail(detail: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k): v for k, v in detail.items()}
