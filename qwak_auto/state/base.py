"""The state store interface and its records.

Everything `auto` did is recorded here: automations seen, runs and their steps, builds,
deployments, metric-trigger evaluations. Two implementations share one versioned schema:
SQLite (default, ``.auto/state.db``) and PostgreSQL (``AUTO_STATE_URL=postgresql://…``).
Times are timezone-aware UTC datetimes. JSON-like fields are plain dicts (already redacted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"  # a new build is serving
    NOT_DEPLOYED = "not_deployed"  # built fine, the gate kept the serving model (not an error)
    FAILED = "failed"
    SKIPPED = "skipped"  # e.g. "still running" under concurrency: forbid
    ABANDONED = "abandoned"  # its runner died (lease expired)
    INTERRUPTED = "interrupted"  # stopped by SIGTERM/SIGINT
    ROLLED_BACK = "rolled_back"  # the new build breached a limit on live traffic; undone
    AWAITING_APPROVAL = "awaiting_approval"  # the gate passed; a person must approve the deploy
    REJECTED = "rejected"  # a person rejected the deploy (not a failure)
    EXPIRED = "expired"  # nobody approved it within approval_timeout (not a failure)
    SUPERSEDED = "superseded"  # a newer run of the automation reached approval first


class StepStatus(StrEnum):
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"
    WAITING = "waiting"  # the approval step, while the run waits for a person


class ApprovalState(StrEnum):
    WAITING = "waiting"  # the run waits for `auto approve` / `auto reject`
    APPROVED = "approved"  # approved with --later: the next runner's tick deploys it
    CONTINUED = "continued"  # a runner claimed the deploy (exactly one ever does)
    REJECTED = "rejected"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"


@dataclass(frozen=True, slots=True, kw_only=True)
class AutomationRecord:
    name: str
    model_id: str
    spec_hash: str
    file: str
    enabled: bool
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    run_id: str
    run_key: str  # "<automation>@<slot ISO>" or "<automation>@manual:<uuid>"
    automation: str
    trigger_reason: str  # "schedule", "missed slot", "metric breach", "manual", ...
    scheduled_for: datetime | None
    owner: str  # "<host>:<pid>:<uuid>" of the runner holding the lease
    status: RunStatus
    started_at: datetime
    ended_at: datetime | None = None
    error: str = ""
    attempt: int = 1
    lease_expires_at: datetime | None = None
    heartbeat_at: datetime | None = None  # the owner's last heartbeat (or the claim)


@dataclass(frozen=True, slots=True, kw_only=True)
class StepRecord:
    run_id: str
    name: str  # source | build | condition | deploy | notify
    status: StepStatus
    started_at: datetime
    ended_at: datetime | None = None
    reason: str = ""  # one human line
    detail: Mapping[str, Any] = field(default_factory=dict)
    attempt: int = 1  # the run's attempt this step ran in (an abandoned run is retried once)


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildRecord:
    build_id: str
    model_id: str
    automation: str  # '' for `auto build` outside an automation
    run_id: str  # '' likewise
    status: str  # running | succeeded | failed
    started_at: datetime
    ended_at: datetime | None = None
    commit: str = ""
    builder: str = ""
    artifact: str = ""  # path of the build's artifact directory
    image: str = ""  # docker image tag, if any
    log_path: str = ""
    metrics: Mapping[str, float] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    provenance: Mapping[str, Any] = field(default_factory=dict)
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentRecord:
    deployment_id: str
    model_id: str
    build_id: str
    environment: str
    variation: str
    deployer: str  # local | kubernetes
    status: str  # starting | serving | failed | retired | rolled_back
    created_at: datetime
    retired_at: datetime | None = None
    address: str = ""  # e.g. http://127.0.0.1:8123
    automation: str = ""
    run_id: str = ""
    reason: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)  # pid, port, rendered manifests ...


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluationRecord:
    automation: str
    evaluated_at: datetime
    value: float | None
    breached: bool
    fired: bool
    reason: str = ""
    sql: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalRecord:
    """A run that passed its gate and needs a person's yes before it deploys."""

    run_id: str
    automation: str
    model_id: str
    build_id: str
    state: ApprovalState
    requested_at: datetime
    expires_at: datetime
    # what approving deploys: the build (every BuildResult field), the gate's decision, the
    # environments and variation, the spec hash and file of the automation
    detail: Mapping[str, Any] = field(default_factory=dict)
    decided_by: str = ""
    decided_at: datetime | None = None
    comment: str = ""
    superseded_by: str = ""  # the newer run that reached approval
    continued_by: str = ""  # the runner (owner) that claimed the deploy
    continued_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Decided:
    """The outcome of approving or rejecting: ``changed`` False when the approval was not
    waiting any more (``approval`` then says what it is)."""

    changed: bool
    approval: ApprovalRecord
    run: RunRecord | None = None  # the claimed run, when the approver continues it now


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimRequest:
    """A slot (or a manual run) to claim; the rules are in state/__init__.py."""

    automation: str
    run_key: str  # "<automation>@<slot ISO>" or "<automation>@manual:<uuid>"
    trigger_reason: str
    scheduled_for: datetime | None
    owner: str
    now: datetime
    lease_seconds: float
    forbid_overlap: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    """The outcome of trying to claim a slot: the run when claimed, else why not."""

    claimed: bool
    run: RunRecord | None = None
    reason: str = ""  # "already claimed", "still running", ...


