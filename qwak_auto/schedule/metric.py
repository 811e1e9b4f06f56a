"""Metric-trigger evaluation: a trigger's value (measured by an injected
:class:`~qwak_auto.run.contracts.MetricEvaluator`) against its threshold, then ``for``,
``cool_down`` and ``on_no_data``; each evaluation is recorded in the state store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from qwak_auto.analytics.query import SqlEvaluator
from qwak_auto.analytics.thresholds import compared, fmt, passes, resolve_threshold
from qwak_auto.run.sink import AnalyticsSink
from qwak_auto.state.base import EvaluationRecord

if TYPE_CHECKING:
    from qwak_auto.automation.model import Automation, MetricTrigger
    from qwak_auto.config import Config
    from qwak_auto.run.contracts import MetricEvaluator
    from qwak_auto.state.base import StateStore


@dataclass(frozen=True, slots=True)
class TriggerVerdict:
    fire: bool
    value: float | None
    reason: str
    breached: bool = False
    threshold: float | None = None
    sql: str = ""


def _since(raw: Any) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.fromisoformat(str(raw))
    except ValueError:
        return None


# How the tick evaluates a metric trigger (injected; tests and embedders pass their own).
TriggerEvaluation = Callable[
    ["Automation", "MetricTrigger", "StateStore", "Config", datetime], TriggerVerdict
]


def evaluate_metric_trigger(
    automation: Automation,
    trigger: MetricTrigger,
    store: StateStore,
    config: Config,
    now: datetime,
    evaluator: MetricEvaluator | None = None,
) -> TriggerVerdict:
    """Evaluate a metric trigger once: its value against its threshold, then ``for``,
    ``cool_down`` and ``on_no_data``; record the evaluation; say whether to fire."""
    scope = automation.name
    loaded = AnalyticsSink(config).segments()
    notes = [loaded] if loaded else []
    outcome = (evaluator or SqlEvaluator()).measure(trigger, config)
    threshold = resolve_threshold(trigger.threshold, config)
    value = outcome.value
    breached = False
    if outcome.no_data:
        breached = trigger.on_no_data == "fire"
        reason = f"no data: {outcome.reason}; on_no_data: {trigger.on_no_data}"
    elif not outcome.ok:
        reason = f"{outcome.reason}; not fired"
    elif threshold.value is None or threshold.reason:
        reason = f"value {fmt(value)}: {threshold.reason}; not fired"
    else:
        assert value is not None  # ok implies a value
        breached = passes(value, trigger.direction, threshold.value)
        reason = f"value {compared(value, trigger.direction, threshold.value, breached)}"
    breaches = int(store.get_value(scope, "breaches") or 0) + 1 if breached else 0
    store.set_value(scope, "breaches", breaches)
    fire = False
    if breached:
        need = max(1, trigger.for_count)
        last = _since(store.get_value(scope, "last_fired"))
        until = last + timedelta(seconds=trigger.cool_down_seconds) if last else None
        if breaches < need:
            reason += f"; breach {breaches} of {need} in a row needed"
        elif last is not None and until is not None and now < until:
            reason += f"; in cool-down until {until.isoformat()} (fired {last.isoformat()})"
        else:
            fire = True
            if need > 1:
                reason += f" ({breaches} breaches in a row)"
            store.set_value(scope, "last_fired", now.isoformat())
    if notes:
        reason += "; " + "; ".join(notes)
    store.record_evaluation(
        EvaluationRecord(
            automation=scope,
            evaluated_at=now,
            value=value,
            breached=breached,
            fired=fire,
            reason=reason,
            sql=trigger.sql_query,
        )
    )
    return TriggerVerdict(
        fire=fire,
        value=value,
        reason=reason,
        breached=breached,
        threshold=threshold.value,
        sql=trigger.sql_query,
    )
