"""Following a build Job: each step's log into the build log while it runs (``auto logs``
shows it), the Job's end, and in Kubernetes' own words why it failed.

Every ``poll`` seconds: ``kubectl get job NAME -o json`` and ``kubectl get pods -l
job-name=NAME -o json``. A step (container) that has started is followed with ``kubectl logs
-f pod/P -c STEP``, which returns when the step ends; steps run in order (source, build, image),
so one is followed at a time. The Job ends ``Complete`` or ``Failed`` (``BackoffLimitExceeded``:
a step failed; ``DeadlineExceeded``: ``activeDeadlineSeconds`` passed). A step that cannot
start (its image cannot be pulled, its configuration is wrong) would only end at the deadline,
so it ends the build at once with the kubelet's reason. A pod that cannot be scheduled (no
node with the GPU asked for) is waited for, its reason written to the build log once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, cast

from qwak_auto import proc
from qwak_auto.builders.kubernetes_job import CONTAINERS
from qwak_auto.builders.kubernetes_pod import RESULT_PREFIX
from qwak_auto.errors import ProcError
from qwak_auto.platform import kubernetes as kube

POLL_SECONDS = 2.0
MISSES = 3  # kubectl get failing this many times in a row ends the build
# Waiting reasons that do not go away by waiting (ErrImagePull turns into ImagePullBackOff
# once the kubelet has retried).
CANNOT_START = frozenset(
    {
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CreateContainerConfigError",
        "CreateContainerError",
    }
)


class Output:
    """Where step logs go: the build's output, without the result line (read, not shown)."""

    def __init__(self, out: Any) -> None:
        self.out = out

    def write(self, text: str) -> int:
        kept = "".join(
            line for line in text.splitlines(keepends=True) if not line.startswith(RESULT_PREFIX)
        )
        if kept:
            self.out.write(kept)
        return len(text)

    def flush(self) -> None:
        self.out.flush()


@dataclass(frozen=True, slots=True, kw_only=True)
class JobEnd:
    succeeded: bool
    reason: str = ""
    logs: Mapping[str, str] = field(default_factory=dict)  # step -> its whole log
    terminated: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # step -> state


