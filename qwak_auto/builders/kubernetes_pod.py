"""The steps of a build pod (``builder: kubernetes``), run INSIDE the cluster:

    python  -m qwak_auto.builders.kubernetes_pod source   (auto's image: git, this package)
    python3 -m qwak_auto.builders.kubernetes_pod build    (the build image, PYTHONPATH=auto)

``source`` reads the request from ``$AUTO_BUILD_REQUEST``, clones the repository at the run's
commit, puts the project, auto's runtime and the serving image's Dockerfile into the
workspace and writes ``build.json`` for the next step. ``build`` makes the virtual
environment, runs the build harness and reports: the whole result (metrics, parameters,
tests, timings, the resolved packages, the model file's digest) as ONE log line
``auto-build-result: {json}``, and a compact copy of it (status, reason, metrics, the
whole's digest) as the container's termination message, which Kubernetes keeps in the pod's
status whatever happens to its log. The runner reads both (``kubernetes_result``).

Only the standard library and the parts of auto that need nothing else are imported: the
build image is any image with python3 and its venv module.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qwak_auto import proc, redact
from qwak_auto.errors import ProcError

RESULT_PREFIX = "auto-build-result: "
TERMINATION_LOG = Path("/dev/termination-log")
TERMINATION_LIMIT = 4096  # bytes Kubernetes keeps of a termination message
_IGNORED = shutil.ignore_patterns(".git", "__pycache__", "*.pyc", ".pytest_cache", ".venv")
GIT_TIMEOUT = 900.0


class StepFailed(Exception):
    """A failed step; the message is the build's one-line reason."""


# ---------------------------------------------------------------- the report


def result_line(result: Mapping[str, Any]) -> str:
    return RESULT_PREFIX + json.dumps(result, sort_keys=True, default=str)


def digest(result: Mapping[str, Any]) -> str:
    return hashlib.sha256(result_line(result).encode()).hexdigest()


def termination_message(result: Mapping[str, Any]) -> str:
    """Status, reason and metrics of ``result`` and the digest of the whole, in at most
    4096 bytes (parameters, then metrics, then the reason's tail are left out if needed)."""
    short: dict[str, Any] = {
        "status": result.get("status", "failed"),
        "reason": str(result.get("reason", ""))[:1000],
        "metrics": dict(result.get("metrics") or {}),
        "params": dict(result.get("params") or {}),
        "digest": digest(result),
    }
    for key in ("params", "metrics"):
        if len(json.dumps(short).encode()) <= TERMINATION_LIMIT:
            break
        short.pop(key)
        short["truncated"] = True
    text = json.dumps(short)
    return text if len(text.encode()) <= TERMINATION_LIMIT else text[:TERMINATION_LIMIT]


def parse_result(log: str) -> dict[str, Any] | None:
    """The last ``auto-build-result:`` line of a log, if any."""
    for line in reversed(log.splitlines()):
        if line.startswith(RESULT_PREFIX):
            try:
                value = json.loads(line[len(RESULT_PREFIX) :])
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
    return None


def _report(result: dict[str, Any], termination: Path) -> int:
    print(result_line(result), flush=True)
    try:
        termination.write_text(termination_message(result), encoding="utf-8")
    except OSError as exc:
        print(f"warning: cannot write the termination message: {exc}", flush=True)
    return 0 if result.get("status") == "succeeded" else 1


# ---------------------------------------------------------------- source (auto's image)


def _secrets_from_env(environ: Mapping[str, str]) -> None:
    """The credentials this step was given: kept out of everything it prints."""
    for key, value in environ.items():
        if key.startswith("GIT_CONFIG_VALUE_") and value.lower().startswith("authorization:"):
            redact.register_secret(value.partition(":")[2].strip())
            redact.register_secret(value.rpartition(" ")[2])
        elif key == "AUTO_GIT_SSH_KEY":
            redact.register_secret(value)


def _run(argv: list[str], what: str, *, timeout: float, env: Mapping[str, str]) -> str:
    try:
        return proc.run(argv, timeout=timeout, env=env).stdout
    except ProcError as exc:
        raise StepFailed(f"{what}: {exc.message}") from None


