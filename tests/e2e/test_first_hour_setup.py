"""Issue 18, point 4: set-up shows progress and no warning boxes.

`make install` (which `make demo` runs first) installs the project's own virtual
environment with uv, which says what it resolves and installs; a pip install of the project
builds it without setuptools' deprecation boxes (SPDX `license = "Apache-2.0"`) or its
"Editable installation" box. Real programs, a fresh virtual environment in tmp_path.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
BOXES = re.compile(r"!!|\*{20}|BuildBackendWarning|deprecated|Editable installation", re.I)


def run(argv: list[str], env: dict[str, str] | None = None) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False, env=env)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    return output


def base_python() -> str:
    """The interpreter the test venv was made from (a venv is made from it, not from ours)."""
    return str(Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}")


@pytest.mark.slow
def test_make_install_shows_uvs_progress_and_no_boxes(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    env = {**os.environ, "MAKEFLAGS": ""}
    out = run(["make", "-C", str(ROOT), "install", f"VENV={venv}", f"PYTHON={base_python()}"],
              env=env)  # fmt: skip
    assert "==> installing auto and its dev tools with uv" in out
    assert re.search(r"Resolved \d+ packages", out), out[-2000:]
    assert re.search(r"Installed \d+ packages", out), out[-2000:]
    assert not BOXES.search(out), BOXES.search(out)
    assert f"==> {venv} is ready" in out
    assert run([str(venv / "bin" / "auto"), "--version"]).startswith("auto ")


@pytest.mark.slow
def test_pip_builds_the_project_without_warning_boxes(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run([base_python(), "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    # The newest pip shows what the build backend warns about; the old bundled one hides it.
    run([*pip, "install", "--quiet", "--upgrade", "pip"])
    out = run([*pip, "install", "--no-deps", "-e", str(ROOT)])
    assert "Successfully installed qwak-auto" in out
    assert not BOXES.search(out), out[-3000:]
    metadata = run([*pip, "show", "qwak-auto"])
    assert "License-Expression: Apache-2.0" in metadata or "License: Apache-2.0" in metadata
