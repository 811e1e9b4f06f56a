"""Runs that wait for approval, as `auto status`, `auto history` and the dashboard show them:
how long each has waited, until when, and what approving it would deploy (issue 16)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from qwak_auto.notify.payloads import approve_command
from qwak_auto.run.approval import would_deploy
from qwak_auto.state.base import ApprovalRecord, ApprovalState, StateStore

OPEN = (ApprovalState.WAITING, ApprovalState.APPROVED)  # not deployed yet, not ended


def age(seconds: float) -> str:
    """``45s``, ``12m``, ``3h 5m``, ``2d 4h``."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m" if minutes else f"{secs}s"


def metric(detail: Mapping[str, Any]) -> str:
    """The gate's verdict as one line: ``f1 0.71 vs threshold 0.65 (static)``."""
    d = detail.get("decision") or {}
    name = d.get("metric_name")
    if not name:
        return "no deployment condition"
    value = d.get("value")
    threshold = d.get("threshold")
    shown = "no value" if not isinstance(value, int | float) else f"{value:g}"
    limit = "-" if not isinstance(threshold, int | float) else f"{threshold:g}"
    source = f" ({d['threshold_source']})" if d.get("threshold_source") else ""
    return f"{name} {shown} vs threshold {limit}{source}"


def row(record: ApprovalRecord, now: datetime) -> dict[str, Any]:
    """One approval: run_id, automation, state (waiting | approved | continued | rejected |
    expired | superseded), requested_at, expires_at, age_s (how long it has waited, or
    waited), age (the same, for people), would_deploy, build_id, metric, approve_command,
    decided_by, decided_at, comment, superseded_by, continued_by."""
    end = now if record.state in OPEN else (record.decided_at or now)
    waited = (end - record.requested_at).total_seconds()
    return {
        "run_id": record.run_id,
        "automation": record.automation,
        "state": record.state.value,
        "requested_at": record.requested_at.isoformat(),
        "expires_at": record.expires_at.isoformat(),
        "age_s": round(waited, 3),
        "age": age(waited),
        "would_deploy": would_deploy(record),
        "build_id": record.build_id,
        "metric": metric(record.detail),
        "approve_command": approve_command(record.run_id),
        "decided_by": record.decided_by or None,
        "decided_at": record.decided_at.isoformat() if record.decided_at else None,
        "comment": record.comment or None,
        "superseded_by": record.superseded_by or None,
        "continued_by": record.continued_by or None,
    }


def waiting(
    store: StateStore, now: datetime, automation: str | None = None
) -> list[dict[str, Any]]:
    """Runs waiting for a person, or approved and waiting for a runner (newest first)."""
    return [row(r, now) for r in store.approvals(automation, OPEN)]


def by_run(store: StateStore, run_ids: Sequence[str], now: datetime) -> dict[str, dict[str, Any]]:
    """The approval of each of these runs that has one."""
    wanted = set(run_ids)
    found = store.approvals(limit=10_000) if wanted else ()
    return {r.run_id: row(r, now) for r in found if r.run_id in wanted}


def line(item: Mapping[str, Any]) -> str:
    """``waiting 12m, expires 2026-05-02 12:00 UTC; approving deploys build b-1 to
    dev/default (gate: f1 0.71 vs threshold 0.65); approve: auto approve RUN``"""
    if item["state"] == ApprovalState.APPROVED.value:
        return (
            f"approved by {item['decided_by']}; the next runner tick deploys {item['would_deploy']}"
        )
    expires = item["expires_at"][:16].replace("T", " ")
    return (
        f"waiting {item['age']}, expires {expires} UTC; approving deploys"
        f" {item['would_deploy']} (gate: {item['metric']}); approve: {item['approve_command']}"
    )