class StateStore(Protocol):
    """Implemented by state/sqlite.py and state/postgres.py (see state/__init__.py: open_store)."""

    url: str

    def close(self) -> None: ...

    # automations
    def upsert_automation(
        self, *, name: str, model_id: str, spec_hash: str, file: str, enabled: bool, now: datetime
    ) -> AutomationRecord: ...
    def automations(self) -> Sequence[AutomationRecord]: ...
    def automation(self, name: str) -> AutomationRecord | None: ...

    # runs and claims
    def claim(self, request: ClaimRequest) -> Claim: ...
    def heartbeat(self, run_id: str, owner: str, now: datetime, lease_seconds: float) -> bool: ...
    def finish_run(
        self,
        run_id: str,
        status: RunStatus,
        error: str,
        now: datetime,
        owner: str | None = None,  # given: only while this owner still holds the run
    ) -> None: ...
    def abandon_expired(self, now: datetime) -> Sequence[RunRecord]: ...
    def runs(self, automation: str | None = None, limit: int = 20) -> Sequence[RunRecord]: ...
    def run(self, run_id: str) -> RunRecord | None: ...
    def last_run(self, automation: str) -> RunRecord | None: ...
    def last_slot(self, automation: str) -> datetime | None: ...  # max scheduled_for of its runs

    # steps
    def start_step(self, run_id: str, name: str, now: datetime) -> None: ...
    def finish_step(
        self,
        run_id: str,
        name: str,
        status: StepStatus,
        reason: str,
        detail: Mapping[str, Any],
        now: datetime,
    ) -> None: ...
    def steps(self, run_id: str) -> Sequence[StepRecord]: ...

    # builds
    def save_build(self, build: BuildRecord) -> None: ...  # insert or replace by build_id
    def build(self, build_id: str) -> BuildRecord | None: ...
    def builds(self, model_id: str | None = None, limit: int = 20) -> Sequence[BuildRecord]: ...

    # deployments
    def save_deployment(self, deployment: DeploymentRecord) -> None: ...  # upsert by id
    def deployments(
        self,
        model_id: str | None = None,
        environment: str | None = None,
        variation: str | None = None,
        status: str | None = None,
        limit: int = 50,
    ) -> Sequence[DeploymentRecord]: ...  # newest first
    def serving(
        self, model_id: str, environment: str, variation: str
    ) -> DeploymentRecord | None: ...

    # approvals (state/approvals.py)
    def request_approval(self, approval: ApprovalRecord, owner: str) -> Sequence[str] | None: ...
    def approval(self, run_id: str) -> ApprovalRecord | None: ...
    def approvals(
        self,
        automation: str | None = None,
        states: Sequence[ApprovalState] = (),
        limit: int = 100,
    ) -> Sequence[ApprovalRecord]: ...  # newest first
    def decide_approval(
        self,
        run_id: str,
        *,
        approve: bool,
        by: str,
        comment: str,
        now: datetime,
        owner: str | None = None,
        lease_seconds: float = 60.0,
    ) -> Decided | None: ...
    def claim_continuation(
        self, run_id: str, owner: str, now: datetime, lease_seconds: float
    ) -> RunRecord | None: ...
    def expire_approvals(self, now: datetime) -> Sequence[ApprovalRecord]: ...

    # metric-trigger evaluations
    def record_evaluation(self, evaluation: EvaluationRecord) -> None: ...
    def evaluations(self, automation: str, limit: int = 20) -> Sequence[EvaluationRecord]: ...

    # small per-automation key/value state (e.g. consecutive breaches, last fired)
    def get_value(self, scope: str, key: str) -> Any: ...
    def set_value(self, scope: str, key: str, value: Any) -> None: ...
    def values(self, scope: str) -> Mapping[str, Any]: ...  # every key of a scope
    def delete_value(self, scope: str, key: str) -> None: ...
