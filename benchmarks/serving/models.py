"""The two models of benchmarks/serve.py, built for real: a git repository each, built by
auto's local builder (its tests not run), as an automation's build step does."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qwak_auto.state.base import StateStore

ECHO_REPO = {
    "main/__init__.py": "from .model import EchoModel\n\n\ndef load_model():\n"
    "    return EchoModel()\n",
    "main/model.py": "import qwak\nfrom qwak.model.base import QwakModel\n\n\n"
    "class EchoModel(QwakModel):\n    def build(self):\n        pass\n\n"
    "    @qwak.api()\n    def predict(self, df):\n        return df\n",
    "main/requirements.txt": "pandas>=2.0\n",
}


def sh(argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        argv, cwd=cwd, env=env, check=True, text=True, capture_output=True, timeout=900
    )
    return done.stdout


def context(home: Path, uri: str, model_id: str, store: StateStore) -> Any:
    from qwak_auto.automation.model import Automation, BuildDeploy, BuildSpec, NoneTrigger
    from qwak_auto.config import load_config
    from qwak_auto.run.contracts import RunContext

    automation = Automation(
        name=f"{model_id}-bench",
        model_id=model_id,
        trigger=NoneTrigger(),
        action=BuildDeploy(build_spec=BuildSpec(git_uri=uri)),
        spec_hash="bench",
    )
    return RunContext(
        run_id=f"bench-{model_id}",
        automation=automation,
        config=load_config(env={"AUTO_HOME": str(home)}, cwd=home.parent),
        store=store,
        secrets=lambda _name: "",
        trigger_reason="bench",
        started_at=datetime.now(UTC),
        log_dir=home / "runs",
        environ=dict(os.environ),
    )


def git_repo(path: Path, source: Path | None, files: dict[str, str]) -> None:
    if source is not None:
        shutil.copytree(source, path, ignore=shutil.ignore_patterns("__pycache__"))
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.invalid"}
    env |= {"GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@example.invalid"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "bench"]):
        sh(["git", *args], cwd=path, env=env)


def build(
    home: Path, store: StateStore, model_id: str, source: Path | None, files: dict[str, str]
) -> tuple[Any, Any]:
    """A real build: git repository -> auto's local builder (its tests not run)."""
    from qwak_auto.builders.local import LocalBuilder
    from qwak_auto.source import GitSource

    repo = home.parent / f"{model_id}-repo"
    git_repo(repo, source, files)
    ctx = context(home, f"file://{repo}", model_id, store)
    checkout = GitSource().fetch(ctx.automation.action.build_spec, ctx)
    return LocalBuilder(echo=False, run_tests=False).build(checkout, ctx), ctx
