"""import_qwak as a user meets it: empty folders, bad output folders, non-UTF-8 files."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwak_auto.errors import UsageError
from qwak_auto.qwak_import.service import import_qwak


def test_a_folder_without_python_files_is_a_warning(tmp_path: Path) -> None:
    result = import_qwak([tmp_path], None)
    (problem,) = result.problems
    assert (problem.code, problem.severity.value) == ("import.none", "warning")
    assert not result.failed


def test_an_output_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_text("", encoding="utf-8")
    with pytest.raises(UsageError, match="is a file"):
        import_qwak([tmp_path], target)


def test_an_output_that_cannot_be_made_is_a_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(UsageError, match="cannot make the folder"):
        import_qwak([tmp_path], blocker / "sub")


def test_a_file_that_is_not_utf8_says_so(tmp_path: Path) -> None:
    source = tmp_path / "a.py"
    source.write_bytes(b"\xff\xfe = 1\n")
    result = import_qwak([source], None)
    (problem,) = result.problems
    assert problem.hint == "save the file as UTF-8"
    assert result.failed == [str(source)]
