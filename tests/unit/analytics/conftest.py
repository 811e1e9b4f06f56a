"""Fixtures of the analytics tests: a project config whose home is the test's .auto dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qwak_auto.config import Config, load_config


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config(env={"AUTO_HOME": os.environ["AUTO_HOME"]}, cwd=tmp_path)
