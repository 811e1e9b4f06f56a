"""The dependencies_as_of suggestion: which requirements float, which folder is a model repo."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwak_auto.qwak_import.suggest import floating, model_repository


@pytest.mark.parametrize(
    ("spec", "floats"),
    [
        ("pandas", True),
        ("scikit-learn>=1.0", True),
        ("numpy!=1.25", True),
        ("xgboost[scikit-learn]", True),
        ("pandas==2.0.3", False),
        ("pandas==2.*", False),
        ("numpy<2", False),
        ("requests~=2.31", False),
        ("torch>=2,<3", False),
        ("mylib @ git+https://github.com/acme/mylib@v1", False),
        ('pywin32; sys_platform == "win32"', True),
    ],
)
def test_floating(spec: str, floats: bool) -> None:
    assert floating(spec) is floats


def test_model_repository_is_the_folder_with_main_and_its_dependency_file(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "main").mkdir(parents=True)
    (repo / "automations").mkdir()
    source = repo / "automations" / "weekly.py"
    source.write_text("")
    assert model_repository(source) is None  # no dependency file in main/
    (repo / "main" / "requirements.txt").write_text("pandas\n")
    assert model_repository(source) == repo.resolve()


def test_the_search_stops_at_the_repository_top(tmp_path: Path) -> None:
    (tmp_path / "main").mkdir()
    (tmp_path / "main" / "requirements.txt").write_text("pandas\n")
    inner = tmp_path / "other"
    (inner / ".git").mkdir(parents=True)
    (inner / "a.py").write_text("")
    assert model_repository(inner / "a.py") is None
