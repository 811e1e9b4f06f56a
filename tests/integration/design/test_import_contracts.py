"""The design's import rules are contracts (pyproject.toml, `lint-imports`): they hold on the
tree, and breaking one fails the check with the contract's name."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(package_parent: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    if not LINT_IMPORTS.exists():
        pytest.skip(
            f"lint-imports is not installed beside {sys.executable} (pip install -e .[dev])"
        )
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "qwak_auto", tmp_path / "src" / "qwak_auto",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path / "src"


def test_the_tree_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint(_copy(tmp_path), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        # a step drawing on the screen
        ("builders/local.py", "from qwak_auto import console", "Steps never import the CLI"),
        # build and deploy importing each other
        ("deploy/local.py", "import qwak_auto.builders.local", "The one path"),
        # the file format reaching for secrets
        ("automation/model.py", "import qwak_auto.secrets.env", "knows no state, secrets"),
        # the model server importing the runner
        ("serve/app.py", "import qwak_auto.run.runner", "import nothing of the runner"),
        # a second analytics writer
        ("deploy/local.py", "import qwak_auto.analytics.store", "One analytics writer"),
    ],
)
def test_breaking_a_rule_fails_with_its_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    src = _copy(tmp_path)
    target = src / "qwak_auto" / module
    text = target.read_text(encoding="utf-8")
    head, sep, rest = text.partition("from __future__ import annotations\n")
    target.write_text(head + sep + line + "  # noqa\n" + rest, encoding="utf-8")
    result = _lint(src, tmp_path)
    assert result.returncode == 1, result.stdout
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout
