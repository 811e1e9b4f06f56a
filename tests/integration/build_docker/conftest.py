"""Build contexts for the docker builder tests (the engine and base image fixtures are in
tests/services/docker.py, shared by the whole session)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import missing_service
from tests.services.docker import CACHE, Engine, _cache_lock

__all__ = ["CACHE", "Engine", "_cache_lock"]


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout.strip()


def commit_repo(repo: Path, files: dict[str, str] | None = None, source: Path | None = None) -> str:
    """A git repository at ``repo`` holding ``source`` and ``files``; returns its file:// URL."""
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "--quiet", "--initial-branch=main")
    if source is not None:
        shutil.copytree(
            source, repo, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
        )
    for name, text in (files or {}).items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "model")
    return f"file://{repo}"


@pytest.fixture(scope="session")
def sts_url() -> Iterator[str]:
    from tests.integration.iam.moto import moto_binary, moto_server

    if moto_binary() is None:
        missing_service("moto", "moto_server is not installed (pip install 'moto[server]')")
    with moto_server() as url:
        yield url


@pytest.fixture
def store(_isolated_home: Path) -> Iterator[object]:
    from qwak_auto.state import open_url

    s = open_url(f"sqlite:///{_isolated_home / 'state.db'}")
    yield s
    s.close()


@pytest.fixture
def make_ctx(_isolated_home: Path, store: object) -> object:
    from datetime import UTC, datetime

    from qwak_auto.automation.model import Automation, BuildDeploy, BuildSpec, NoneTrigger
    from qwak_auto.config import Config
    from qwak_auto.run.contracts import RunContext

    def make(git_uri: str, *, model_id: str = "churn", environ=None, **build: object):
        spec = BuildSpec(git_uri=git_uri, **build)  # type: ignore[arg-type]
        automation = Automation(
            name=f"{model_id}-retrain",
            model_id=model_id,
            trigger=NoneTrigger(),
            action=BuildDeploy(build_spec=spec),
            spec_hash="test-spec-hash",
        )
        config = Config(
            home=_isolated_home,
            state_url=f"sqlite:///{_isolated_home / 'state.db'}",
            analytics_url=f"duckdb:///{_isolated_home / 'analytics.duckdb'}",
            builder="docker",
        )

        def no_secrets(name: str) -> str:
            raise AssertionError(f"no secret {name} here")

        return RunContext(
            run_id="run-docker",
            automation=automation,
            config=config,
            store=store,  # type: ignore[arg-type]
            secrets=no_secrets,
            trigger_reason="test",
            started_at=datetime.now(UTC),
            log_dir=_isolated_home / "runs" / "run-docker",
            environ=dict(environ if environ is not None else os.environ),
        )

    return make
