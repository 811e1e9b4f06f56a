"""A recording `kubectl` on PATH (tests/fake_kubectl.py) for the kubernetes builder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fake_kubectl import Kubectl, install


@pytest.fixture
def kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Kubectl:
    return install(tmp_path, monkeypatch)
