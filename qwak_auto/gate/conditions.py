"""Deployment conditions (the gate). The gate only reads: the runner records the build and
loads new prediction segments (:mod:`qwak_auto.run.sink`) before it asks.

A threshold is a number, or SQL that yields exactly one row with one finite numeric column
(run read-only and bounded by :mod:`qwak_auto.analytics`). ABOVE means strictly greater,
BELOW strictly less, EQUALS equal (up to rounding), ABOVE_OR_EQUALS / BELOW_OR_EQUALS
inclusive. A missing metric, NaN/inf, a failed query, zero rows, several rows or a
non-number never passes.

``compare_to: deployed`` (extension): the build must also beat the build serving now in each
of the automation's environments (same variation) by more than ``min_delta`` (absolute) or
``min_relative_delta`` (a fraction of the serving value, e.g. ``0.02`` or ``2%``); without
either, by any amount. With ABOVE_OR_EQUALS / BELOW_OR_EQUALS "by at least" (a tie with the
serving build passes). EQUALS has no better side, so it cannot be compared (the checks
refuse the combination). Where nothing serves yet, or the serving build has no such metric,
the threshold alone decides and the reason says so.

The threshold and the comparison are :mod:`qwak_auto.analytics.thresholds`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from qwak_auto.analytics.thresholds import (
    Threshold,
    better_sign,
    compared,
    equal,
    fmt,
    inclusive,
    passes,
    resolve_threshold,
)
from qwak_auto.errors import AutoError
from qwak_auto.run.contracts import Decision

if TYPE_CHECKING:
    from qwak_auto.automation.model import BuildMetric
    from qwak_auto.config import Config
    from qwak_auto.run.contracts import BuildResult, RunContext


def _json_safe(value: Any) -> Any:
    """Detail is stored as JSON, which has no NaN/inf: those become text ("nan", "inf")."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


# ---------------------------------------------------------------- the gate


def _parse_delta(raw: str | None, relative: bool) -> float | None:
    if raw is None or str(raw).strip() == "":
        return None
    text = str(raw).strip()
    scale = 1.0
    if relative and text.endswith("%"):
        text, scale = text[:-1], 0.01
    try:
        number = float(text) * scale
    except ValueError:
        raise ValueError(f"{raw!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{raw!r} is not finite")
    return number


def _lookup_metric(config: Config, build_id: str, metric: str) -> float | None:
    """A build's metric from the analytics store (read-only)."""
    import duckdb

    from qwak_auto.analytics.query import open_reader

    try:
        conn = open_reader(config)
    except AutoError:
        return None
    try:
        row = conn.execute(
            "SELECT value FROM build_metrics WHERE build_id = ? AND metric = ?",
            [build_id, metric],
        ).fetchone()
    except duckdb.Error:
        return None
    finally:
        conn.close()
    return None if row is None or row[0] is None else float(row[0])


class MetricGate:
    """The gate: the deployment condition of an automation, on what the build logged."""

    def decide(self, build: BuildResult, ctx: RunContext) -> Decision:
        cond = ctx.automation.action.deployment_condition
        if cond is None:
            return Decision(
                deploy=True,
                reason="no deployment condition",
                threshold_source="none",
                detail={"verdict": "deploy", "reason": "no deployment condition"},
            )
        return decide_condition(build, cond, ctx)


