"""A recording `kubectl` on PATH (tests/fake_kubectl.py): it logs every call and answers as a
cluster would from the test's scenario. No API server runs here; this records the
conversation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fake_kubectl import Kubectl, install


@pytest.fixture
def kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Kubectl:
    return install(tmp_path, monkeypatch)
