"""Approvals, the scheduler's side (issue 16): `auto approve`, `auto reject`, and what each
tick does for waiting runs.

A run of an automation with ``requires_approval`` stops after its gate in
``awaiting_approval`` (:mod:`qwak_auto.run.approval`). From there:

- `auto approve RUN_ID` records who and why, then claims the deploy and continues the run
  in this process (the deploy and notify steps, recorded on the same run). With ``--later``
  it only records the approval; the next tick of any runner claims and deploys it.
- `auto reject RUN_ID` records who and why; the run ends ``rejected`` (not deployed).
- Each tick (:func:`on_tick`) first ends waiting runs past their deadline ``expired``, then
  continues the approved ones. The claim is one conditional update in the state store, so
  however many runners tick, an approved run is deployed exactly once.

Rejected and expired runs send ``on_not_deployed`` with the reason. A waiting run holds no
lease, so restarting any runner changes nothing about it.
"""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from qwak_auto import log
from qwak_auto.errors import AutoError, UsageError
from qwak_auto.redact import redact
from qwak_auto.run import approval
from qwak_auto.run.control import utcnow
from qwak_auto.run.records import RunOutcome
from qwak_auto.run.runner import execute
from qwak_auto.run.setup import RunnerSettings
from qwak_auto.schedule import approval_notices as notices
from qwak_auto.state.base import ApprovalRecord, ApprovalState, RunRecord

if TYPE_CHECKING:
    from qwak_auto.automation.model import Automation
    from qwak_auto.config import Config
    from qwak_auto.state.base import StateStore

MAX_COMMENT = 2000
LIST_HINT = "list waiting runs with `auto status` or `auto history`"


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """What `auto approve` / `auto reject` did."""

    run_id: str
    automation: str
    verdict: str  # approved | rejected
    by: str
    comment: str
    would_deploy: str  # "build b-1 (commit …) to dev/default"
    later: bool = False  # approved; the next runner's tick deploys it
    outcome: RunOutcome | None = None  # the continued run, when this command deployed it
    notes: tuple[str, ...] = ()


def approver(by: str | None) -> str:
    """``--by``, else the OS user."""
    if by and by.strip():
        return by.strip()
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        return "unknown"


def find_run(store: StateStore, run_id: str) -> RunRecord:
    """The run with this id, or the one run whose id starts with it; a usage error else."""
    run = store.run(run_id)
    if run is None and len(run_id) >= 6:
        matches = [r for r in store.runs(None, 10_000) if r.run_id.startswith(run_id)]
        run = matches[0] if len(matches) == 1 else None
    if run is None:
        raise UsageError(f"no run {run_id!r} is recorded", LIST_HINT)
    return run


def _newest_other(store: StateStore, record: ApprovalRecord) -> str:
    for run in store.runs(record.automation, 20):
        if run.run_id != record.run_id and run.started_at > record.requested_at:
            return f"; the newer run of {record.automation} is {run.run_id} ({run.status.value})"
    return ""


def refusal(store: StateStore, record: ApprovalRecord, verb: str) -> AutoError:
    """Why a run that is not waiting cannot be approved or rejected (exit 1, state named)."""
    rid, when = record.run_id, _when(record.decided_at)
    by = f"{record.decided_by}" + (f" ({record.comment})" if record.comment else "")
    if record.state == ApprovalState.SUPERSEDED:
        return AutoError(
            f"cannot {verb} run {rid}: it is superseded by the newer run {record.superseded_by}",
            f"{verb} that one instead: `auto {verb} {record.superseded_by}`",
        )
    if record.state == ApprovalState.EXPIRED:
        return AutoError(
            f"cannot {verb} run {rid}: it expired at {_when(record.expires_at)} without an"
            f" approval{_newest_other(store, record)}",
            f"a later run asks again; `auto trigger {record.automation}` starts one now",
        )
    if record.state == ApprovalState.REJECTED:
        return AutoError(f"cannot {verb} run {rid}: it was rejected by {by} at {when}")
    if record.state == ApprovalState.APPROVED:
        return AutoError(
            f"cannot {verb} run {rid}: it was approved by {by} at {when}; the next runner"
            " tick deploys it",
            f"`auto approve {rid}` without --later deploys it now" if verb == "approve" else "",
        )
    run = store.run(rid)
    status = run.status.value if run is not None else "unknown"
    return AutoError(
        f"cannot {verb} run {rid}: it was approved by {by} at {when} and continued by"
        f" {record.continued_by}; the run is {status}",
        f"see `auto history --run {rid}`",
    )


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z") if moment else "-"


