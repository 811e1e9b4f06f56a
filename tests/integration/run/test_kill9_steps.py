"""`kill -9` of a real runner in each step (source, build, condition, deploy): after the next
tick no program of that run is left, no record of it is unfinished, and the model that served
before still answers. Real git (over smart HTTP, slowed down), the real local builder, the
real gate (a slow SQL threshold), the real local deployer (Caddy and gunicorn)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from qwak_auto.run.processes import SCOPE as PROCESSES
from qwak_auto.state import open_url
from qwak_auto.state.base import RunStatus, StateStore
from tests.integration.serve.artifacts import request
from tests.services import githttp

REPO = Path(__file__).resolve().parents[3]
TOKEN = "tok-kill9-0123456789abcdef"

MODEL = """
import os
import time

import pandas as pd
import qwak
from qwak.model.base import QwakModel


class Model(QwakModel):
    def __init__(self):
        self.tag = os.getenv("TAG", "?")

    def build(self):
        time.sleep(float(os.getenv("BUILD_SLEEP", "0")))
        qwak.log_metric({"f1": 0.9})

    def initialize_model(self):
        time.sleep(float(os.getenv("INIT_SLEEP", "0")))

    def predict(self, df):
        return pd.DataFrame({"build": [self.tag] * len(df)})
"""

AUTOMATION = """\
name: kill9
model_id: kill9
trigger: {{none: {{}}}}
action:
  build_deploy:
    build_spec:
      git_uri: {url}
      git_access_token_secret: git_token
      env_vars: {build_env}
      parameters: {{TAG: "{tag}"}}
{condition}    deployment_spec:
      number_of_http_server_workers: 1
      env_vars: {serve_env}
"""

SLOW_SQL = "SELECT 0.5 + 0 * max(hash(i)) FROM range(3000000000) t(i)"


@pytest.fixture
def project(tmp_path: Path, shared_envs: Path) -> Iterator[tuple[Path, githttp.GitServer]]:
    root = tmp_path / "git"
    repo = root / "model.git"
    work = tmp_path / "work"
    (work / "main").mkdir(parents=True)
    (work / "main" / "__init__.py").write_text("")
    (work / "main" / "model.py").write_text(MODEL)
    (work / "main" / "requirements.txt").write_text("pandas\n")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "m"]):
        subprocess.run(["git", *args], cwd=work, check=True, timeout=60)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(repo)], check=True, timeout=60)
    home = tmp_path / ".auto"
    (home / "cache").mkdir(parents=True)
    (home / "cache" / "envs").symlink_to(shared_envs, target_is_directory=True)
    with githttp.serve(root, TOKEN) as server:
        yield tmp_path, server


def _write(tmp_path: Path, url: str, tag: str, **kind: str) -> Path:
    folder = tmp_path / "automations"
    folder.mkdir(exist_ok=True)
    condition = ""
    if kind.get("sql"):
        condition = (
            "    deployment_condition:\n      build_metric:\n        metric_name: f1\n"
            f'        direction: ABOVE\n        threshold: "{kind["sql"]}"\n'
        )
    (folder / "kill9.yaml").write_text(
        AUTOMATION.format(
            url=url, tag=tag, condition=condition,
            build_env=[f"BUILD_SLEEP={kind.get('build_sleep', '0')}"],
            serve_env=[f"INIT_SLEEP={kind.get('init_sleep', '0')}", f"TAG={tag}"],
        )
    )  # fmt: skip
    return folder


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "AUTO_HOME": str(tmp_path / ".auto"),
        "AUTO_SECRET_GIT_TOKEN": TOKEN,
        "AUTO_LEASE_SECONDS": "3",
        "NO_COLOR": "1",
    }


def _auto(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "qwak_auto", *args],
        cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip


def _store(tmp_path: Path) -> StateStore:
    return open_url(f"sqlite:///{tmp_path / '.auto' / 'state.db'}")


def _ours(tmp_path: Path, keep: set[int]) -> list[str]:
    """Programs (besides the process groups ``keep``: the model serving before, the proxy)
    whose command line or working folder is in this test's home: what a run started."""
    home = str(tmp_path / ".auto")
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            cwd = os.readlink(entry / "cwd")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" or int(fields[2]) in keep:
            continue
        if home in cmdline or cwd.startswith(home):
            found.append(f"{entry.name}: {cmdline[:200]}")
    return found


def _wait(predicate: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _running_step(store: StateStore, run_id: str | None = None) -> str | None:
    runs = store.runs("kill9", 5)
    run = next((r for r in runs if r.status is RunStatus.RUNNING), None)
    if run is None:
        return None
    return next((s.name for s in store.steps(run.run_id) if s.status.value == "running"), None)


@pytest.mark.slow
@pytest.mark.parametrize("step", ["source", "build", "condition", "deploy"])
def test_kill_9_in_each_step_leaves_nothing_after_the_next_tick(
    project: tuple[Path, githttp.GitServer], step: str
) -> None:
    tmp_path, git = project
    url = git.repo_url("model.git")
    # 1. the model that serves before: build A, deployed by a run that ends well
    folder = _write(tmp_path, url, "A")
    first = _auto(tmp_path, "trigger", "kill9", str(folder))
    out, _ = first.communicate(timeout=600)
    assert first.returncode == 0, out
    store = _store(tmp_path)
    try:
        serving = store.serving("kill9", "dev", "default")
        assert serving is not None
        port = int(serving.address.rsplit(":", 1)[1])
        keep = {int(serving.detail["pid"]), int(serving.detail["proxy_pid"])}
        # 2. a run that is killed in `step`
        kind = {
            "build": {"build_sleep": "60"},
            "condition": {"sql": SLOW_SQL},
            "deploy": {"init_sleep": "60"},
        }.get(step, {})
        if step == "source":
            git.delay = 30.0
        folder = _write(tmp_path, url, "B", **kind)
        victim = _auto(tmp_path, "trigger", "kill9", str(folder))
        _wait(lambda: _running_step(store) == step, 300, f"the {step} step")
        if step in ("build", "deploy", "source"):  # its programs are running
            _wait(lambda: store.values(PROCESSES), 60, "a recorded program")
            time.sleep(1.0)
        os.kill(victim.pid, signal.SIGKILL)
        victim.communicate(timeout=30)
        git.delay = 0.0
        time.sleep(3.5)  # its lease (3 s) expires
        # 3. the next tick
        tick = _auto(tmp_path, "run", "--once", str(folder))
        out, _ = tick.communicate(timeout=300)
        assert "recovered" in out or step == "condition", out
        left = _ours(tmp_path, keep)
        assert left == [], left
        killed = next(r for r in store.runs("kill9", 5) if r.status is RunStatus.ABANDONED)
        assert all(s.status.value != "running" for s in store.steps(killed.run_id))
        assert all(b.status != "running" for b in store.builds("kill9", 20))
        unfinished = {"starting", "canary", "baking"}
        assert all(d.status not in unfinished for d in store.deployments("kill9", limit=20))
        assert not list((tmp_path / ".auto" / "builds").glob(".tmp-*"))
        assert store.values(PROCESSES) == {}
        status, body = request(port, "POST", "/v1/kill9/predict", [{"x": 1}])
        assert (status, body[0]["build"]) == (200, "A")
    finally:
        store.close()
        for pid in keep:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
