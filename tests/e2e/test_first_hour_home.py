"""Issue 18, point 1: one state home. On a fresh clone, the README's Quick start and
`make demo` (examples/demo/run_demo.py) work in either order, and both end with a served
model that `auto status`, `auto history` (from a sub-folder) and `auto ui` show, because
every command finds the project's `.auto/` through the `auto.yaml` at the root.

The clone is a copy of what those commands read (auto.yaml, examples/demo, the churn model
repository) in a fresh git repository; AUTO_HOME is unset, as in a user's shell. Real builds
(the build environments are shared per test session), real gunicorn on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[2]
QUICK_START = (
    ("validate", "examples/demo/"),
    ("plan", "examples/demo/"),
    ("run", "--once", "examples/demo/"),
    ("status", "examples/demo/"),
)


@pytest.fixture
def clone(tmp_path: Path, shared_envs: Path) -> Iterator[Path]:
    root = tmp_path / "clone"
    (root / "examples" / "model-repos").mkdir(parents=True)
    shutil.copy(ROOT / "auto.yaml", root / "auto.yaml")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "examples" / "demo", root / "examples" / "demo", ignore=ignore)
    shutil.copytree(
        ROOT / "examples" / "model-repos" / "churn",
        root / "examples" / "model-repos" / "churn",
        ignore=ignore,
    )
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True, timeout=60)
    # The model's environment is shared with the other tests of the session (same deps).
    (root / ".auto" / "cache").mkdir(parents=True)
    (root / ".auto" / "cache" / "envs").symlink_to(shared_envs, target_is_directory=True)
    try:
        yield root
    finally:
        auto(root, "undeploy", "churn")  # never leave a model server behind


def environ() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("AUTO_HOME", "AUTO_CONFIG")}
    return {**env, "NO_COLOR": "1"}


def auto(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qwak_auto", *args],
        cwd=cwd,
        env=environ(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def demo(clone: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(clone / "examples" / "demo" / "run_demo.py"), *args],
        cwd=clone,
        env=environ(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def serving(clone: Path) -> dict[str, Any]:
    (row,) = json.loads(ok(auto(clone, "status", "examples/demo/", "--format", "json")))[
        "automations"
    ]
    (deployed,) = row["deployed"]
    assert deployed["health"] == "healthy", deployed
    return dict(row)


def ui_shows_the_model(clone: Path) -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "qwak_auto", "ui", "--port", str(port)],  # no paths: the store's
        cwd=clone / "examples",
        env=environ(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    return str(r.read().decode())
            except OSError:
                assert proc.poll() is None, "auto ui exited"
                assert time.monotonic() < deadline, "auto ui did not start within 30 s"
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def check_everything_sees_it(clone: Path, build_id: str) -> None:
    assert not (clone / ".auto-demo" / "home").exists()  # no second home
    assert (clone / ".auto" / "state.db").is_file()
    history = json.loads(ok(auto(clone / "examples" / "demo", "history", "--format", "json")))
    assert history["runs"][0]["automation"] == "demo_churn_retrain"
    # plain `auto status`, from a sub-folder, names no files: the recorded ones are read
    (row,) = json.loads(ok(auto(clone / "examples", "status", "--format", "json")))["automations"]
    assert row["deployed"][0]["build_id"] == build_id
    assert row["next_fire_local"] is not None
    page = ui_shows_the_model(clone)
    assert build_id in page
    assert "demo_churn_retrain" in page


@pytest.mark.slow
def test_quick_start_first_then_make_demo(clone: Path) -> None:
    ok(demo(clone, "--repo"))
    for argv in QUICK_START:
        out = ok(auto(clone, *argv))
        if argv[0] == "plan":
            assert "execute_immediately: pending, due now" in out
        if argv[0] == "run":
            assert "demo_churn_retrain: succeeded" in out
    first = serving(clone)["deployed"][0]["build_id"]
    assert "execute_immediately: done" in ok(auto(clone, "plan", "examples/demo/"))

    out = ok(demo(clone))  # make demo: the automation is known, so it re-trains by hand
    assert "auto trigger demo_churn_retrain" in out
    assert "HTTP 200" in out
    assert "undeploy churn" in out
    assert "AUTO_HOME" not in out
    second = serving(clone)["deployed"][0]["build_id"]
    assert second != first
    check_everything_sees_it(clone, second)
    assert "undeployed" in ok(auto(clone / "examples", "undeploy", "churn")).lower()


@pytest.mark.slow
def test_make_demo_first_then_the_quick_start(clone: Path) -> None:
    out = ok(demo(clone))
    assert "auto run --once examples/demo/" in out
    assert "HTTP 200" in out
    built = serving(clone)["deployed"][0]["build_id"]
    check_everything_sees_it(clone, built)
    for argv in QUICK_START:
        out = ok(auto(clone, *argv))
        if argv[0] == "plan":
            assert "execute_immediately: done" in out
        if argv[0] == "run":
            assert "0 run(s)" in out  # nothing due until 03:00: the demo's run counted
    assert serving(clone)["deployed"][0]["build_id"] == built