def _waiting(store: StateStore, run_id: str, verb: str) -> tuple[RunRecord, ApprovalRecord]:
    run = find_run(store, run_id)
    record = store.approval(run.run_id)
    if record is None:
        raise AutoError(
            f"cannot {verb} run {run.run_id}: it is {run.status.value}, not awaiting approval",
            "only a run of an automation with `requires_approval: true` waits; " + LIST_HINT,
        )
    return run, record


def _automation(
    store: StateStore, config: Config, name: str, automations: Sequence[Automation] = ()
) -> Automation:
    """The automation as its file says now (the files it was recorded from)."""
    from qwak_auto.schedule.automation_set import load_set

    found = {a.name: a for a in automations}
    if name in found:
        return found[name]
    record = store.automation(name)
    path = Path(record.file) if record is not None and record.file else None
    if path is None or not path.is_file():
        raise AutoError(
            f"the file of automation {name!r} ({path or 'unknown'}) is not here to deploy from",
            "run the command where `auto run` runs, or add --later: a runner deploys it",
        )
    loaded, _ = load_set((path,), config)
    for automation in loaded:
        if automation.name == name:
            return automation
    raise AutoError(
        f"automation {name!r} is no longer valid in {path}",
        f"run `auto validate {path}`, or add --later: a runner with valid files deploys it",
    )


def _deployable(store: StateStore, config: Config, record: ApprovalRecord) -> Automation:
    automation = _automation(store, config, record.automation)
    if not automation.enabled:
        raise AutoError(
            f"automation {automation.name!r} is disabled (enabled: false)",
            f"enable it in {automation.origin.file}, or `auto reject {record.run_id}`",
        )
    return automation


def approve(
    run_id: str,
    config: Config,
    store: StateStore,
    settings: RunnerSettings,
    *,
    by: str | None = None,
    comment: str = "",
    later: bool = False,
) -> Decision:
    """`auto approve`: record the approval; without ``later`` deploy it here, now."""
    run, record = _waiting(store, run_id, "approve")
    who, note = approver(by), redact(comment.strip())[:MAX_COMMENT]
    pending = record.state == ApprovalState.APPROVED  # approved with --later before
    automation: Automation | None = None
    claimed_run: RunRecord | None = None
    if not later and record.state in (ApprovalState.WAITING, ApprovalState.APPROVED):
        automation = _deployable(store, config, record)
    if pending and not later:
        claimed_run = store.claim_continuation(
            run.run_id, settings.owner, utcnow(), settings.lease_seconds
        )
        if claimed_run is None:
            raise refusal(store, store.approval(run.run_id) or record, "approve")
        decided = store.approval(run.run_id) or record
    else:
        result = store.decide_approval(
            run.run_id, approve=True, by=who, comment=note, now=utcnow(),
            owner=None if later else settings.owner, lease_seconds=settings.lease_seconds,
        )  # fmt: skip
        if result is None or not result.changed:
            current = result.approval if result is not None else record
            if record.state == ApprovalState.WAITING and current.state == ApprovalState.EXPIRED:
                _tell(store, config, settings, current, automation)  # it expired just now
            raise refusal(store, current, "approve")
        decided, claimed_run = result.approval, result.run
    log.event("run approved", run=run.run_id, automation=record.automation, by=decided.decided_by)
    notes = _changed(decided, automation)
    outcome = None
    if claimed_run is not None and automation is not None:
        outcome = execute(
            claimed_run, automation, config, store, settings, approved=approval.approved(decided)
        )
    return Decision(
        run_id=run.run_id, automation=record.automation, verdict="approved",
        by=decided.decided_by, comment=decided.comment,
        would_deploy=approval.would_deploy(decided), later=later,
        outcome=outcome, notes=notes,
    )  # fmt: skip


