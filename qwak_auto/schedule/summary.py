"""What one scheduler tick did, and its stable JSON shape (`auto run --once --format json`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from qwak_auto.automation.problems import Problem, Severity, problem_dict
from qwak_auto.run.records import RunOutcome


@dataclass(frozen=True, slots=True, kw_only=True)
class Skipped:
    automation: str
    run_key: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Evaluated:
    automation: str
    slot: datetime
    fired: bool
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TickSummary:
    """What one tick did. ``ok`` is False when any run failed or any file was invalid."""

    now: datetime
    owner: str
    automations: int
    problems: tuple[Problem, ...] = ()
    runs: tuple[RunOutcome, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    already_claimed: int = 0
    abandoned: tuple[str, ...] = ()  # run ids this tick marked abandoned
    evaluations: tuple[Evaluated, ...] = ()
    errors: tuple[str, ...] = ()  # e.g. a metric trigger that could not be evaluated
    gone: tuple[str, ...] = ()  # in the store, no longer in the files
    next_due: datetime | None = None
    stopped: bool = False

    @property
    def errors_count(self) -> int:
        return sum(1 for p in self.problems if p.severity is Severity.ERROR)

    @property
    def ok(self) -> bool:
        return self.errors_count == 0 and not self.errors and all(run.ok for run in self.runs)

    def as_dict(self) -> dict[str, Any]:
        """The stable JSON shape of `auto run --once --format json`."""
        return {
            "now": self.now.isoformat(),
            "owner": self.owner,
            "ok": self.ok,
            "automations": self.automations,
            "claimed": len(self.runs),
            "runs": [
                {
                    "run_id": r.run_id,
                    "run_key": r.run_key,
                    "automation": r.automation,
                    "status": r.status.value,
                    "error": r.error,
                    "trigger_reason": r.summary.trigger_reason,
                    "build_id": r.summary.build_id,
                }
                for r in self.runs
            ],
            "skipped": [
                {"automation": s.automation, "run_key": s.run_key, "reason": s.reason}
                for s in self.skipped
            ],
            "already_claimed": self.already_claimed,
            "abandoned": list(self.abandoned),
            "evaluations": [
                {
                    "automation": e.automation,
                    "slot": e.slot.isoformat(),
                    "fired": e.fired,
                    "reason": e.reason,
                }
                for e in self.evaluations
            ],
            "errors": list(self.errors),
            "problems": [problem_dict(p) for p in self.problems],
            "gone": list(self.gone),
            "next_due": self.next_due.isoformat() if self.next_due else None,
            "stopped": self.stopped,
        }
