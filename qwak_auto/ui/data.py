"""What the dashboard shows, gathered read-only from the automation files and the state store."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from qwak_auto.automation.model import Automation
from qwak_auto.state.base import BuildRecord, RunRecord, StateStore, StepRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class AutomationRow:
    name: str
    model_id: str
    trigger: str
    enabled: bool
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
    deployments: tuple[Any, ...]  # DeploymentRecord, serving ones
    series: tuple[MetricSeries, ...]
    problems: tuple[str, ...] = field(default_factory=tuple)


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
        problems=tuple(problems),
    )


def run_detail(store: StateStore, run_id: str) -> tuple[RunRecord, tuple[StepRecord, ...]] | None:
    run = store.run(run_id)
    if run is None:
        return None
    return run, tuple(store.steps(run_id))
