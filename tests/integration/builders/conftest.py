"""Fixtures for builder tests: real git repositories, real venvs, a real SQLite store.

Build environments are expensive, so every test's ``.auto/cache/envs`` is a symlink to one
directory shared by the whole session: the light environment (base packages only) and the
churn example's environment are each created once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest

from qwak_auto.automation.model import Automation, BuildDeploy, BuildSpec, NoneTrigger
from qwak_auto.config import Config
from qwak_auto.redact import register
from qwak_auto.run.contracts import RunContext
from qwak_auto.state import open_url
from qwak_auto.state.base import StateStore

REPO_ROOT = Path(__file__).resolve().parents[3]
CHURN = REPO_ROOT / "examples" / "model-repos" / "churn"


def git(cwd: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=60
    )
    return out.stdout.strip()


def commit_tree(
    repo: Path, files: Mapping[str, str] | None = None, source: Path | None = None
) -> str:
    """Create (or update) a git repository at ``repo`` and commit; returns the commit SHA."""
    repo.mkdir(parents=True, exist_ok=True)
    if not (repo / ".git").exists():
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
    git(repo, "commit", "--quiet", "--allow-empty", "-m", "change")
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="session")
def shared_envs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("envs")


@pytest.fixture
def home(_isolated_home: Path, shared_envs: Path) -> Path:
    (_isolated_home / "cache").mkdir(parents=True, exist_ok=True)
    (_isolated_home / "cache" / "envs").symlink_to(shared_envs, target_is_directory=True)
    return _isolated_home


@pytest.fixture
def store(home: Path) -> Iterator[StateStore]:
    s = open_url(f"sqlite:///{home / 'state.db'}")
    yield s
    s.close()


MakeCtx = Callable[..., RunContext]


@pytest.fixture
def make_ctx(home: Path, store: StateStore) -> MakeCtx:
    def make(
        git_uri: str,
        *,
        secrets: Mapping[str, str] | None = None,
        name: str = "churn-retrain",
        model_id: str = "churn",
        **build: object,
    ) -> RunContext:
        spec = BuildSpec(git_uri=git_uri, **build)  # type: ignore[arg-type]
        automation = Automation(
            name=name,
            model_id=model_id,
            trigger=NoneTrigger(),
            action=BuildDeploy(build_spec=spec),
            spec_hash="test-spec-hash",
        )
        config = Config(
            home=home,
            state_url=f"sqlite:///{home / 'state.db'}",
            analytics_url=f"duckdb:///{home / 'analytics.duckdb'}",
        )
        values = dict(secrets or {})

        def resolve(name: str) -> str:
            register(values[name])
            return values[name]

        return RunContext(
            run_id="run-1",
            automation=automation,
            config=config,
            store=store,
            secrets=resolve,
            trigger_reason="test",
            started_at=datetime.now(UTC),
            log_dir=home / "runs" / "run-1",
            environ=dict(os.environ),
        )

    return make