def source(request: Mapping[str, Any], environ: Mapping[str, str]) -> None:
    paths = request["paths"]
    workspace = Path(paths["workspace"])
    _secrets_from_env(environ)
    env = {k: v for k, v in environ.items() if k != "AUTO_GIT_SSH_KEY"}
    key = environ.get("AUTO_GIT_SSH_KEY")
    if key:
        key_file = Path(env.get("TMPDIR", "/tmp")) / "auto-git-ssh-key"
        key_file.unlink(missing_ok=True)
        key_file.touch(mode=0o600)
        key_file.write_text(key.strip() + "\n", encoding="utf-8")
        env["GIT_SSH_COMMAND"] = (
            f"ssh -i {key_file} -o IdentitiesOnly=yes -o BatchMode=yes "
            "-o StrictHostKeyChecking=accept-new"
        )
    repo = workspace / "repo"
    url, branch, commit = request["repo_url"], request["branch"], request["commit"]
    print(f"==> cloning {redact.redact(url)} ({branch})", flush=True)
    _run(
        [
            "git",
            "clone",
            "--quiet",
            "--single-branch",
            "--no-tags",
            "--branch",
            branch,
            url,
            str(repo),
        ],
        "git clone",
        timeout=GIT_TIMEOUT,
        env=env,
    )
    try:
        proc.run(
            ["git", "-C", str(repo), "checkout", "--quiet", "--detach", commit],
            timeout=120,
            env=env,
        )
    except ProcError:
        raise StepFailed(
            f"commit {commit[:12]} is not on branch {branch} any more (was it force-pushed?)"
        ) from None
    print(f"==> at {commit}", flush=True)
    project = (repo / request.get("sub_path", "")).resolve()
    if not project.is_dir() or not project.is_relative_to(repo.resolve()):
        raise StepFailed(f"git_uri path {request.get('sub_path')!r} is not a folder of the repo")
    image = workspace / "image"
    shutil.rmtree(image / "model", ignore_errors=True)
    shutil.copytree(project, image / "model" / "code", ignore=_IGNORED, symlinks=True)
    package = Path(__file__).resolve().parents[1]  # qwak_auto
    shutil.rmtree(image / "auto", ignore_errors=True)
    shutil.copytree(package, image / "auto" / "qwak_auto", ignore=_IGNORED)
    (image / "venv").mkdir(parents=True, exist_ok=True)
    (image / "Dockerfile").write_text(request["dockerfile"], encoding="utf-8")
    state = {**request, "started_at": time.time()}
    (workspace / "build.json").write_text(json.dumps(state), encoding="utf-8")
    print("==> workspace ready: the project, auto's runtime, the image's Dockerfile", flush=True)


# ---------------------------------------------------------------- build (the build image)


def _remaining(state: Mapping[str, Any]) -> float:
    left = float(state["started_at"]) + float(state["deadline_seconds"]) - 30 - time.time()
    if left <= 0:
        raise StepFailed("the build ran past its timeout")
    return left


def _environment(state: Mapping[str, Any], env: Mapping[str, str]) -> tuple[Path, list[str]]:
    """The virtual environment with the model's packages: (its python, pip freeze)."""
    venv = Path(state["paths"]["venv"])
    python = venv / "bin" / "python"
    print(f"==> virtual environment {venv} ({sys.version.split()[0]})", flush=True)
    _run([sys.executable, "-m", "venv", str(venv)], "python3 -m venv", timeout=300, env=env)
    cutoff: list[str] = []
    if state.get("uploaded_before"):
        _run(
            [str(python), "-m", "pip", "install", "--quiet", state["pip_with_cutoff"]],
            "installing a pip that knows --uploaded-prior-to",
            timeout=_remaining(state),
            env=env,
        )
        cutoff = ["--uploaded-prior-to", state["uploaded_before"]]
    requirements = Path(state["paths"]["workspace"]) / "requirements.txt"
    requirements.write_text("\n".join(state["requirements"]) + "\n", encoding="utf-8")
    print(f"==> installing {len(state['requirements'])} requirements", flush=True)
    try:
        proc.run(
            [str(python), "-m", "pip", "install", "--no-input", *cutoff, "-r", str(requirements)],
            timeout=_remaining(state),
            env=env,
            stdout=sys.stdout,
        )
    except ProcError as exc:
        raise StepFailed(f"installing the dependencies failed: {exc.message}") from None
    freeze = _run(
        [str(python), "-m", "pip", "freeze", "--all"], "pip freeze", timeout=120, env=env
    ).splitlines()
    site = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        "locating site-packages",
        timeout=60,
        env=env,
    ).strip()
    # auto's runtime and the qwak compatibility package on the venv's path (dockerfile.pth_text)
    auto = state["paths"]["auto"]
    pth = f"{auto}\n{auto}/qwak_auto/runtime/shim\n"
    (Path(site) / state["pth_name"]).write_text(pth, encoding="utf-8")
    return python, freeze


