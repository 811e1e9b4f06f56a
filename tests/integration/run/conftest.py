"""Runner processes with fake steps; PostgreSQL from the state area's session cluster."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.run.fake_steps import PLUGIN_ENV

REPO = Path(__file__).resolve().parents[3]


def write_cron(
    folder: Path, name: str, cron: str = "* * * * *", extra: str = "", timezone: str = "UTC"
) -> None:
    (folder / f"{name}.yaml").write_text(
        f"name: {name}\nmodel_id: {name}\n{extra}"
        f'trigger:\n  scheduled:\n    cron: "{cron}"\n    timezone: {timezone}\n'
        "action:\n  build_deploy:\n    build_spec:\n      git_uri: https://example.com/r.git\n"
    )


class Runner:
    """Starts `python -m qwak_auto ...` processes with the fake steps plugged in."""

    def __init__(self, tmp_path: Path, state_url: str | None) -> None:
        self.tmp_path = tmp_path
        self.log = tmp_path / "steps.log"
        self.env = {
            **os.environ,
            **PLUGIN_ENV,
            "PYTHONPATH": str(REPO),
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
