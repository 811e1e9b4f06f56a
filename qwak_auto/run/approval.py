"""The approval before a deploy, the runner's side (``requires_approval``, issue 16).

When the gate passes and the automation requires approval, the runner records what approving
would deploy (the build, its metrics, the gate's verdict, where it goes) and stops: the run
is ``awaiting_approval`` in the state store, holds no lease, and no thread or process waits
for it (:func:`request`). `auto approve` later continues the run from its deploy step with
exactly that build (:func:`approved`); the scheduler's side (approve, reject, expire, the
tick's continuation) is :mod:`qwak_auto.schedule.approvals`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qwak_auto.errors import AutoError
from qwak_auto.redact import redact_obj
from qwak_auto.run.contracts import BuildResult, Decision, RunSummary
from qwak_auto.run.control import Heartbeat
from qwak_auto.run.records import StepFailed, build_detail, jsonable
from qwak_auto.state.base import (
    ApprovalRecord,
    ApprovalState,
    RunRecord,
    RunStatus,
    StateStore,
    StepStatus,
)

if TYPE_CHECKING:
    from qwak_auto.automation.model import Automation
    from qwak_auto.config import Environment


@dataclass(frozen=True, slots=True, kw_only=True)
class Approved:
    """What the continuation of an approved run deploys: the recorded build and decision."""

    approval: ApprovalRecord
    build: BuildResult
    decision: Decision


def decision_detail(d: Decision) -> dict[str, Any]:
    values = {f.name: getattr(d, f.name) for f in fields(d)}
    return {**values, "detail": jsonable(dict(d.detail))}


def targets(
    automation: Automation, environment: Callable[[str], Environment]
) -> list[dict[str, str]]:
    """Where approving deploys: each environment's name and deployer, and the variation."""
    variation = automation.action.deployment_spec.variation_name
    out = []
    for name in automation.environments:
        try:
            env = environment(name)
        except AutoError:  # the deploy step reports it; the record just names it
            out.append({"environment": name, "deployer": "?", "variation": variation})
            continue
        out.append({"environment": env.name, "deployer": env.deployer, "variation": variation})
    return out


def request(
    store: StateStore, record: ApprovalRecord, owner: str
) -> tuple[RunStatus, str, tuple[str, ...]]:
    """Record that the run waits for a person (the store's ``request_approval``): the run's
    status and error, and the older waiting runs it superseded. Rarely a newer run already
    waits and this one is superseded at once. A run whose lease another runner took over
    records nothing and is interrupted."""
    superseded = store.request_approval(record, owner)
    if superseded is None:
        raise StepFailed(
            "condition", "lease lost: another runner took this run over", StepStatus.INTERRUPTED
        )
    if record.run_id not in superseded:
        return RunStatus.AWAITING_APPROVAL, "", tuple(superseded)
    newer = store.approval(record.run_id)
    if newer is not None and newer.superseded_by:
        return RunStatus.SUPERSEDED, f"superseded by run {newer.superseded_by}", ()
    return RunStatus.AWAITING_APPROVAL, "", ()


def wait(
    store: StateStore,
    run: RunRecord,
    owner: str,
    automation: Automation,
    build: BuildResult,
    decision: Decision,
    environment: Callable[[str], Environment],
    summary: RunSummary,
    now: datetime,
    beat: Heartbeat | None = None,
) -> tuple[RunStatus, str, RunSummary]:
    """The runner's hook after a passed gate: the run's status, error and summary once it
    waits (or, rarely, is superseded at once by a newer waiting run). The run's heartbeat
    stops: a waiting run holds no lease, so there is nothing to renew."""
    record = ApprovalRecord(
        run_id=run.run_id,
        automation=automation.name,
        model_id=automation.model_id,
        build_id=build.build_id,
        state=ApprovalState.WAITING,
        requested_at=now,
        expires_at=now + timedelta(seconds=automation.action.approval_timeout_seconds),
        detail=redact_obj(
            {
                "build": build_detail(build),
                "decision": decision_detail(decision),
                "targets": targets(automation, environment),
                "spec_hash": automation.spec_hash,
                "file": automation.origin.file,
                "trigger_reason": run.trigger_reason,
            }
        ),
    )
    status, error, superseded = request(store, record, owner)
    if beat is not None:
        beat.stop()
    return status, error, replace(summary, waits_until=record.expires_at, supersedes=superseded)


def resumed(summary: RunSummary, approved: Approved) -> RunSummary:
    """The summary of a continued run: the build and decision it waited with."""
    build = approved.build
    return replace(
        summary, build_id=build.build_id, commit=build.commit, decision=approved.decision
    )


def approved(record: ApprovalRecord) -> Approved:
    """The build and decision recorded when the run reached approval."""
    b: Mapping[str, Any] = record.detail.get("build") or {}
    d: Mapping[str, Any] = record.detail.get("decision") or {}
    build = BuildResult(
        build_id=str(b.get("build_id") or record.build_id),
        model_id=str(b.get("model_id") or record.model_id),
        commit=str(b.get("commit") or ""),
        builder=str(b.get("builder") or ""),
        artifact_dir=Path(str(b.get("artifact_dir") or "")),
        metrics={str(k): float(v) for k, v in (b.get("metrics") or {}).items() if v is not None},
        params={str(k): str(v) for k, v in (b.get("params") or {}).items()},
        log_path=Path(str(b.get("log_path") or "")),
        python=Path(b["python"]) if b.get("python") else None,
        image=b.get("image") or None,
        provenance=dict(b.get("provenance") or {}),
    )
    decision = Decision(
        deploy=bool(d.get("deploy", True)),
        reason=str(d.get("reason") or ""),
        metric_name=d.get("metric_name"),
        value=d.get("value"),
        threshold=d.get("threshold"),
        threshold_source=d.get("threshold_source"),
        sql=d.get("sql"),
        detail=dict(d.get("detail") or {}),
    )
    return Approved(approval=record, build=build, decision=decision)


def would_deploy(record: ApprovalRecord) -> str:
    """One line: what approving deploys (``build b-1 (commit 1a2b3c4d5e6f) to dev/default``)."""
    build = record.detail.get("build") or {}
    commit = str(build.get("commit") or "")[:12]
    where = ", ".join(
        f"{t.get('environment') or 'default'}/{t.get('variation')}"
        for t in record.detail.get("targets") or ()
    )
    text = f"build {record.build_id}" + (f" (commit {commit})" if commit else "")
    return text + (f" to {where}" if where else "")
