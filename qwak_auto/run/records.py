"""What a run records: its outcome, how a step failed, and each step's reason and detail.

Every finished step is stored with a one-line human reason and a JSON detail (redacted by
the runner); the ``*_note`` functions make both from a step's result. A failure becomes a
:class:`StepFailed` carrying the reason and detail to record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from qwak_auto.errors import AutoError, RolledBack
from qwak_auto.redact import redact
from qwak_auto.run.contracts import BuildResult, Checkout, Decision, DeployOutcome, RunSummary
from qwak_auto.state.base import RunStatus, StepStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOutcome:
    run_id: str
    run_key: str
    automation: str
    status: RunStatus
    error: str
    summary: RunSummary

    @property
    def ok(self) -> bool:
        """Not a failure: deployed, kept by the gate, or waiting for / decided by a person."""
        return self.status in (
            RunStatus.SUCCEEDED,
            RunStatus.NOT_DEPLOYED,
            RunStatus.AWAITING_APPROVAL,
            RunStatus.REJECTED,
            RunStatus.EXPIRED,
            RunStatus.SUPERSEDED,
        )


class StepFailed(Exception):
    def __init__(
        self,
        step: str,
        reason: str,
        status: StepStatus = StepStatus.FAILED,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(reason)
        self.step = step
        self.reason = reason
        self.status = status
        self.detail: Mapping[str, Any] = detail or {}
        self.rolled_back = bool(self.detail.get("rolled_back"))


class StepFailedInside(AutoError):
    """A deploy to one environment failed; carries the outcomes so far for the record."""

    def __init__(self, message: str, outcomes: list[DeployOutcome]) -> None:
        super().__init__(message)
        self.outcomes = tuple(outcomes)


def as_failure(step: str, exc: BaseException) -> StepFailed:
    if isinstance(exc, RolledBack):
        return StepFailed(step, redact(exc.message), detail={"rolled_back": True, "hint": exc.hint})
    if isinstance(exc, StepFailedInside):
        return StepFailed(
            step,
            redact(exc.message),
            detail={"deployments": [outcome_detail(o) for o in exc.outcomes]},
        )
    if isinstance(exc, AutoError):
        return StepFailed(step, redact(exc.message), detail={"hint": exc.hint} if exc.hint else {})
    return StepFailed(
        step, redact(f"{type(exc).__name__}: {exc}"), detail={"exception": type(exc).__name__}
    )


Ended = tuple[RunStatus, str, RunSummary]  # how a run's pipeline ended: status, error, summary

# The notification event of each way a run ends (any other status: "error").
EVENTS = {
    RunStatus.SUCCEEDED: "success",
    RunStatus.NOT_DEPLOYED: "not_deployed",
    RunStatus.AWAITING_APPROVAL: "approval_needed",
    RunStatus.SUPERSEDED: "not_deployed",
}


def ended(failed: StepFailed, summary: RunSummary) -> Ended:
    """How a run ends when a step failed: interrupted, rolled back or failed."""
    error = f"step {failed.step}: {failed.reason}"
    if failed.status == StepStatus.INTERRUPTED:
        return RunStatus.INTERRUPTED, error, summary
    if failed.rolled_back:
        return RunStatus.ROLLED_BACK, error, summary
    return RunStatus.FAILED, error, summary


def replace_summary(summary: RunSummary, **changes: Any) -> RunSummary:
    from dataclasses import replace

    return replace(summary, **changes)


def jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))


def outcome_detail(o: DeployOutcome) -> dict[str, Any]:
    return asdict(o)


def checkout_note(c: Checkout) -> tuple[str, Any]:
    detail = {"repo_url": c.repo_url, "branch": c.branch, "commit": c.commit, "root": str(c.root)}
    return f"{c.repo_url} {c.branch} at {c.commit[:12]}", detail


def build_detail(build: BuildResult) -> dict[str, Any]:
    """Every field of the build, as JSON values (an approval records it to deploy from)."""
    return {
        "build_id": build.build_id,
        "model_id": build.model_id,
        "commit": build.commit,
        "builder": build.builder,
        "artifact_dir": str(build.artifact_dir),
        "metrics": dict(build.metrics),
        "params": dict(build.params),
        "log_path": str(build.log_path),
        "python": str(build.python) if build.python is not None else None,
        "image": build.image,
        "provenance": jsonable(dict(build.provenance)),
    }


# What a build step records of the build (the approval records all of build_detail).
_BUILD_NOTE_KEYS = ("build_id", "builder", "commit", "log_path", "artifact_dir", "metrics", "image")


def build_note(b: BuildResult) -> tuple[str, Any]:
    detail = build_detail(b)
    noted = {key: detail[key] for key in _BUILD_NOTE_KEYS}
    return f"build {b.build_id} by {b.builder} ({len(b.metrics)} metrics)", noted


def decision_note(d: Decision) -> tuple[str, Any]:
    detail = {
        "deploy": d.deploy,
        "metric": d.metric_name,
        "value": d.value,
        "threshold": d.threshold,
        "threshold_source": d.threshold_source,
        "sql": d.sql,
        **jsonable(dict(d.detail)),
    }
    return ("deploy: " if d.deploy else "keep serving model: ") + d.reason, detail


def deploy_note(outcomes: tuple[DeployOutcome, ...]) -> tuple[str, Any]:
    where = ", ".join(f"{o.environment}/{o.variation} at {o.address}" for o in outcomes)
    how = "; ".join(o.reason for o in outcomes if o.reason)
    reason = f"serving on {where}" + (f" ({how})" if how else "")
    return reason, {"deployments": [outcome_detail(o) for o in outcomes]}