def _statuses(pod: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    status = pod.get("status") or {}
    found = [*(status.get("initContainerStatuses") or ()), *(status.get("containerStatuses") or ())]
    return {str(s.get("name")): s.get("state") or {} for s in found if isinstance(s, Mapping)}


def _newest_pod(pods: Mapping[str, Any]) -> Mapping[str, Any] | None:
    items = [p for p in pods.get("items") or () if isinstance(p, Mapping)]
    if not items:
        return None
    return max(items, key=lambda p: str((p.get("metadata") or {}).get("creationTimestamp", "")))


class Follower:
    def __init__(
        self,
        base: Sequence[str],
        name: str,
        out: Any,
        *,
        seconds: float,
        poll: float,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> None:
        self.base = list(base)
        self.name = name
        self.build_out = out  # the build's output (lines of our own)
        self.stream = Output(out)  # what the steps print
        self.deadline = time.monotonic() + seconds
        self.poll = poll
        self.logs: dict[str, str] = {}
        self.noted: set[str] = set()
        self.cancelled = cancelled

    def follow(self) -> JobEnd:
        misses = 0
        while True:
            if self.cancelled():
                return self._end(False, "the build step was stopped (timed out or interrupted)", {})
            try:
                job = kube.get_json(self.base, "job", self.name)
                pods = kube.get_json(self.base, "pods", "-l", f"job-name={self.name}")
            except ProcError as exc:
                # One unanswered look (an API server restarting) is not the build's end.
                misses += 1
                if misses >= MISSES or time.monotonic() >= self.deadline:
                    return self._end(False, f"kubectl cannot see the Job: {exc.message}", {})
                time.sleep(self.poll)
                continue
            misses = 0
            pod = _newest_pod(pods)
            states = _statuses(pod) if pod is not None else {}
            if pod is not None:
                self._note_pending(pod)
                self._follow_started(pod, states)
                stuck = _cannot_start(states)
                if stuck:
                    return self._end(False, stuck, states)
            if kube.condition(job, "Complete"):
                return self._end(True, "", states)
            failed = kube.condition(job, "Failed")
            if failed is not None:
                return self._end(False, failure_reason(failed, pod, states), states)
            if time.monotonic() >= self.deadline:
                return self._end(False, "the Job did not end within its deadline", states)
            time.sleep(self.poll)

    def _end(self, ok: bool, reason: str, states: Mapping[str, Mapping[str, Any]]) -> JobEnd:
        terminated = {n: s["terminated"] for n, s in states.items() if "terminated" in s}
        return JobEnd(succeeded=ok, reason=reason, logs=dict(self.logs), terminated=terminated)

    def _follow_started(self, pod: Mapping[str, Any], states: Mapping[str, Any]) -> None:
        pod_name = str((pod.get("metadata") or {}).get("name", ""))
        for step in CONTAINERS:
            if step in self.logs:
                continue
            state = states.get(step) or {}
            if "running" not in state and "terminated" not in state:
                return  # later steps have not started either
            self.build_out.line(f"==> step {step}")
            self.logs[step] = self._logs(pod_name, step)

    def _logs(self, pod: str, step: str) -> str:
        left = max(10.0, self.deadline - time.monotonic())
        try:
            result = proc.run(
                [*self.base, "logs", "-f", f"pod/{pod}", "-c", step],
                timeout=left,
                stdout=cast(IO[str], self.stream),
                check=False,
            )
        except ProcError as exc:
            self.build_out.line(f"warning: the log of step {step} ended early: {exc.message}")
            return exc.stderr
        return result.stdout

    def _note_pending(self, pod: Mapping[str, Any]) -> None:
        for cond in (pod.get("status") or {}).get("conditions") or ():
            if (
                isinstance(cond, Mapping)
                and cond.get("type") == "PodScheduled"
                and cond.get("status") == "False"
            ):
                note = f"waiting for a node: {cond.get('reason', '')}: {cond.get('message', '')}"
                if note not in self.noted:
                    self.noted.add(note)
                    self.build_out.line(note)


def _cannot_start(states: Mapping[str, Mapping[str, Any]]) -> str:
    for step in CONTAINERS:
        waiting = (states.get(step) or {}).get("waiting") or {}
        if waiting.get("reason") in CANNOT_START:
            return (
                f"step {step} cannot start: {waiting['reason']}: "
                f"{waiting.get('message', '').strip() or 'no message'}"
            )
    return ""


def failure_reason(
    failed: Mapping[str, Any],
    pod: Mapping[str, Any] | None,
    states: Mapping[str, Mapping[str, Any]],
) -> str:
    """Why the Job failed: the step that failed and its words, the pod's eviction, the Job's
    condition (the deadline) — the most specific first."""
    job_reason = f"{failed.get('reason', 'Failed')}: {failed.get('message', '')}".strip(": ")
    status = (pod or {}).get("status") or {}
    if status.get("reason") == "Evicted":
        return f"the build's pod was evicted: {status.get('message', '')}".strip(": ")
    for step in CONTAINERS:
        term = (states.get(step) or {}).get("terminated") or {}
        if term and int(term.get("exitCode", 0)) != 0:
            said = step_message(str(term.get("message", "")))
            if term.get("reason") == "OOMKilled":
                return f"step {step} was killed: out of memory (OOMKilled)"
            what = f"step {step} exited with status {term.get('exitCode')} ({term.get('reason')})"
            return f"{what}: {said}" if said else what
    if failed.get("reason") == "DeadlineExceeded":
        return f"the build ran past its deadline (activeDeadlineSeconds): {job_reason}"
    return job_reason


def step_message(message: str) -> str:
    """A step's termination message in one line: a build result's reason, else its last
    line (FallbackToLogsOnError puts the log's tail there)."""
    from qwak_auto.builders.kubernetes_result import termination_of

    parsed = termination_of(message)
    if parsed is not None:
        return str(parsed.get("reason", ""))
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[-1][:400] if lines else ""
