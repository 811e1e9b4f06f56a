"""A recording `kubectl` on PATH (tests/fake_kubectl.py) and a private git repository over
smart HTTP (tests/services/githttp.py) for the kubernetes builder."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import missing_service
from tests.fake_kubectl import Kubectl, install
from tests.services.githttp import GitServer, backend, serve

TOKEN = "ghp_PodStepsToken0123456789abcdef"
# auto.yaml of a project that builds and deploys on Kubernetes
AUTO_YAML = """\
builder: kubernetes
default_environment: prod
environments:
  prod:
    deployer: kubernetes
    kube_context: prod-eu
    namespace: models
    image_registry: registry.example.com/ml
"""
MODEL = """\
from qwak_auto.runtime import Model, log_metric


class Tiny(Model):
    def build(self):
        log_metric("f1_score", 0.82)

    def predict(self, df):
        return df
"""
FILES = {
    "models/churn/main/__init__.py": "",
    "models/churn/main/model.py": MODEL,
    "models/churn/main/requirements.txt": "cloudpickle\n",
    "models/churn/tests/test_tiny.py": "def test_tiny():\n    assert True\n",
}


@pytest.fixture
def kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Kubectl:
    return install(tmp_path, monkeypatch)


@pytest.fixture
def home(_isolated_home: Path) -> Path:
    """The test's auto home (``AUTO_HOME``, set by the autouse fixture in tests/conftest.py)."""
    return _isolated_home


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[GitServer]:
    if backend() is None:
        missing_service("git-http", "git-http-backend is not installed (apt-get install -y git)")
    root = tmp_path / "served"
    root.mkdir()
    with serve(root, TOKEN) as server:
        yield server


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout.strip()


@pytest.fixture
def private_repo(tmp_path: Path, git_server: GitServer) -> str:
    """``models.git`` behind the token, holding a tiny model at models/churn; its git_uri."""
    work = tmp_path / "work"
    for name, text in FILES.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text, encoding="utf-8")
    git(work, "init", "--quiet", "--initial-branch=main")
    git(work, "add", "-A")
    git(work, "commit", "--quiet", "-m", "tiny model")
    git(tmp_path, "clone", "--quiet", "--bare", str(work), str(git_server.root / "models.git"))
    return git_server.repo_url("models.git#models/churn")
