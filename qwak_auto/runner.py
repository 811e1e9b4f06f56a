"""Run one claimed run, step by step: source → build → condition → deploy → notify.

Each step is looked up in a registry of :mod:`qwak_auto.steps`, runs in a worker thread with
a timeout, and is recorded in the state store with its start, end, status and a one-line
human reason (detail JSON redacted). The run ends:

- ``failed`` when a step fails ("step build: <reason>"); an unexpected exception in a step
  is recorded as failed with its type and message, never lost;
- ``not_deployed`` when the gate keeps the serving model (not a failure);
- ``succeeded`` when every environment serves the new build;
- ``interrupted`` when a stop was requested (SIGTERM/SIGINT): the current step finishes and
  no further step starts; a second request interrupts the current step as well.

Notifications go out at the start and at the end (success | error | not_deployed); a
notifier problem never fails the run. A heartbeat thread renews the run's lease while it is
active, so a runner killed mid-step is recognised (its lease expires) and the slot retried.

Plugins: a step implementation can be replaced without touching the package by an
environment variable ``AUTO_STEP_<KIND>=module:attr`` (KIND one of SOURCE, BUILDER, GATE,
DEPLOYER, NOTIFIER), where ``module:attr`` names a class (or factory) taking no arguments.
Step timeouts (seconds) can be overridden with ``AUTO_TIMEOUT_<STEP>`` (SOURCE, BUILD,
CONDITION, DEPLOY, NOTIFY); the deploy timeout defaults to the spec's
``deployment_process_timeout_limit`` plus a minute per environment.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from qwak_auto import log, steps
from qwak_auto.config import Config
from qwak_auto.errors import AutoError, BackendError
from qwak_auto.secrets.redact import redact, redact_obj
from qwak_auto.spec.model import Automation
from qwak_auto.state.base import RunRecord, RunStatus, StateStore, StepStatus
from qwak_auto.steps import BuildResult, Checkout, Decision, DeployOutcome, RunContext, RunSummary

T = TypeVar("T")

DEFAULT_TIMEOUTS: Mapping[str, float] = {
    "source": 600.0,
    "build": 3600.0,
    "condition": 600.0,
    "deploy": 660.0,
    "notify": 60.0,
}
STEP_KINDS: Mapping[str, tuple[Mapping[str, str], str]] = {
    "source": (steps.SOURCES, "source"),
    "builder": (steps.BUILDERS, "builder"),
    "gate": (steps.GATES, "gate"),
    "deployer": (steps.DEPLOYERS, "deployer"),
    "notifier": (steps.NOTIFIERS, "notifier"),
}
_POLL = 0.1  # how often a waiting runner looks at the clock and the stop flag


class Stop:
    """Stop requests (signals). The first asks to stop claiming and to stop after the
    current step; the second interrupts the current step too."""

    def __init__(self) -> None:
        self.soft = threading.Event()
        self.hard = threading.Event()
        self.signal = ""

    def request(self, signal_name: str = "stop requested") -> None:
        if self.soft.is_set():
            self.hard.set()
        self.signal = self.signal or signal_name
        self.soft.set()


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
        return self.status in (RunStatus.SUCCEEDED, RunStatus.NOT_DEPLOYED)


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


def utcnow() -> datetime:
    return datetime.now(UTC)


def load_step(
    kind: str, name: str, environ: Mapping[str, str], overrides: Mapping[str, Any] | None
) -> Any:
    """The step implementation: a test's instance, an ``AUTO_STEP_<KIND>`` plugin, or the
    registry's entry for ``name``."""
    if overrides and kind in overrides:
        return overrides[kind]
    registry, what = STEP_KINDS[kind]
    plugin = environ.get(f"AUTO_STEP_{kind.upper()}")
    if plugin:
        return steps.load({name: plugin}, name, what)
    return steps.load(registry, name, what)


