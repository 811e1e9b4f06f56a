"""Runner processes with fake steps; PostgreSQL from the state area's session cluster."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.integration.run.fake_steps import PLUGIN, PROJECT
from tests.plugins import write_plugin

REPO = Path(__file__).resolve().parents[3]


@functools.cache
def model_repo() -> Path:
    """A small git repository the automations of these tests build from (once a process)."""
    repo = Path(tempfile.mkdtemp(prefix="auto-fake-model-"))
    (repo / "main").mkdir()
    (repo / "main" / "model.py").write_text("# built by the fake builder\n")
    for args in (("init", "-q", "-b", "main"), ("add", "-A"), ("commit", "-q", "-m", "model")):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=60)
    return repo


def write_cron(
    folder: Path, name: str, cron: str = "* * * * *", extra: str = "", timezone: str = "UTC"
) -> None:
    (folder / f"{name}.yaml").write_text(
        f"name: {name}\nmodel_id: {name}\n{extra}"
        f'trigger:\n  scheduled:\n    cron: "{cron}"\n    timezone: {timezone}\n'
        f"action:\n  build_deploy:\n    build_spec:\n      git_uri: {model_repo()}\n"
    )


class Runner:
    """Starts `python -m qwak_auto ...` processes with the fake steps plugged in (the plugin
    on their PYTHONPATH, chosen by ``tmp_path/auto.yaml``)."""

    def __init__(self, tmp_path: Path, state_url: str | None) -> None:
        self.tmp_path = tmp_path
        self.log = tmp_path / "steps.log"
        plugins = write_plugin(tmp_path / "plugins", PLUGIN)
        (tmp_path / "auto.yaml").write_text(PROJECT)
        self.env = {
            **os.environ,
            "PYTHONPATH": f"{REPO}{os.pathsep}{plugins}",
            "AUTO_HOME": str(tmp_path / ".auto"),
            "FAKE_STEPS_LOG": str(self.log),
            "NO_COLOR": "1",
        }
        if state_url:
            self.env["AUTO_STATE_URL"] = state_url

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "qwak_auto", *args],
            cwd=self.tmp_path,
            env={**self.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "qwak_auto", *args],
            cwd=self.tmp_path, env={**self.env, **env}, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip

    def lines(self, kind: str) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [ln.split() for ln in self.log.read_text().splitlines() if ln.startswith(kind)]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def runner(request: pytest.FixtureRequest, tmp_path: Path) -> Runner:
    url = None if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))
    return Runner(tmp_path, url)


@pytest.fixture
def sqlite_runner(tmp_path: Path) -> Runner:
    return Runner(tmp_path, None)
