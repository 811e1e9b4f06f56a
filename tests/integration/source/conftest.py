"""The private-repository tests' git server (tests/services/githttp.py) and auto home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import missing_service
from tests.services.githttp import GitServer, backend, serve

TOKEN = "ghp_Zz9TestTokenValue0123456789"

__all__ = ["GitServer"]


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[GitServer]:
    if backend() is None:
        missing_service("git-http", "git-http-backend is not installed (apt-get install -y git)")
    root = tmp_path / "served"
    root.mkdir()
    with serve(root, TOKEN) as server:
        yield server


@pytest.fixture
def home(_isolated_home: Path) -> Path:
    """The test's auto home (``AUTO_HOME``, set by the autouse fixture in tests/conftest.py)."""
    return _isolated_home