def timeouts(automation: Automation, environ: Mapping[str, str]) -> dict[str, float]:
    out = dict(DEFAULT_TIMEOUTS)
    spec = automation.action.deployment_spec
    out["deploy"] = float(
        (spec.deployment_process_timeout_limit + 60) * len(automation.environments)
    )
    for step in out:
        raw = environ.get(f"AUTO_TIMEOUT_{step.upper()}")
        if raw:
            try:
                out[step] = float(raw)
            except ValueError:
                log.event("ignored a timeout that is not a number", variable=step, value=raw)
    return out


def _secrets(config: Config, environ: Mapping[str, str]) -> steps.SecretResolver:
    """The run's secret resolver; a broken backend set fails the step that needs a secret
    (with the reason), not the runner."""
    try:
        from qwak_auto.secrets.registry import resolver

        return resolver(config, environ)
    except (ImportError, AutoError) as exc:
        reason = exc.message if isinstance(exc, AutoError) else str(exc)

        def unavailable(name: str) -> str:
            raise BackendError(f"secret {name!r}: the secret backends are not available: {reason}")

        return unavailable


class _Heartbeat:
    """Renews the run's lease every lease/3 seconds while the run is active."""

    def __init__(self, store: StateStore, run: RunRecord, owner: str, lease: float) -> None:
        self._store, self._run, self._owner, self._lease = store, run, owner, lease
        self._done = threading.Event()
        self.lost = False
        self._thread = threading.Thread(target=self._beat, name="auto-heartbeat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=10)

    def _beat(self) -> None:
        while not self._done.wait(self._lease / 3):
            try:
                alive = self._store.heartbeat(self._run.run_id, self._owner, utcnow(), self._lease)
            except Exception as exc:  # noqa: BLE001 - a flaky store must not kill the run
                log.event("heartbeat failed", run=self._run.run_id, error=str(exc))
                continue
            if not alive and not self.lost:
                self.lost = True
                log.event("lease lost: another runner took this run over", run=self._run.run_id)


class Runner:
    """One run of one automation (a claimed RunRecord), recorded step by step."""

    def __init__(
        self,
        *,
        run: RunRecord,
        automation: Automation,
        config: Config,
        store: StateStore,
        owner: str,
        lease_seconds: float = 60.0,
        stop: Stop | None = None,
        step_overrides: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.run = run
        self.automation = automation
        self.config = config
        self.store = store
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.stop = stop or Stop()
        self.overrides = step_overrides
        self.environ: Mapping[str, str] = environ if environ is not None else {}
        self.clock = clock
        self.timeouts = timeouts(automation, self.environ)
        self._notes: dict[str, Any] = {}
        self._beat: _Heartbeat | None = None

    # -- the run ------------------------------------------------------------------------
    def execute(self) -> RunOutcome:
        log_dir = self.config.home / "runs" / self.run.run_id
        log_dir.mkdir(parents=True, exist_ok=True)
        ctx = RunContext(
            run_id=self.run.run_id,
            automation=self.automation,
            config=self.config,
            store=self.store,
            secrets=_secrets(self.config, self.environ),
            trigger_reason=self.run.trigger_reason,
            started_at=self.run.started_at,
            log_dir=log_dir,
            environ=self.environ,
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
        with _Heartbeat(self.store, self.run, self.owner, self.lease_seconds) as beat:
            self._beat = beat
            notifier = self._notifier()
            if notifier is not None:
                self._notes["start"] = self._notify(notifier, "start", summary, ctx)
            status, error, summary = self._pipeline(ctx, summary)
            summary = _replace(summary, status=status.value, error=error, ended_at=self.clock())
            event = {
                RunStatus.SUCCEEDED: "success",
                RunStatus.NOT_DEPLOYED: "not_deployed",
            }.get(status, "error")
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
            source = self._load("source", "source", "git")
            checkout: Checkout = self._step(
                "source", lambda: source.fetch(spec.build_spec, ctx), _checkout_note
            )
            summary = _replace(summary, commit=checkout.commit)
            self._between("source")
            builder = self._load("build", "builder", self.config.builder)
            build: BuildResult = self._step(
                "build", lambda: builder.build(checkout, ctx), _build_note
            )
            summary = _replace(summary, build_id=build.build_id, commit=build.commit)
            self._between("build")
            gate = self._load("condition", "gate", "build_metric")
            decision: Decision = self._step(
                "condition", lambda: gate.decide(build, ctx), _decision_note
            )
            summary = _replace(summary, decision=decision)
            if not decision.deploy:
                self._skip("deploy", f"not deployed: {decision.reason}")
                return RunStatus.NOT_DEPLOYED, "", summary
            self._between("condition")
            self._start("deploy")
            outcomes = self._step("deploy", lambda: self._deploy(build, ctx), _deploy_note)
            summary = _replace(summary, deployments=outcomes)
        except StepFailed as failed:
            if failed.status == StepStatus.INTERRUPTED:
                return RunStatus.INTERRUPTED, f"step {failed.step}: {failed.reason}", summary
            return RunStatus.FAILED, f"step {failed.step}: {failed.reason}", summary
        return RunStatus.SUCCEEDED, "", summary

    def _deploy(self, build: BuildResult, ctx: RunContext) -> tuple[DeployOutcome, ...]:
        outcomes: list[DeployOutcome] = []
        for name in self.automation.environments:
            env = self.config.environment(name)
            deployer = load_step("deployer", env.deployer, self.environ, self.overrides)
            outcome: DeployOutcome = deployer.deploy(build, env, ctx)
            outcomes.append(outcome)
            if outcome.status != "serving":
                raise StepFailedInside(
                    f"environment {env.name}: {outcome.reason or outcome.status}", outcomes
                )
        return tuple(outcomes)

    # -- steps --------------------------------------------------------------------------
    def _start(self, step: str) -> None:
        self.store.start_step(self.run.run_id, step, self.clock())

    def _load(self, step: str, kind: str, name: str) -> Any:
        """Start a step and load its implementation; a missing one fails the step."""
        self._start(step)
        try:
            return load_step(kind, name, self.environ, self.overrides)
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
        """Run ``fn`` in a worker thread; fail it on timeout, interrupt it on a second stop.

        A thread cannot be killed: on timeout the step is recorded failed and the runner moves
        on; the worker is a daemon thread, and programs it started have their own timeouts
        (proc.run)."""
        box: dict[str, Any] = {}
        done = threading.Event()

        def work() -> None:
            try:
                box["value"] = fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting runner
                box["error"] = exc
            finally:
                done.set()

        limit = self.timeouts.get(name, DEFAULT_TIMEOUTS.get(name, 600.0))
        started = time.monotonic()
        threading.Thread(target=work, name=f"auto-step-{name}", daemon=True).start()
        while not done.wait(_POLL):
            if self.stop.hard.is_set():
                raise StepFailed(
                    name, f"interrupted ({self.stop.signal}) while running", StepStatus.INTERRUPTED
                )
            if time.monotonic() - started > limit:
                raise StepFailed(name, f"timed out after {limit:g} s")
        if "error" in box:
            raise _as_failure(name, box["error"]) from None
        value: T = box["value"]
        return value

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
    def _notifier(self) -> Any:
        try:
            return load_step("notifier", "default", self.environ, self.overrides)
        except AutoError as exc:
            self._notes["unavailable"] = exc.message
            return None

    def _notify(self, notifier: Any, event: str, summary: RunSummary, ctx: RunContext) -> Any:
        try:
            return self._call("notify", lambda: notifier.notify(event, summary, ctx))
        except StepFailed as failed:
            return {"error": failed.reason}

    def _notify_step(self, notifier: Any, event: str, summary: RunSummary, ctx: RunContext) -> None:
        now = self.clock()
        self.store.start_step(self.run.run_id, "notify", now)
        if notifier is None:
            reason = f"no notifier: {self._notes.get('unavailable', 'not configured')}"
            self.store.finish_step(
                self.run.run_id, "notify", StepStatus.SKIPPED, redact(reason), {}, self.clock()
            )
            return
        self._notes[event] = self._notify(notifier, event, summary, ctx)
        errors = [k for k, v in self._notes.items() if isinstance(v, Mapping) and "error" in v]
        reason = f"{event} notifications handled" + (
            f" (problems: {', '.join(errors)})" if errors else ""
        )
        self.store.finish_step(
            self.run.run_id,
            "notify",
            StepStatus.OK,
            redact(reason),
            redact_obj(_jsonable(self._notes)),
            self.clock(),
        )


class StepFailedInside(AutoError):
    """A deploy to one environment failed; carries the outcomes so far for the record."""

    def __init__(self, message: str, outcomes: list[DeployOutcome]) -> None:
        super().__init__(message)
        self.outcomes = tuple(outcomes)


def _as_failure(step: str, exc: BaseException) -> StepFailed:
    if isinstance(exc, StepFailedInside):
        return StepFailed(
            step, redact(exc.message), detail={"deployments": [_outcome(o) for o in exc.outcomes]}
        )
    if isinstance(exc, AutoError):
        return StepFailed(step, redact(exc.message), detail={"hint": exc.hint} if exc.hint else {})
    return StepFailed(
        step, redact(f"{type(exc).__name__}: {exc}"), detail={"exception": type(exc).__name__}
    )


def _replace(summary: RunSummary, **changes: Any) -> RunSummary:
    from dataclasses import replace

    return replace(summary, **changes)


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))


def _outcome(o: DeployOutcome) -> dict[str, Any]:
    return {
        "environment": o.environment,
        "variation": o.variation,
        "deployment_id": o.deployment_id,
        "address": o.address,
        "status": o.status,
        "reason": o.reason,
    }


def _checkout_note(c: Checkout) -> tuple[str, Any]:
    detail = {"repo_url": c.repo_url, "branch": c.branch, "commit": c.commit, "root": str(c.root)}
    return f"{c.repo_url} {c.branch} at {c.commit[:12]}", detail


def _build_note(b: BuildResult) -> tuple[str, Any]:
    detail = {
        "build_id": b.build_id,
        "builder": b.builder,
        "commit": b.commit,
        "log_path": str(b.log_path),
        "artifact_dir": str(b.artifact_dir),
        "metrics": dict(b.metrics),
        "image": b.image,
    }
    return f"build {b.build_id} by {b.builder} ({len(b.metrics)} metrics)", detail


def _decision_note(d: Decision) -> tuple[str, Any]:
    detail = {
        "deploy": d.deploy,
        "metric": d.metric_name,
        "value": d.value,
        "threshold": d.threshold,
        "threshold_source": d.threshold_source,
        "sql": d.sql,
        **_jsonable(dict(d.detail)),
    }
    return ("deploy: " if d.deploy else "keep serving model: ") + d.reason, detail


def _deploy_note(outcomes: tuple[DeployOutcome, ...]) -> tuple[str, Any]:
    where = ", ".join(f"{o.environment}/{o.variation} at {o.address}" for o in outcomes)
    return f"serving on {where}", {"deployments": [_outcome(o) for o in outcomes]}


def execute(
    run: RunRecord,
    automation: Automation,
    config: Config,
    store: StateStore,
    *,
    owner: str,
    lease_seconds: float = 60.0,
    stop: Stop | None = None,
    step_overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> RunOutcome:
    """Run one claimed run to its end and record it (see the module docstring)."""
    return Runner(
        run=run,
        automation=automation,
        config=config,
        store=store,
        owner=owner,
        lease_seconds=lease_seconds,
        stop=stop,
        step_overrides=step_overrides,
        environ=environ,
    ).execute()
