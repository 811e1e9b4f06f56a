"""`auto metrics`: Prometheus text about automations, from the state store.

So that a one-shot ``auto run --once`` in cron can be alerted on: write the text to the
node-exporter textfile collector directory (``--textfile /var/lib/node_exporter/auto.prom``)
after each run, and alert on e.g. ``time() - auto_last_success_timestamp_seconds > 86400``
or ``auto_last_run_status{status="failed"} == 1``.

Exported (every series carries ``automation``):
- ``auto_automation_info{model_id,enabled}`` 1
- ``auto_last_run_timestamp_seconds`` start of the latest run; ``auto_last_run_status{status}``
  1 for its status, 0 for the others; ``auto_last_run_duration_seconds``;
  ``auto_last_run_step_duration_seconds{step}``
- ``auto_last_success_timestamp_seconds`` end of the latest run that deployed a build;
  ``auto_last_completed_timestamp_seconds`` latest run that succeeded or was not_deployed
- ``auto_deployed_build_info{model_id,environment,variation,build_id,deployment_id}`` 1 and
  ``auto_deployed_since_timestamp_seconds{model_id,environment,variation}``
- ``auto_last_gate_deploy`` 1/0 the latest gate verdict, with ``auto_last_gate_value`` and
  ``auto_last_gate_threshold`` when known
- ``auto_metric_trigger_value``, ``auto_metric_trigger_breached``,
  ``auto_metric_trigger_last_evaluation_timestamp_seconds`` (metric-based triggers)
- ``auto_runs_awaiting_approval`` runs waiting for `auto approve` (0 when none), and
  ``auto_oldest_awaiting_approval_timestamp_seconds`` since when the oldest has waited (alert
  on e.g. ``time() - auto_oldest_awaiting_approval_timestamp_seconds > 4 * 3600``)
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qwak_auto import log
from qwak_auto.errors import UsageError
from qwak_auto.state.base import ApprovalState, RunRecord, RunStatus, StateStore, StepRecord

if TYPE_CHECKING:
    from qwak_auto.config import Config

HISTORY = 200  # runs looked at per automation to find the last success
_DEPLOYED = (RunStatus.SUCCEEDED,)
_COMPLETED = (RunStatus.SUCCEEDED, RunStatus.NOT_DEPLOYED)


def _ts(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class _Families:
    """Metric families built lazily from prometheus_client (imported only when exporting)."""

    def __init__(self) -> None:
        from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily

        def gauge(name: str, doc: str, labels: Sequence[str]) -> Any:
            return GaugeMetricFamily(name, doc, labels=["automation", *labels])

        self.info = InfoMetricFamily(
            "auto_automation", "An automation known to the state store", labels=["automation"]
        )
        self.last_run = gauge("auto_last_run_timestamp_seconds", "Start of the latest run", [])
        self.last_status = gauge(
            "auto_last_run_status", "1 for the status of the latest run", ["status"]
        )
        self.last_duration = gauge(
            "auto_last_run_duration_seconds", "Duration of the latest finished run", []
        )
        self.step_duration = gauge(
            "auto_last_run_step_duration_seconds", "Step durations of the latest run", ["step"]
        )
        self.last_success = gauge(
            "auto_last_success_timestamp_seconds", "End of the latest run that deployed", []
        )
        self.last_completed = gauge(
            "auto_last_completed_timestamp_seconds",
            "End of the latest run that succeeded or was not deployed",
            [],
        )
        self.deployed = InfoMetricFamily(
            "auto_deployed_build",
            "The build serving each model variation",
            labels=["automation", "model_id", "environment", "variation"],
        )
        self.deployed_since = gauge(
            "auto_deployed_since_timestamp_seconds",
            "When the serving build was deployed",
            ["model_id", "environment", "variation"],
        )
        self.gate_deploy = gauge(
            "auto_last_gate_deploy", "The latest gate verdict: 1 deploy, 0 keep", []
        )
        self.gate_value = gauge("auto_last_gate_value", "The metric value the gate judged", [])
        self.gate_threshold = gauge("auto_last_gate_threshold", "The gate's threshold", [])
        self.trigger_value = gauge(
            "auto_metric_trigger_value", "The latest metric-trigger value", []
        )
        self.trigger_breached = gauge(
            "auto_metric_trigger_breached", "1 when the latest evaluation breached", []
        )
        self.trigger_ts = gauge(
            "auto_metric_trigger_last_evaluation_timestamp_seconds",
            "When the metric trigger was last evaluated",
            [],
        )
        self.awaiting = gauge(
            "auto_runs_awaiting_approval", "Runs waiting for a person to approve their deploy", []
        )
        self.awaiting_since = gauge(
            "auto_oldest_awaiting_approval_timestamp_seconds",
            "Since when the oldest run waiting for approval has waited",
            [],
        )

    def all(self) -> Iterator[Any]:
        yield from (v for v in vars(self).values())


def _gate(store: StateStore, runs: Sequence[RunRecord]) -> tuple[float, StepRecord] | None:
    """The latest gate verdict: 1.0 deploy / 0.0 keep, with the condition step."""
    for run in runs:
        if run.status not in _COMPLETED:
            continue
        step = next((s for s in store.steps(run.run_id) if s.name == "condition"), None)
        if step is None:
            continue
        verdict = step.detail.get("deploy")
        if not isinstance(verdict, bool):
            verdict = run.status == RunStatus.SUCCEEDED
        return (1.0 if verdict else 0.0), step
    return None


def _automation(store: StateStore, name: str, model_id: str, f: _Families) -> None:
    runs = list(store.runs(name, limit=HISTORY))
    runs.sort(key=lambda r: r.started_at, reverse=True)
    if runs:
        last = runs[0]
        f.last_run.add_metric([name], last.started_at.timestamp())
        for status in RunStatus:
            f.last_status.add_metric([name, status.value], 1.0 if last.status == status else 0.0)
        if last.ended_at is not None:
            f.last_duration.add_metric([name], (last.ended_at - last.started_at).total_seconds())
        for step in store.steps(last.run_id):
            if step.ended_at is not None:
                seconds = (step.ended_at - step.started_at).total_seconds()
                f.step_duration.add_metric([name, step.name], seconds)
    for family, statuses in ((f.last_success, _DEPLOYED), (f.last_completed, _COMPLETED)):
        done = next((r for r in runs if r.status in statuses), None)
        when = _ts(done.ended_at or done.started_at) if done else None
        if when is not None:
            family.add_metric([name], when)
    gate = _gate(store, runs)
    if gate is not None:
        verdict, step = gate
        f.gate_deploy.add_metric([name], verdict)
        for family, key in ((f.gate_value, "value"), (f.gate_threshold, "threshold")):
            number = _number(step.detail.get(key))
            if number is not None:
                family.add_metric([name], number)
    evaluations = store.evaluations(name, limit=1)
    if evaluations:
        latest = evaluations[0]
        if latest.value is not None:
            f.trigger_value.add_metric([name], latest.value)
        f.trigger_breached.add_metric([name], 1.0 if latest.breached else 0.0)
        f.trigger_ts.add_metric([name], latest.evaluated_at.timestamp())
    waiting = store.approvals(name, (ApprovalState.WAITING,), limit=10_000)
    f.awaiting.add_metric([name], float(len(waiting)))
    if waiting:
        f.awaiting_since.add_metric([name], min(w.requested_at for w in waiting).timestamp())
    for dep in store.deployments(model_id=model_id, status="serving"):
        labels = [name, dep.model_id, dep.environment, dep.variation]
        f.deployed.add_metric(
            labels, {"build_id": dep.build_id, "deployment_id": dep.deployment_id}
        )
        f.deployed_since.add_metric(labels, dep.created_at.timestamp())


def collect(store: StateStore) -> str:
    """Prometheus text exposition of everything the store knows (pure, given the store)."""
    from prometheus_client import CollectorRegistry, generate_latest

    families = _Families()
    for record in sorted(store.automations(), key=lambda a: a.name):
        families.info.add_metric(
            [record.name],
            {"model_id": record.model_id, "enabled": "true" if record.enabled else "false"},
        )
        _automation(store, record.name, record.model_id, families)

    class _Collector:
        def collect(self) -> Iterator[Any]:
            yield from families.all()

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector())
    return generate_latest(registry).decode("utf-8")


def render(config: Config) -> str:
    from qwak_auto.state import open_store

    store = open_store(config)
    try:
        text = collect(store)
    finally:
        store.close()
    log.event("metrics exported", level="debug", store=store.url)
    return text


def write_textfile(path: Path, text: str) -> None:
    """Write atomically (node-exporter's textfile collector convention): a temporary file in
    the same directory, then a rename, so the collector never reads half a file."""
    folder = path.parent if str(path.parent) else Path()
    if not folder.is_dir():
        raise UsageError(
            f"--textfile: the directory {folder} does not exist",
            "point it at the node-exporter textfile directory (--collector.textfile.directory)",
        )
    if path.is_dir():
        raise UsageError(
            f"--textfile: {path} is a folder",
            f"name the file in it, e.g. --textfile {path / 'auto.prom'}",
        )
    # The temporary name must not end in .prom, or the collector could read it half-written.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # noqa: PTH101 - on the path we hold, before the rename
        os.replace(tmp, path)  # noqa: PTH105 - atomic rename within the directory
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.event("metrics written", path=str(path))
