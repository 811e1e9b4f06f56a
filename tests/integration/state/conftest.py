"""A store over each backend (SQLite file, PostgreSQL database from tests/services/postgres)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qwak_auto.state import open_url
from qwak_auto.state.base import StateStore


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'state.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[StateStore]:
    opened = open_url(store_url)
    yield opened
    opened.close()
