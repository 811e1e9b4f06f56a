"""The runner's pipeline: value types handed from step to step, and the step Protocols.

    source ─► builder ─► gate (condition) ─► deployer ─► notifier

Each step takes a typed value and returns one; none reaches back. Builders, deployers and
notifiers are pluggable by name (:mod:`qwak_auto.registry`); a plugin's part is checked
against its Protocol when it is made (:mod:`qwak_auto.run.setup`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from qwak_auto import proc

if TYPE_CHECKING:
    from qwak_auto.analytics.query import ScalarResult
    from qwak_auto.automation.model import Automation, BuildSpec, MetricTrigger
    from qwak_auto.config import Config, Environment
    from qwak_auto.state.base import DeploymentRecord, StateStore


class SecretResolver(Protocol):
    """Resolve a secret NAME to its value at the last moment (the value is registered with
    the redactor). Raises BackendError naming the backends tried when nothing resolves it."""

    def __call__(self, name: str) -> str: ...


class Display(Protocol):
    """Shows a step's output lines while it runs (the step's log file has them anyway)."""

    def line(self, text: str) -> None: ...
    def close(self) -> None: ...


DisplayFactory = Callable[[str], Display]  # a title ("build churn (b-1)") -> its display


@dataclass(frozen=True, slots=True, kw_only=True)
class RunContext:
    run_id: str
    automation: Automation
    config: Config
    store: StateStore
    secrets: SecretResolver
    trigger_reason: str
    started_at: datetime
    log_dir: Path  # config.home / "runs" / run_id: each step may write <step>.log here
    environ: Mapping[str, str] = field(default_factory=dict)  # the runner's own environment
    display: DisplayFactory | None = None  # where long steps show progress (None: nowhere)

    def cancelled(self) -> bool:
        """True once the running step was stopped (timed out, interrupted): a step checks
        it before it changes anything outside (a deployer before it moves traffic)."""
        book = proc.current_ledger()
        return book is not None and book.cancelled()


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkout:
    repo_url: str
    branch: str
    commit: str
    root: Path  # the checked-out working tree
    project_dir: Path  # root / (git_uri's #sub/path)
    main_dir: Path  # project_dir / main_dir


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildResult:
    build_id: str
    model_id: str
    commit: str
    builder: str
    artifact_dir: Path  # holds model.pkl (cloudpickle), provenance.json, the build log
    metrics: Mapping[str, float]
    params: Mapping[str, str]
    log_path: Path
    python: Path | None = None  # interpreter of the build environment (local serving uses it)
    image: str | None = None  # docker image tag (docker builder)
    provenance: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    deploy: bool
    reason: str  # one human line: "f1_score 0.71 > 0.65 (static threshold)"
    metric_name: str | None = None
    value: float | None = None
    threshold: float | None = None
    threshold_source: str | None = None  # static | sql | deployed | none
    sql: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeployOutcome:
    environment: str
    variation: str
    deployment_id: str
    address: str
    status: str  # serving | failed
    reason: str = ""

    @classmethod
    def serving(cls, record: DeploymentRecord, reason: str, address: str = "") -> DeployOutcome:
        """The outcome of a deploy whose deployment ``record`` now serves (at ``address``,
        else the record's)."""
        return cls(
            environment=record.environment,
            variation=record.variation,
            deployment_id=record.deployment_id,
            address=address or record.address,
            status="serving",
            reason=reason,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSummary:
    """What a notification (and `auto history`) says about one run."""

    run_id: str
    automation: str
    model_id: str
    status: str  # RunStatus value
    trigger_reason: str
    started_at: datetime
    ended_at: datetime | None = None
    build_id: str | None = None
    commit: str | None = None
    decision: Decision | None = None
    deployments: tuple[DeployOutcome, ...] = ()
    error: str = ""  # the failed step and its reason
    waits_until: datetime | None = None  # awaiting approval: when it expires
    supersedes: tuple[str, ...] = ()  # awaiting approval: the older waiting runs it replaced


@runtime_checkable
class Source(Protocol):
    def fetch(self, spec: BuildSpec, ctx: RunContext) -> Checkout: ...


@runtime_checkable
class Builder(Protocol):
    name: str

    def build(self, checkout: Checkout, ctx: RunContext) -> BuildResult: ...


@runtime_checkable
class Gate(Protocol):
    def decide(self, build: BuildResult, ctx: RunContext) -> Decision: ...


@runtime_checkable
class Deployer(Protocol):
    name: str

    def deploy(
        self, build: BuildResult, environment: Environment, ctx: RunContext
    ) -> DeployOutcome: ...


@runtime_checkable
class Notifier(Protocol):
    def notify(self, event: str, summary: RunSummary, ctx: RunContext) -> Mapping[str, Any]:
        """Send every notification the automation configures for ``event`` (start | success |
        error | not_deployed). Never raises: returns a detail record of what was sent."""
        ...


class MetricEvaluator(Protocol):
    """Measures a metric trigger's value (the scheduler's, injected into the tick)."""

    def measure(self, trigger: MetricTrigger, config: Config) -> ScalarResult: ...
