"""Shared fixtures: an isolated auto home per test, git identity, service helpers."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from qwak_auto import redact
from qwak_auto.platform import plugins

# Services started once per test session, shared by every test folder.
pytest_plugins = ["tests.services.docker", "tests.services.postgres", "tests.services.registry"]


def missing_service(service: str, reason: str) -> None:
    """Skip the test with the reason, or fail it where CI demands the service
    (``AUTO_TEST_REQUIRE=postgres,docker``)."""
    required = {s.strip() for s in os.environ.get("AUTO_TEST_REQUIRE", "").split(",")}
    if service in required:
        pytest.fail(f"{service} is required here (AUTO_TEST_REQUIRE) but {reason}")
    pytest.skip(f"{service}: {reason}")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / ".auto"
    monkeypatch.setenv("AUTO_HOME", str(home))
    monkeypatch.delenv("AUTO_STATE_URL", raising=False)
    monkeypatch.delenv("AUTO_CONFIG", raising=False)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "auto tests")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "tests@example.invalid")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "auto tests")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "tests@example.invalid")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_ALLOW_PROTOCOL", "file:http:https:ssh")
    monkeypatch.setenv("NO_COLOR", "1")
    redact.clear()
    plugins.refresh()
    return home


@pytest.fixture(scope="session")
def shared_envs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build-environment cache per test session: environments are keyed by the hash of
    their dependencies, so tests that build the same model share one."""
    return tmp_path_factory.mktemp("envs")


@pytest.fixture
def shared_envs_home(_isolated_home: Path, shared_envs: Path) -> Path:
    (_isolated_home / "cache").mkdir(parents=True, exist_ok=True)
    link = _isolated_home / "cache" / "envs"
    if not link.exists():
        link.symlink_to(shared_envs, target_is_directory=True)
    return _isolated_home


SHIM = Path(__file__).resolve().parents[1] / "qwak_auto" / "runtime" / "shim"
_SHIM_PACKAGES = ("qwak", "qwak_inference")


def _shim_modules() -> dict[str, object]:
    return {
        name: module
        for name, module in sys.modules.items()
        if name.partition(".")[0] in _SHIM_PACKAGES
    }


@pytest.fixture
def qwak_shim(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """auto's ``qwak`` / ``qwak_inference`` packages importable in this test, whatever the
    session imported before (the real qwak-core is a dev dependency, used as an oracle):
    the modules of either are set aside and restored afterwards."""
    saved = _shim_modules()
    finders = list(sys.meta_path)
    for name in saved:
        del sys.modules[name]
    monkeypatch.syspath_prepend(str(SHIM))
    try:
        yield SHIM
    finally:
        for name in _shim_modules():
            del sys.modules[name]
        sys.modules.update(saved)  # type: ignore[arg-type]
        sys.meta_path[:] = finders
