"""Waiting for an Argo Rollout, and what its analysis measured.

The deployer reads the Rollout with ``kubectl get rollout NAME -o json`` every few seconds
rather than ``kubectl argo rollouts status``: plain kubectl is all the runner needs (no plugin
in its image), and the JSON carries what the record shows while it waits (the step, its
weight, the analysis run and the controller's message). The Rollout's status is only read
once ``status.observedGeneration`` has caught up with ``metadata.generation``:

- ``Healthy`` with the new pods stable (``stableRS == currentPodHash``): promoted;
- ``Degraded`` or ``status.abort``: Argo Rollouts aborted the update (the analysis failed, or
  the new pods were not ready within ``progressDeadlineSeconds``); the stable pods serve;
- still going at the deadline (``deployment_process_timeout_limit`` plus the steps' time):
  the deployer aborts it itself (``status.abort: true`` through the status subresource, what
  ``kubectl argo rollouts abort`` does).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qwak_auto import proc
from qwak_auto.errors import ProcError
from qwak_auto.platform.kubernetes import get_json, kubectl

POLL_SECONDS = 5.0
MISSES = 3  # kubectl get failing this many times in a row ends the watch
ANALYSIS_FAILED = ("Failed", "Error", "Inconclusive")


@dataclass(frozen=True, slots=True, kw_only=True)
class RolloutView:
    """What one look at the Rollout says."""

    current: bool  # the controller has seen the spec just applied
    phase: str  # Progressing | Paused | Healthy | Degraded | "" (not yet)
    message: str
    aborted: bool
    promoted: bool  # the new pods are the stable ones
    step: int | None  # status.currentStepIndex
    weight: int  # the new pods' share by the steps so far (percent)
    analysis_run: str
    analysis_status: str
    pod_hash: str = ""  # the new ReplicaSet's pod-template-hash

    def phase_name(self) -> str:
        if self.promoted:
            return "promoted"
        if self.weight >= 100:
            return "bake"
        return f"canary {self.weight}%"


def view(rollout: Mapping[str, Any]) -> RolloutView:
    meta = rollout.get("metadata") or {}
    status = rollout.get("status") or {}
    steps = (((rollout.get("spec") or {}).get("strategy") or {}).get("canary") or {}).get(
        "steps"
    ) or []
    index = status.get("currentStepIndex")
    weight = 0
    reached = steps if index is None else steps[: int(index) + 1]
    for step in reached:
        if isinstance(step, Mapping) and "setWeight" in step:
            weight = int(step["setWeight"])
    if index is not None and int(index) >= len(steps):
        weight = 100
    analysis = (status.get("canary") or {}).get("currentBackgroundAnalysisRunStatus") or {}
    pod_hash = status.get("currentPodHash")
    return RolloutView(
        current=str(status.get("observedGeneration", "")) == str(meta.get("generation", "")),
        phase=str(status.get("phase", "")),
        message=str(status.get("message", "")),
        aborted=bool(status.get("abort")),
        promoted=bool(pod_hash) and status.get("stableRS") == pod_hash,
        step=None if index is None else int(index),
        weight=weight,
        analysis_run=str(analysis.get("name", "")),
        analysis_status=str(analysis.get("status", "")),
        pod_hash=str(pod_hash or ""),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    ok: bool
    reason: str = ""
    by_analysis: bool = False  # the analysis failed the new build on live traffic
    figures: Mapping[str, Any] = field(default_factory=dict)


def wait(
    base: Sequence[str],
    name: str,
    *,
    seconds: float,
    on_change: Callable[[RolloutView], None],
    poll: float = POLL_SECONDS,
    cancelled: Callable[[], bool] = lambda: False,
) -> Verdict:
    """Watch the Rollout ``name`` until it is promoted or aborted, at most ``seconds``; a
    stopped step (``cancelled``) aborts it."""
    deadline = time.monotonic() + seconds
    last: RolloutView | None = None
    misses = 0
    while True:
        if cancelled():
            with proc.unrecorded():  # the step's own programs are refused by now
                abort(base, name)
            return Verdict(
                ok=False, reason=f"the deploy step was stopped during the rollout; {name} aborted"
            )
        try:
            now = view(get_json(base, "rollout", name))
        except ProcError:
            # One unanswered look (an API server restarting) is not a verdict; several are.
            misses += 1
            if misses >= MISSES or time.monotonic() >= deadline:
                raise
            time.sleep(poll)
            continue
        misses = 0
        if now != last:
            on_change(now)
            last = now
        if now.current and now.phase == "Healthy" and now.promoted:
            return Verdict(ok=True, reason=f"{name} promoted")
        if now.current and (now.aborted or now.phase == "Degraded"):
            return _failed(base, name, now)
        if time.monotonic() >= deadline:
            abort(base, name)
            return Verdict(
                ok=False,
                reason=f"{name} was not promoted within {seconds:.0f}s "
                f"({now.phase or 'no status yet'}: {now.message or 'no message'}); aborted",
            )
        time.sleep(poll)


def abort(base: Sequence[str], name: str) -> None:
    """Abort the update: the stable pods take all traffic again, the new ones go."""
    kubectl(
        base,
        "patch",
        "rollout",
        name,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": {"abort": True}}),
    )


def _failed(base: Sequence[str], name: str, now: RolloutView) -> Verdict:
    run = now.analysis_run or _analysis_run_of(base, name, now.pod_hash)
    figures = analysis_figures(base, run) if run else {}
    failed = [
        f"{metric}: {result['phase']}, measured {result['value']}"
        + (f" ({result['message']})" if result.get("message") else "")
        for metric, result in figures.items()
        if result.get("phase") in ANALYSIS_FAILED
    ]
    by_analysis = now.analysis_status in ANALYSIS_FAILED or bool(failed)
    what = "; ".join(failed) if failed else now.message or now.phase
    return Verdict(ok=False, reason=what, by_analysis=by_analysis, figures=figures)


def _analysis_run_of(base: Sequence[str], name: str, pod_hash: str) -> str:
    """The background AnalysisRun of the new pods when the status no longer names it
    (Argo Rollouts labels its runs with the pod-template-hash)."""
    if not pod_hash:
        return ""
    try:
        runs = get_json(base, "analysisrun", "-l", f"rollouts-pod-template-hash={pod_hash}")
    except ProcError:
        return ""
    names = [
        str((item.get("metadata") or {}).get("name", ""))
        for item in runs.get("items") or ()
        if isinstance(item, Mapping)
    ]
    mine = sorted(n for n in names if n.startswith(f"{name}-"))
    return mine[-1] if mine else ""


def analysis_figures(base: Sequence[str], run: str) -> dict[str, dict[str, Any]]:
    """Each metric of an AnalysisRun: its phase, last measured value, counts and message."""
    try:
        data = get_json(base, "analysisrun", run)
    except ProcError:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for result in (data.get("status") or {}).get("metricResults") or ():
        if not isinstance(result, Mapping):
            continue
        measurements = [m for m in result.get("measurements") or () if isinstance(m, Mapping)]
        last = measurements[-1] if measurements else {}
        out[str(result.get("name", "?"))] = {
            "phase": str(result.get("phase", "")),
            "value": str(last.get("value", "n/a")),
            "measurements": int(result.get("count", len(measurements)) or 0),
            "failed": int(result.get("failed", 0) or 0),
            "message": str(result.get("message", last.get("message", ""))),
        }
    return out
