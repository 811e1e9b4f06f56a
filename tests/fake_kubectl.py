"""A recording `kubectl` on PATH. No API server runs here: this records the conversation and
answers it the way a cluster would, from a scenario the test sets in the environment.

Every call is logged (argv and stdin) as a JSON line in $KUBECTL_RECORD. It answers:

- ``apply -f -``: keeps the manifests; a Rollout among them starts a new generation;
- ``rollout status deployment/…``: fails while the last applied manifests contain the text in
  $KUBECTL_FAIL_ROLLOUT_IF;
- ``get rollout NAME``: the Rollout as its controller would report it, one step of the script
  per call. $KUBECTL_ROLLOUT is JSON ``{"scripts": {MARKER: [STATE, ...]}}``: the first MARKER
  found in the last applied manifests picks the script (``"*"``: any; without one, the Rollout
  is promoted at once). A STATE has ``phase``, ``step``, ``promoted``, ``message``,
  ``analysis`` (the background run's status); the last one repeats. ``patch rollout …
  --subresource=status`` (abort) makes it ``Degraded``;
- ``get analysisrun …``: ``$KUBECTL_ANALYSIS`` (an AnalysisRun's ``status``);
- ``create -f - -o json`` of a Job, ``create -f -`` of its Secret and ServiceAccount, ``patch
  job`` (resume), ``get job``, ``get pods -l job-name=…``, ``logs pod/P -c C``: the Job of
  $KUBECTL_JOB, JSON ``{"outcome": "succeeded" | "failed" | "deadline", "logs": {CONTAINER:
  TEXT}, "terminated": {CONTAINER: {exitCode, reason, message}}, "waiting": {CONTAINER:
  {reason, message}}, "running": [CONTAINER], "pod": {reason, message}, "active_gets": N}``
  (``get job`` says active for the first N calls, then the outcome);
- ``get secret``: an empty Secret; ``delete``: nothing;
- the first $KUBECTL_FAIL_GETS ``get`` calls fail as an unreachable API server does.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = r"""#!{python}
import hashlib, json, os, sys
import yaml

record = os.environ["KUBECTL_RECORD"]
state_dir = record + ".state"
os.makedirs(state_dir, exist_ok=True)
stdin = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
with open(record, "a") as fh:
    fh.write(json.dumps({{"argv": sys.argv[1:], "stdin": stdin}}) + "\n")


def load(name, default):
    path = os.path.join(state_dir, name)
    if not os.path.exists(path):
        return default
    with open(path) as fh:
        return json.load(fh)


def save(name, value):
    with open(os.path.join(state_dir, name), "w") as fh:
        json.dump(value, fh)


args = []
rest = sys.argv[1:]
while rest:
    head = rest.pop(0)
    if head in ("--context", "--namespace"):
        rest.pop(0)
        continue
    args.append(head)
verb = args[0] if args else ""
applied = load("applied", "")


def rollout_json(name):
    docs = [d for d in yaml.safe_load_all(applied) if d and d.get("kind") == "Rollout"]
    spec = docs[0]["spec"] if docs else {{}}
    scripts = json.loads(os.environ.get("KUBECTL_ROLLOUT") or "{{}}").get("scripts", {{}})
    script = [{{"phase": "Healthy", "promoted": True}}]
    for marker, states in scripts.items():
        if marker == "*" or marker in applied:
            script = states
            break
    gets = load("rollout_gets", 0)
    save("rollout_gets", gets + 1)
    state = dict(script[min(gets, len(script) - 1)])
    if load("aborted", False):
        state.update(phase="Degraded", promoted=False,
                     message="RolloutAborted: Rollout aborted update to revision 2")
    generation = load("generation", 1)
    pod_hash = hashlib.sha1(applied.encode()).hexdigest()[:10]
    status = {{
        "observedGeneration": str(generation),
        "phase": state.get("phase", "Progressing"),
        "message": state.get("message", ""),
        "currentPodHash": pod_hash,
        "stableRS": pod_hash if state.get("promoted") else "0ld5table0",
        "abort": bool(load("aborted", False)),
    }}
    if "step" in state:
        status["currentStepIndex"] = state["step"]
    if "analysis" in state:
        status["canary"] = {{"currentBackgroundAnalysisRunStatus": {{
            "name": name + "-" + pod_hash + "-2", "status": state["analysis"]}}}}
    return {{"metadata": {{"name": name, "generation": generation}}, "spec": spec,
            "status": status}}


def job_scenario():
    return json.loads(os.environ.get("KUBECTL_JOB") or '{{"outcome": "succeeded"}}')


