"""The notifications of approvals that end without a deploy (issue 16): ``on_not_deployed``
for a run a person rejected or that expired, recorded as the run's notify step."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from qwak_auto.errors import AutoError
from qwak_auto.redact import redact, redact_obj
from qwak_auto.run import approval
from qwak_auto.run.contracts import RunContext, RunSummary
from qwak_auto.run.control import utcnow
from qwak_auto.run.records import jsonable
from qwak_auto.run.setup import RunnerSettings, run_secrets, steps_for
from qwak_auto.state.base import ApprovalRecord, RunRecord, StepStatus

if TYPE_CHECKING:
    from qwak_auto.automation.model import Automation
    from qwak_auto.config import Config
    from qwak_auto.state.base import StateStore


def notify_end(
    store: StateStore,
    config: Config,
    settings: RunnerSettings,
    automation: Automation,
    record: ApprovalRecord,
) -> None:
    """``on_not_deployed`` for a rejected or expired run, recorded as its notify step."""
    run = store.run(record.run_id)
    if run is None:
        return
    steps = settings.steps or steps_for(config)
    now = utcnow()
    store.start_step(run.run_id, "notify", now)
    summary = _summary(run, record, automation)
    try:
        ctx = _context(run, automation, config, store, settings)
        detail: Mapping[str, Any] = steps.notifier().notify("not_deployed", summary, ctx)
    except AutoError as exc:
        detail = {"error": exc.message}
    problem = f" (problems: {detail['error']})" if detail.get("error") else ""
    store.finish_step(
        run.run_id, "notify", StepStatus.OK, redact(f"not_deployed notifications handled{problem}"),
        redact_obj(jsonable({"not_deployed": dict(detail)})), utcnow(),
    )  # fmt: skip


def _summary(run: RunRecord, record: ApprovalRecord, automation: Automation) -> RunSummary:
    approved = approval.approved(record)
    return RunSummary(
        run_id=run.run_id,
        automation=run.automation,
        model_id=automation.model_id,
        status=run.status.value,
        trigger_reason=run.trigger_reason,
        started_at=run.started_at,
        ended_at=run.ended_at or datetime.now(UTC),
        build_id=record.build_id,
        commit=approved.build.commit,
        decision=approved.decision,
        error=run.error,
    )


def _context(
    run: RunRecord,
    automation: Automation,
    config: Config,
    store: StateStore,
    settings: RunnerSettings,
) -> RunContext:
    log_dir = config.home / "runs" / run.run_id
    log_dir.mkdir(parents=True, exist_ok=True)
    return RunContext(
        run_id=run.run_id,
        automation=automation,
        config=config,
        store=store,
        secrets=run_secrets(config, settings.environ),
        trigger_reason=run.trigger_reason,
        started_at=run.started_at,
        log_dir=log_dir,
        environ=settings.environ,
    )
