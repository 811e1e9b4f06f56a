"""Fixtures of the secrets integration tests: a loopback HTTP server, a venv with plugins."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    return ("127.0.0.1", 0)


PLUGIN_MODULE = '''
"""A throwaway secret backend: reads NAME from the JSON file named by $PLUGIN_STORE."""
import json
import os


class JsonFileBackend:
    name = "jsonfile"
    description = "test plugin: a JSON file named by PLUGIN_STORE"

    def __init__(self, config, environ):
        self.path = environ.get("PLUGIN_STORE", "")

    def get(self, name):
        if not self.path:
            return None
        with open(self.path, encoding="utf-8") as handle:
            return json.load(handle).get(name)
'''

PLUGIN_PYPROJECT = """
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "auto-test-plugin"
version = "0.1.0"

[tool.setuptools]
py-modules = ["auto_test_plugin"]

[project.entry-points."qwak_auto.secret_backends"]
jsonfile = "auto_test_plugin:JsonFileBackend"
broken = "auto_test_plugin_missing:Nothing"
"""


def _uv() -> list[str]:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv:
        return [uv, "pip", "install"]
    return [sys.executable, "-m", "pip", "install", "--disable-pip-version-check"]


def _install(venv_python: Path, *args: str) -> None:
    argv = _uv()
    target = ["--python", str(venv_python)]
    result = subprocess.run(
        [*argv, *target, "--no-deps", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(
            "could not install into a fresh venv (building needs setuptools from PyPI or the "
            f"uv cache): {result.stderr.strip().splitlines()[-1:]}"
        )


@pytest.fixture(scope="session")
def plugin_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ONE venv per session: this project (editable, --no-deps) and a throwaway plugin
    distribution; the project's dependencies come from the running interpreter's
    site-packages through a .pth line (no second download of typer & co)."""
    base = tmp_path_factory.mktemp("plugin-venv")
    venv = base / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    Path(purelib, "_auto_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    plugin = base / "plugin"
    plugin.mkdir()
    (plugin / "pyproject.toml").write_text(textwrap.dedent(PLUGIN_PYPROJECT))
    (plugin / "auto_test_plugin.py").write_text(textwrap.dedent(PLUGIN_MODULE))
    _install(python, "-e", str(ROOT))
    _install(python, str(plugin))
    assert (venv / "bin" / "auto").exists()
    return venv


def venv_env(venv: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AUTO_SECRET", "VIRTUAL_ENV", "PYTHON"))
    }
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        AUTO_HOME=str(tmp_path / ".auto"),
        NO_COLOR="1",
    )
    env.update(extra)
    return env