def container_status(name, scenario, ended):
    waiting = (scenario.get("waiting") or {{}}).get(name)
    if waiting:
        return {{"name": name, "state": {{"waiting": waiting}}}}
    term = (scenario.get("terminated") or {{}}).get(name)
    if term is None:
        term = {{"exitCode": 0, "reason": "Completed"}}
    running = scenario.get("running") or []
    if name in running:
        return {{"name": name, "state": {{"running": {{}}}}}}
    failed_init = any(int(((scenario.get("terminated") or {{}}).get(c) or {{}}).get(
        "exitCode", 0)) for c in ("source", "build"))
    if name == "image" and (failed_init or running):
        return {{"name": name, "state": {{"waiting": {{"reason": "PodInitializing"}}}}}}
    if not ended and name == "image":
        return {{"name": name, "state": {{"running": {{}}}}}}
    return {{"name": name, "state": {{"terminated": term}}}}


def job_json(name):
    scenario = job_scenario()
    gets = load("job_gets", 0)
    save("job_gets", gets + 1)
    ended = gets >= scenario.get("active_gets", 1)
    status = {{"active": 1}}
    outcome = scenario.get("outcome", "succeeded")
    if ended and outcome == "succeeded":
        status = {{"succeeded": 1, "conditions": [
            {{"type": "Complete", "status": "True"}}]}}
    elif ended and outcome == "failed":
        status = {{"failed": 1, "conditions": [{{"type": "Failed", "status": "True",
                  "reason": "BackoffLimitExceeded",
                  "message": "Job has reached the specified backoff limit"}}]}}
    elif ended and outcome == "deadline":
        status = {{"failed": 1, "conditions": [{{"type": "Failed", "status": "True",
                  "reason": "DeadlineExceeded",
                  "message": "Job was active longer than specified deadline"}}]}}
    return {{"metadata": {{"name": name, "uid": "uid-1234"}}, "status": status}}


def pods_json(job):
    scenario = job_scenario()
    ended = load("job_gets", 0) > scenario.get("active_gets", 1)
    pod = scenario.get("pod") or {{}}
    status = {{
        "phase": pod.get("phase", "Running"),
        "initContainerStatuses": [container_status(c, scenario, True)
                                  for c in ("source", "build")],
        "containerStatuses": [container_status("image", scenario, ended)],
    }}
    if pod.get("reason"):
        status.update(reason=pod["reason"], message=pod.get("message", ""))
    return {{"items": [{{"metadata": {{"name": job + "-x7k2p"}}, "status": status}}]}}


if verb == "apply":
    save("applied", stdin)
    if "kind: Rollout" in stdin:
        save("generation", load("generation", 0) + 1)
        save("rollout_gets", 0)
        save("aborted", False)
    print("configured")
    sys.exit(0)
if verb == "rollout":
    fail = os.environ.get("KUBECTL_FAIL_ROLLOUT_IF", "")
    if fail and fail in applied:
        print("error: deployment exceeded its progress deadline", file=sys.stderr)
        sys.exit(1)
    print("deployment successfully rolled out")
    sys.exit(0)
if verb == "get":
    failing = int(os.environ.get("KUBECTL_FAIL_GETS", "0"))
    failed = load("failed_gets", 0)
    if failed < failing:
        save("failed_gets", failed + 1)
        print("Unable to connect to the server: dial tcp: connection refused", file=sys.stderr)
        sys.exit(1)
    kind, name = args[1], args[2] if len(args) > 2 else ""
    if kind == "secret":
        print(json.dumps({{"data": {{}}}}))
    elif kind == "rollout":
        print(json.dumps(rollout_json(name)))
    elif kind == "analysisrun":
        analysis = json.loads(os.environ.get("KUBECTL_ANALYSIS") or "{{}}")
        print(json.dumps({{"metadata": {{"name": name}}, "status": analysis}}))
    elif kind == "job":
        print(json.dumps(job_json(name)))
    elif kind == "pods":
        selector = args[args.index("-l") + 1]
        print(json.dumps(pods_json(selector.split("=", 1)[1])))
    else:
        print("{{}}")
    sys.exit(0)
if verb == "patch":
    if args[1] == "rollout":
        save("aborted", True)
    print("patched")
    sys.exit(0)
if verb == "create":
    if "-o" in args:
        job = json.loads(stdin)
        job.setdefault("metadata", {{}})["uid"] = "uid-1234"
        print(json.dumps(job))
    else:
        print("created")
    sys.exit(0)
if verb == "logs":
    container = args[args.index("-c") + 1]
    sys.stdout.write((job_scenario().get("logs") or {{}}).get(container, ""))
    sys.exit(0)
sys.exit(0)
"""


class Kubectl:
    def __init__(self, record: Path) -> None:
        self.record = record

    def calls(self) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines()]

    def argvs(self) -> list[list[str]]:
        """Each call's argv without the global --context/--namespace flags."""
        out = []
        for call in self.calls():
            argv, rest = [], list(call["argv"])
            while rest:
                head = rest.pop(0)
                if head in ("--context", "--namespace"):
                    rest.pop(0)
                    continue
                argv.append(head)
            out.append(argv)
        return out


def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Kubectl:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    exe = bin_dir / "kubectl"
    exe.write_text(SCRIPT.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    record = tmp_path / "kubectl.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("KUBECTL_RECORD", str(record))
    return Kubectl(record)
