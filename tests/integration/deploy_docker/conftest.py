"""One tiny model, built twice by the docker builder per session (the second build from a
second commit, so a swap has two images to go between), shared with the registry-push test
(tests/integration/deploy_k8s/) through :func:`model_builds`."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from qwak_auto.run.contracts import BuildResult
from tests.services.docker import Engine

MODEL = """\
import os

import pandas as pd

from qwak_auto.runtime import Model

BUILD = "%s"


class Tiny(Model):
    def build(self):
        pass

    def predict(self, df):
        return pd.DataFrame(
            {"score": df["x"] * 2.0, "build": BUILD, "env": os.environ.get("MODEL_FLAVOUR", "")}
        )
"""

_BUILDS: list[BuildResult] = []  # one pair per session (the engine is per session too)


_IDENTITY = {
    "GIT_AUTHOR_NAME": "auto tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "auto tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
}


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        timeout=60,
        env={**os.environ, **_IDENTITY},
    )


def _commit(repo: Path, build: str) -> None:
    (repo / "main").mkdir(parents=True, exist_ok=True)
    (repo / "main" / "__init__.py").write_text("")
    (repo / "main" / "model.py").write_text(MODEL % build)
    (repo / "main" / "requirements.txt").write_text("pandas\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "--quiet", "-m", f"model {build}")


def model_builds(root: Path) -> list[BuildResult]:
    """Two serving images of the tiny model (``auto/churn:<id>``) answering with build "one"
    and "two"; built once per session, with tests skipped (they need only the image)."""
    if _BUILDS:
        return _BUILDS
    from qwak_auto.automation.model import Automation, BuildDeploy, BuildSpec, NoneTrigger
    from qwak_auto.builders.docker import DockerBuilder
    from qwak_auto.config import Config
    from qwak_auto.run.contracts import RunContext
    from qwak_auto.source import GitSource
    from qwak_auto.state import open_url

    home = root / ".auto"
    repo = root / "repo"
    repo.mkdir(parents=True)
    _git(repo, "init", "--quiet", "--initial-branch=main")
    store = open_url(f"sqlite:///{home / 'state.db'}")
    config = Config(
        home=home,
        state_url=f"sqlite:///{home / 'state.db'}",
        analytics_url=f"duckdb:///{home / 'analytics.duckdb'}",
        builder="docker",
    )
    automation = Automation(
        name="tiny",
        model_id="churn",
        trigger=NoneTrigger(),
        action=BuildDeploy(build_spec=BuildSpec(git_uri=f"file://{repo}")),
        spec_hash="tiny",
    )

    def no_secrets(name: str) -> str:
        raise AssertionError(name)

    try:
        for build in ("one", "two"):
            _commit(repo, build)
            ctx = RunContext(
                run_id=f"run-{build}",
                automation=automation,
                config=config,
                store=store,
                secrets=no_secrets,
                trigger_reason="test",
                started_at=datetime.now(UTC),
                log_dir=home / "runs" / build,
                environ=dict(os.environ),
            )
            checkout = GitSource().fetch(automation.action.build_spec, ctx)
            _BUILDS.append(DockerBuilder(echo=False, run_tests=False).build(checkout, ctx))
    finally:
        store.close()
    return _BUILDS


@pytest.fixture(scope="session")
def tiny_builds(
    docker_engine: Engine, base_image: str, tmp_path_factory: pytest.TempPathFactory
) -> list[BuildResult]:
    del docker_engine, base_image
    return model_builds(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture
def serving_cleanup(docker_engine: Engine) -> Iterator[None]:
    """Whatever a test leaves: its serving containers (the proxies are stopped by the test)."""
    yield
    left = docker_engine.docker("ps", "-aq", "--filter", "label=io.qwak-auto=serving").split()
    if left:
        docker_engine.docker("rm", "--force", *left, check=False)
