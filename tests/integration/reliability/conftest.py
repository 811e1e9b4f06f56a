"""Runner processes on a fresh home, building a real model repository (issue 14).

``Fleet`` starts ``python -m qwak_auto run --once`` processes as an operator's cron would, with
the real source, local builder and gate, and a deployer that records instead of serving
(steps.py). The state store is a SQLite file in the home, or a PostgreSQL database of the
session's cluster (tests/services/postgres.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from qwak_auto.state import open_url
from qwak_auto.state.base import StateStore
from tests.integration.reliability.steps import PLUGIN, PROJECT
from tests.plugins import write_plugin

REPO = Path(__file__).resolve().parents[3]
CHURN = REPO / "examples" / "model-repos" / "churn"
NOW = "2026-05-01T12:00:00Z"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout.strip()


def churn_repo(dest: Path, *, with_tests: bool = False) -> Path:
    """The churn example committed into a git repository of its own at ``dest``. Without its
    ``tests/`` (the model is trained, saved and recorded; the repository's tests are not run)
    unless ``with_tests``."""
    ignore = ["__pycache__", "*.pyc"] + ([] if with_tests else ["tests"])
    shutil.copytree(CHURN, dest, ignore=shutil.ignore_patterns(*ignore))
    git(dest, "init", "--quiet", "--initial-branch=main")
    git(dest, "add", "-A")
    git(dest, "commit", "--quiet", "-m", "churn model")
    return dest


def write_automations(folder: Path, repo: Path, count: int, extra: str = "") -> list[str]:
    """``count`` automations due every minute, each building ``repo`` for its own model."""
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"churn_{i:02d}" for i in range(count)]
    for name in names:
        (folder / f"{name}.yaml").write_text(
            f"name: {name}\nmodel_id: {name}\n"
            'trigger:\n  scheduled:\n    cron: "* * * * *"\n'
            f"action:\n  build_deploy:\n    build_spec:\n      git_uri: {repo}\n{extra}"
        )
    return names


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str


class Fleet:
    """Runner processes sharing one home and one state store."""

    def __init__(self, root: Path, state_url: str | None) -> None:
        self.root = root
        self.home = root / ".auto"
        plugins = write_plugin(root / "plugins", PLUGIN)
        (root / "auto.yaml").write_text(PROJECT)
        self.env = {
            **os.environ,
            "PYTHONPATH": f"{REPO}{os.pathsep}{plugins}",
            "AUTO_HOME": str(self.home),
            "NO_COLOR": "1",
        }
        self.state_url = state_url or f"sqlite:///{self.home / 'state.db'}"
        if state_url:
            self.env["AUTO_STATE_URL"] = state_url

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "qwak_auto", *args],
            cwd=self.root,
            env={**self.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run_once(self, folder: Path, runners: int, timeout: float = 600) -> list[Finished]:
        """``runners`` × ``auto run --once folder`` started together; each one's outcome."""
        procs = [self.start("run", "--once", str(folder), "--now", NOW) for _ in range(runners)]
        deadline = time.monotonic() + timeout
        done = []
        for p in procs:
            out, err = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
            done.append(Finished(p.returncode, out, err))
        return done

    def store(self) -> StateStore:
        return open_url(self.state_url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fleet(request: pytest.FixtureRequest, tmp_path: Path) -> Fleet:
    url = None if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))
    return Fleet(tmp_path, url)


@pytest.fixture
def sqlite_fleet(tmp_path: Path) -> Fleet:
    return Fleet(tmp_path, None)


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    return ("127.0.0.1", 0)
