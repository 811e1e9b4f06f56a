"""Run one claimed run, step by step: source → build → condition → deploy → notify.

Each step's part comes from the run's :class:`~qwak_auto.run.setup.Steps` (the project
config's, through :mod:`qwak_auto.registry`), runs in a worker thread with a timeout, and
is recorded in the state store with its start, end, status and a one-line human reason
(detail JSON redacted). The run ends:

- ``failed`` when a step fails ("step build: <reason>"); an unexpected exception in a step
  is recorded as failed with its type and message, never lost;
- ``not_deployed`` when the gate keeps the serving model (not a failure);
- ``awaiting_approval`` (:mod:`qwak_auto.run.approval`): it waits for a person, holding no
  runner; once approved it continues at its deploy step;
- ``succeeded`` when every environment serves the new build;
- ``interrupted`` when a stop was requested (SIGTERM/SIGINT): the current step finishes and
  no further step starts; a second request interrupts the current step as well.

Notifications go out at the start and at the end (success | error | not_deployed); a
notifier problem never fails the run. A heartbeat thread renews the run's lease while it is
active, so a runner killed mid-step is recognised (its lease expires) and the slot retried.

The build, its metrics and the deployments reach the analytics store through the one
writer, :class:`~qwak_auto.run.sink.AnalyticsSink`: after the build (before the gate reads)
and after the deploy. Parts and step timeouts (``AUTO_TIMEOUT_<STEP>``):
:mod:`qwak_auto.run.setup`. Stop requests and the heartbeat: :mod:`qwak_auto.run.control`.
What each step records: :mod:`qwak_auto.run.records`.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from qwak_auto import log, proc
from qwak_auto.errors import AutoError
from qwak_auto.redact import redact, redact_obj
from qwak_auto.run import approval
from qwak_auto.run.contracts import (
    BuildResult,
    Checkout,
    Decision,
    DeployOutcome,
    Gate,
    Notifier,
    RunContext,
    RunSummary,
)
from qwak_auto.run.control import Heartbeat, utcnow
from qwak_auto.run.processes import StepLedger
from qwak_auto.run.records import (
    EVENTS,
    Ended,
    RunOutcome,
    StepFailed,
    StepFailedInside,
    as_failure,
    build_note,
    checkout_note,
    decision_note,
    deploy_note,
    ended,
    jsonable,
    replace_summary,
)
from qwak_auto.run.setup import DEFAULT_TIMEOUTS, RunnerSettings, run_secrets, steps_for, timeouts
from qwak_auto.run.sink import AnalyticsSink
from qwak_auto.state.base import RunRecord, RunStatus, StateStore, StepStatus

if TYPE_CHECKING:
    from qwak_auto.automation.model import Automation
    from qwak_auto.config import Config

T = TypeVar("T")

_POLL = 0.1  # how often a waiting runner looks at the clock and the stop flag
CANCEL_WAIT = 15.0  # seconds a cancelled step gets to undo what it started


class Runner:
    """One run of one automation (a claimed RunRecord), recorded step by step."""

    def __init__(
        self,
        *,
        run: RunRecord,
        automation: Automation,
        config: Config,
        store: StateStore,
        settings: RunnerSettings,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.run = run
        self.automation = automation
        self.config = config
        self.store = store
        self.owner = settings.owner
        self.lease_seconds = settings.lease_seconds
        self.stop = settings.stop
        self.steps = settings.steps or steps_for(config)
        self.environ = settings.environ
        self.display = settings.display
        self.sink = AnalyticsSink(config)
        self.clock = clock
        self.timeouts = timeouts(automation, self.environ)
        self._notes: dict[str, Any] = {}
        self._beat: Heartbeat | None = None

    # -- the run ------------------------------------------------------------------------
    def execute(self, approved: approval.Approved | None = None) -> RunOutcome:
        log_dir = self.config.home / "runs" / self.run.run_id
        log_dir.mkdir(parents=True, exist_ok=True)
        ctx = RunContext(
            run_id=self.run.run_id,
            automation=self.automation,
            config=self.config,
            store=self.store,
            secrets=run_secrets(self.config, self.environ),
            trigger_reason=self.run.trigger_reason,
            started_at=self.run.started_at,
            log_dir=log_dir,
            environ=self.environ,
            display=self.display,
        )
        summary = RunSummary(
            run_id=self.run.run_id,
            automation=self.automation.name,
            model_id=self.automation.model_id,
            status=RunStatus.RUNNING.value,
            trigger_reason=self.run.trigger_reason,
            started_at=self.run.started_at,
        )
        log.event("run started", automation=self.automation.name, run=self.run.run_id)
        with Heartbeat(self.store, self.run, self.owner, self.lease_seconds) as beat:
            self._beat = beat
            notifier = self._notifier()
            if notifier is not None and approved is None:
                self._notes["start"] = self._notify(notifier, "start", summary, ctx)
            status, error, summary = (
                self._resume(ctx, summary, approved) if approved else self._pipeline(ctx, summary)
            )
            summary = replace_summary(
                summary, status=status.value, error=error, ended_at=self.clock()
            )
            event = EVENTS.get(status, "error")
            self._notify_step(notifier, event, summary, ctx)
            # owner=: a runner whose lease was taken over must not overwrite the new attempt
            self.store.finish_run(
                self.run.run_id, status, redact(error), self.clock(), owner=self.owner
            )
        log.event(
            "run finished",
            automation=self.automation.name,
            run=self.run.run_id,
            status=status.value,
            error=error,
        )
        return RunOutcome(
            run_id=self.run.run_id,
            run_key=self.run.run_key,
            automation=self.automation.name,
            status=status,
            error=redact(error),
            summary=summary,
        )

    def _pipeline(self, ctx: RunContext, summary: RunSummary) -> tuple[RunStatus, str, RunSummary]:
        spec = self.automation.action
        try:
            source = self._load("source", self.steps.source)
            checkout: Checkout = self._step(
                "source", lambda: source.fetch(spec.build_spec, ctx), checkout_note
            )
            summary = replace_summary(summary, commit=checkout.commit)
            self._between("source")
            builder = self._load("build", self.steps.builder)
            build: BuildResult = self._step(
                "build", lambda: builder.build(checkout, ctx), build_note
            )
            summary = replace_summary(summary, build_id=build.build_id, commit=build.commit)
            self._between("build")
            gate = self._load("condition", self.steps.gate)
            decision: Decision = self._step(
                "condition", lambda: decide(gate, self.sink, build, ctx), decision_note
            )
            summary = replace_summary(summary, decision=decision)
            if not decision.deploy:
                self._skip("deploy", f"not deployed: {decision.reason}")
                return RunStatus.NOT_DEPLOYED, "", summary
            self._between("condition")
            if spec.requires_approval:  # the run waits for a person; this runner moves on
                return approval.wait(
                    self.store, self.run, self.owner, self.automation, build, decision,
                    self.config.environment, summary, self.clock(), self._beat,
                )  # fmt: skip
            summary = self._deploy_step(build, ctx, summary)
        except StepFailed as failed:
            return ended(failed, summary)
        return RunStatus.SUCCEEDED, "", summary

    def _resume(self, ctx: RunContext, summary: RunSummary, approved: approval.Approved) -> Ended:
        summary = approval.resumed(summary, approved)
        try:
            return RunStatus.SUCCEEDED, "", self._deploy_step(approved.build, ctx, summary)
        except StepFailed as failed:
            return ended(failed, summary)

    def _deploy_step(self, build: BuildResult, ctx: RunContext, summary: RunSummary) -> RunSummary:
        self._start("deploy")
        try:
            outcomes = self._step("deploy", lambda: self._deploy(build, ctx), deploy_note)
        finally:
            self.sink.deployments(self.store, self.automation.model_id)
        return replace_summary(summary, deployments=outcomes)

    def _deploy(self, build: BuildResult, ctx: RunContext) -> tuple[DeployOutcome, ...]:
        outcomes: list[DeployOutcome] = []
        for name in self.automation.environments:
            env = self.config.environment(name)
            outcome = self.steps.deployer(env.deployer).deploy(build, env, ctx)
            outcomes.append(outcome)
            if outcome.status != "serving":
                raise StepFailedInside(
                    f"environment {env.name}: {outcome.reason or outcome.status}", outcomes
                )
        return tuple(outcomes)

    # -- steps --------------------------------------------------------------------------
    def _start(self, step: str) -> None:
        self.store.start_step(self.run.run_id, step, self.clock())

    def _load(self, step: str, make: Callable[[], T]) -> T:
        """Start a step and make its part; a part that cannot be made fails the step."""
        self._start(step)
        try:
            return make()
        except AutoError as exc:
            reason = redact(exc.message)
            self.store.finish_step(
                self.run.run_id, step, StepStatus.FAILED, reason, {"hint": exc.hint}, self.clock()
            )
            raise StepFailed(step, reason) from None

    def _step(self, name: str, fn: Callable[[], T], note: Callable[[T], tuple[str, Any]]) -> T:
        """Run a started step (``_load`` recorded its start) and record how it ended."""
        try:
            value = self._call(name, fn)
        except StepFailed as failed:
            self.store.finish_step(
                self.run.run_id,
                name,
                failed.status,
                failed.reason,
                self._detail(failed),
                self.clock(),
            )
            raise
        reason, detail = note(value)
        self.store.finish_step(
            self.run.run_id, name, StepStatus.OK, redact(reason), redact_obj(detail), self.clock()
        )
        return value

    @staticmethod
    def _detail(failed: StepFailed) -> dict[str, Any]:
        return redact_obj({"error": failed.reason, **failed.detail})  # type: ignore[no-any-return]

    def _call(self, name: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` in a worker thread with its own process ledger; on timeout or a second
        stop the step is cancelled: every program it started is stopped (SIGTERM, then
        SIGKILL), no new one starts, a deployer checks :attr:`RunContext.cancelled` before it
        moves traffic, and the step is recorded failed (or interrupted). A thread cannot be
        killed; what it still does after that can start nothing and switch nothing."""
        box: dict[str, Any] = {}
        done = threading.Event()
        book = StepLedger(self.store, self.run.run_id, name)

        def work() -> None:
            try:
                with proc.ledger(book):
                    box["value"] = fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting runner
                box["error"] = exc
            finally:
                done.set()

        limit = self.timeouts.get(name, DEFAULT_TIMEOUTS.get(name, 600.0))
        started = time.monotonic()
        context = contextvars.copy_context()
        threading.Thread(
            target=context.run, args=(work,), name=f"auto-step-{name}", daemon=True
        ).start()
        while not done.wait(_POLL):
            if self.stop.hard.is_set():
                self._cancel(name, book, done)
                raise StepFailed(
                    name, f"interrupted ({self.stop.signal}) while running", StepStatus.INTERRUPTED
                )
            if time.monotonic() - started > limit:
                self._cancel(name, book, done)
                raise StepFailed(name, f"timed out after {limit:g} s")
        if "error" in box:
            book.stop()  # whatever a failed step left running
            raise as_failure(name, box["error"]) from None
        book.keep_servers()  # a deployment's model servers are its own now
        book.stop()
        value: T = box["value"]
        return value

    @staticmethod
    def _cancel(name: str, book: StepLedger, done: threading.Event) -> None:
        stopped = book.stop()
        done.wait(CANCEL_WAIT)  # let the step notice and undo what it started
        if stopped:
            log.event("stopped the programs of a cancelled step", step=name, programs=stopped)

    def _between(self, finished: str) -> None:
        if self._beat is not None and self._beat.lost:
            # Our lease expired and another runner took the run over: stop doing its work.
            raise StepFailed(
                finished, "lease lost: another runner took this run over", StepStatus.INTERRUPTED
            )
        if self.stop.soft.is_set():
            raise StepFailed(
                finished, f"stopped after this step ({self.stop.signal})", StepStatus.INTERRUPTED
            ) from None

    def _skip(self, name: str, reason: str) -> None:
        now = self.clock()
        self.store.start_step(self.run.run_id, name, now)
        self.store.finish_step(self.run.run_id, name, StepStatus.SKIPPED, redact(reason), {}, now)

    # -- notifications ------------------------------------------------------------------
    def _notifier(self) -> Notifier | None:
        try:
            return self.steps.notifier()
        except AutoError as exc:
            self._notes["unavailable"] = exc.message
            return None

    def _notify(self, notifier: Notifier, event: str, summary: RunSummary, ctx: RunContext) -> Any:
        try:
            return self._call("notify", lambda: notifier.notify(event, summary, ctx))
        except StepFailed as failed:
            return {"error": failed.reason}

    def _notify_step(
        self, notifier: Notifier | None, event: str, summary: RunSummary, ctx: RunContext
    ) -> None:
        now = self.clock()
        self.store.start_step(self.run.run_id, "notify", now)
        if notifier is None:
            reason = f"no notifier: {self._notes.get('unavailable', 'not configured')}"
            self.store.finish_step(
                self.run.run_id, "notify", StepStatus.SKIPPED, redact(reason), {}, self.clock()
            )
            return
        self._notes[event] = self._notify(notifier, event, summary, ctx)
        errors = [
            f"{k}: {v['error']}"
            for k, v in self._notes.items()
            if isinstance(v, Mapping) and "error" in v
        ]
        reason = f"{event} notifications handled" + (
            f" (problems: {'; '.join(errors)})" if errors else ""
        )
        self.store.finish_step(
            self.run.run_id,
            "notify",
            StepStatus.OK,
            redact(reason),
            redact_obj(jsonable(self._notes)),
            self.clock(),
        )


def decide(gate: Gate, sink: AnalyticsSink, build: BuildResult, ctx: RunContext) -> Decision:
    """Record the build and load new prediction segments (this run holds the claim), then
    ask the gate, which only reads; the decision says what the analytics store got."""
    note = sink.build(build, ctx.automation.name, ctx.store)
    decision = gate.decide(build, ctx)
    return replace(decision, detail={**decision.detail, "analytics": note})


def execute(
    run: RunRecord,
    automation: Automation,
    config: Config,
    store: StateStore,
    settings: RunnerSettings,
    approved: approval.Approved | None = None,
) -> RunOutcome:
    """Run one claimed run to its end and record it (``approved``: from its deploy step)."""
    return Runner(
        run=run, automation=automation, config=config, store=store, settings=settings
    ).execute(approved)