def _harness(state: Mapping[str, Any], python: Path, env: Mapping[str, str]) -> dict[str, Any]:
    model = Path(state["paths"]["model"])
    request = {
        "code_dir": str(model / "code"),
        "main_dir": state["main_dir"],
        "out_dir": str(model),
        "model_id": state["model_id"],
        "build_id": state["build_id"],
        "parameters": state["parameters"],
        "env_vars": state["env_vars"],
        "run_tests": state["run_tests"],
        "run_it": state["run_tests"],
        "deadline": float(state["started_at"]) + float(state["deadline_seconds"]) - 30,
    }
    request_file = Path(state["paths"]["workspace"]) / "request.json"
    request_file.write_text(json.dumps(request), encoding="utf-8")
    try:
        done = proc.run(
            [str(python), "-m", "qwak_auto.builders.harness", str(request_file)],
            timeout=_remaining(state),
            env=env,
            stdout=sys.stdout,
            check=False,
        )
    except ProcError as exc:
        raise StepFailed(f"the build harness: {exc.message}") from None
    result_file = model / "result.json"
    if not result_file.is_file():
        raise StepFailed(f"the build harness ended with status {done.returncode} and no result")
    result: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
    result_file.unlink()
    (model / "pytest-auto.ini").unlink(missing_ok=True)
    return result


def build(workspace: Path, environ: Mapping[str, str], termination: Path) -> int:
    state = json.loads((workspace / "build.json").read_text(encoding="utf-8"))
    env = {k: v for k, v in environ.items() if k != "PYTHONPATH"}
    result: dict[str, Any]
    try:
        python, freeze = _environment(state, env)
        result = _harness(state, python, env)
        result["resolved"] = freeze
    except StepFailed as exc:
        result = {"status": "failed", "reason": str(exc)}
    result["auto_version"] = state.get("auto_version", "")
    model_file = Path(state["paths"]["model"]) / "model.pkl"
    if result.get("status") == "succeeded" and model_file.is_file():
        data = model_file.read_bytes()
        result["model"] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        metrics = json.dumps(result.get("metrics") or {}, indent=2) + "\n"
        (model_file.parent / "metrics.json").write_text(metrics, encoding="utf-8")
        record = {k: result.get(k) for k in ("metrics", "params", "model", "python")}
        record.update(build_id=state["build_id"], commit=state["commit"])
        (model_file.parent / "provenance.json").write_text(
            json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8"
        )
    return _report(result, termination)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in (["source"], ["build"]):
        print("usage: python -m qwak_auto.builders.kubernetes_pod source|build", file=sys.stderr)
        return 2
    environ = dict(os.environ)
    # Both overrides exist for running the steps outside a pod (the tests do).
    termination = Path(environ.get("AUTO_TERMINATION_LOG", str(TERMINATION_LOG)))
    try:
        if args == ["source"]:
            source(json.loads(environ["AUTO_BUILD_REQUEST"]), environ)
            return 0
        workspace = Path(environ.get("AUTO_BUILD_WORKSPACE", "/workspace"))
        return build(workspace, environ, termination)
    except StepFailed as exc:
        print(f"build failed: {exc}", flush=True)
        with contextlib.suppress(OSError):
            termination.write_text(str(exc)[:TERMINATION_LIMIT], encoding="utf-8")
        return 1


if __name__ == "__main__":
    sys.exit(main())
