"""Unit tests start no programs: proc.run and proc.start raise (cibuildwheel's mock_protection)."""

from __future__ import annotations

from typing import Any

import pytest

from qwak_auto import proc


@pytest.fixture(autouse=True)
def _no_programs(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("unit tests must not start programs; move this to tests/integration")

    monkeypatch.setattr(proc, "run", refuse)
    monkeypatch.setattr(proc, "start", refuse)