def decide_condition(build: BuildResult, cond: BuildMetric, ctx: RunContext) -> Decision:
    inputs = {
        "metric_name": cond.metric_name,
        "direction": cond.direction.value,
        "threshold": cond.threshold,
        "compare_to": cond.compare_to,
        "min_delta": cond.min_delta,
        "min_relative_delta": cond.min_relative_delta,
        "build_id": build.build_id,
        "metrics": dict(build.metrics),
    }

    def verdict(
        deploy: bool,
        reason: str,
        *,
        value: float | None = None,
        threshold: Threshold | None = None,
        source: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Decision:
        detail: dict[str, Any] = {
            "inputs": inputs,
            "metric_value": value,
            "threshold_value": threshold.value if threshold else None,
            "threshold_source": source or (threshold.source if threshold else None),
            "sql": threshold.sql if threshold else None,
            "sql_value": threshold.value if threshold and threshold.source == "sql" else None,
            "verdict": "deploy" if deploy else "not_deployed",
            "reason": reason,
            **(extra or {}),
        }
        return Decision(
            deploy=deploy,
            reason=reason,
            metric_name=cond.metric_name,
            value=value,
            threshold=threshold.value if threshold else None,
            threshold_source=detail["threshold_source"],
            sql=threshold.sql if threshold else None,
            detail=_json_safe(detail),
        )

    name = cond.metric_name
    raw_value = build.metrics.get(name)
    if raw_value is None:
        logged = ", ".join(sorted(build.metrics)) or "none"
        return verdict(
            False,
            f"metric {name} was not logged by build {build.build_id} (logged: {logged}); "
            f"threshold {cond.threshold}",
        )
    value = float(raw_value)
    if not math.isfinite(value):
        return verdict(
            False,
            f"{name} is {value}, not a finite number; threshold {cond.threshold}",
            value=value,
        )
    threshold = resolve_threshold(cond.threshold, ctx.config)
    label = "static threshold" if threshold.source == "static" else "threshold from SQL"
    if threshold.value is None or threshold.reason:
        return verdict(
            False, f"{name} {fmt(value)}: {threshold.reason}", value=value, threshold=threshold
        )
    ok = passes(value, cond.direction, threshold.value)
    reason = f"{name} {compared(value, cond.direction, threshold.value, ok)} ({label})"
    if not ok or cond.compare_to != "deployed":
        return verdict(ok, reason, value=value, threshold=threshold)
    return _against_serving(build, cond, ctx, value, threshold, reason, verdict)


def _against_serving(
    build: BuildResult,
    cond: BuildMetric,
    ctx: RunContext,
    value: float,
    threshold: Threshold,
    reason: str,
    verdict: Callable[..., Decision],
) -> Decision:
    sign = better_sign(cond.direction)
    if sign == 0:
        return verdict(
            False,
            f"{reason}; compare_to: {cond.direction} has no better side to compare with",
            value=value,
            threshold=threshold,
        )
    try:
        min_delta = _parse_delta(cond.min_delta, relative=False)
        min_relative = _parse_delta(cond.min_relative_delta, relative=True)
    except ValueError as exc:
        return verdict(
            False, f"{reason}; compare_to: bad delta {exc}", value=value, threshold=threshold
        )
    tie = inclusive(cond.direction)
    more = "by at least" if tie else "by more than"
    model_id = ctx.automation.model_id
    variation = ctx.automation.action.deployment_spec.variation_name
    comparisons: list[dict[str, Any]] = []
    failures: list[str] = []
    fallbacks: list[str] = []
    for env_name in ctx.automation.environments:
        env = ctx.config.environment(env_name).name
        where = f"{env}/{variation}"
        serving = ctx.store.serving(model_id, env, variation)
        if serving is None or serving.build_id == build.build_id:
            fallbacks.append(f"nothing deployed yet in {where}")
            comparisons.append({"environment": env, "variation": variation, "serving": None})
            continue
        record = ctx.store.build(serving.build_id)
        other = record.metrics.get(cond.metric_name) if record else None
        if other is None:
            other = _lookup_metric(ctx.config, serving.build_id, cond.metric_name)
        entry: dict[str, Any] = {
            "environment": env,
            "variation": variation,
            "serving": serving.build_id,
            "serving_value": other,
        }
        comparisons.append(entry)
        if other is None or not math.isfinite(float(other)):
            fallbacks.append(
                f"serving build {serving.build_id} in {where} has no {cond.metric_name}"
            )
            continue
        other = float(other)
        gain = (value - other) * sign
        any_amount = "(a tie passes)" if tie else "by any amount"
        if min_relative is not None and other != 0:
            need = f"{more} {min_relative:g} relative"
            ok = _beats(gain / abs(other), min_relative, tie)
            entry["relative_gain"] = gain / abs(other)
        elif min_relative is not None:  # no relative gain over zero: any gain counts
            need = any_amount
            ok = _beats(gain, 0.0, tie)
            entry["relative_gain"] = None
        else:
            delta = min_delta or 0.0
            need = f"{more} {delta:g}" if delta else any_amount
            ok = _beats(gain, delta, tie)
        entry.update(gain=gain, passed=ok)
        text = f"serving build {serving.build_id} in {where} ({fmt(other)})"
        if ok:
            reason += f"; beats {text} {need}"
        else:
            failures.append(f"does not beat {text} {need} (gain {fmt(gain)})")
    if fallbacks:
        reason += "; " + ", ".join(fallbacks) + ", so the threshold alone decides there"
    extra = {"compare_to": comparisons}
    source = "deployed" if any(c.get("serving_value") is not None for c in comparisons) else None
    if failures:
        reason += "; but " + "; ".join(failures)
        return verdict(False, reason, value=value, threshold=threshold, source=source, extra=extra)
    return verdict(True, reason, value=value, threshold=threshold, source=source, extra=extra)


def _beats(gain: float, need: float, tie: bool) -> bool:
    """``gain > need``; for the inclusive directions also a tie (up to rounding, as EQUALS)."""
    return gain > need or (tie and equal(gain, need))