def _changed(record: ApprovalRecord, automation: Automation | None) -> tuple[str, ...]:
    recorded = record.detail.get("spec_hash")
    if automation is None or not recorded or recorded == automation.spec_hash:
        return ()
    return (
        f"{automation.origin.file} changed since the run waited: the build is deployed with"
        " the deployment settings the file has now",
    )


def reject(
    run_id: str,
    config: Config,
    store: StateStore,
    settings: RunnerSettings,
    *,
    by: str | None = None,
    comment: str = "",
) -> Decision:
    """`auto reject`: the run ends ``rejected`` with who and why; nothing is deployed."""
    run, record = _waiting(store, run_id, "reject")
    who, note = approver(by), redact(comment.strip())[:MAX_COMMENT]
    result = store.decide_approval(run.run_id, approve=False, by=who, comment=note, now=utcnow())
    if result is None or not result.changed:
        current = result.approval if result is not None else record
        if record.state == ApprovalState.WAITING and current.state == ApprovalState.EXPIRED:
            _tell(store, config, settings, current)  # it expired just now
        raise refusal(store, current, "reject")
    log.event("run rejected", run=run.run_id, automation=record.automation, by=who)
    _tell(store, config, settings, result.approval)
    return Decision(
        run_id=run.run_id, automation=record.automation, verdict="rejected", by=who,
        comment=note, would_deploy=approval.would_deploy(result.approval),
    )  # fmt: skip


def on_tick(
    store: StateStore,
    automations: Sequence[Automation],
    config: Config,
    settings: RunnerSettings,
) -> tuple[list[RunOutcome], list[str]]:
    """The tick's hook: expire waiting runs past their deadline (their ``on_not_deployed``
    goes out), then deploy approved runs this runner can claim. Returns the continued runs
    and the expired run ids."""
    by_name = {a.name: a for a in automations}
    expired = store.expire_approvals(utcnow())
    for record in expired:
        log.event("approval expired", automation=record.automation, run=record.run_id)
        if record.automation in by_name:
            notices.notify_end(store, config, settings, by_name[record.automation], record)
    outcomes: list[RunOutcome] = []
    for record in reversed(store.approvals(states=(ApprovalState.APPROVED,), limit=1000)):
        automation = by_name.get(record.automation)
        if automation is None or not automation.enabled or settings.stop.soft.is_set():
            continue  # a runner with this automation in its files deploys it
        run = store.claim_continuation(
            record.run_id, settings.owner, utcnow(), settings.lease_seconds
        )
        if run is None:
            continue  # another runner claimed it first
        fresh = store.approval(record.run_id) or record
        log.event("approved run continued", automation=record.automation, run=record.run_id)
        outcomes.append(
            execute(run, automation, config, store, settings, approved=approval.approved(fresh))
        )
    return outcomes, [r.run_id for r in expired]


def _tell(
    store: StateStore,
    config: Config,
    settings: RunnerSettings,
    record: ApprovalRecord,
    automation: Automation | None = None,
) -> None:
    """``on_not_deployed`` for a run this command ended; best effort (the automation's file
    may not be here: the record is complete without the notification)."""
    if automation is None:
        try:
            automation = _automation(store, config, record.automation)
        except AutoError as exc:
            log.event("not notified", run=record.run_id, reason=exc.message)
            return
    notices.notify_end(store, config, settings, automation, record)
