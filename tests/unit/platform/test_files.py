from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from qwak_auto.platform.files import write_if_changed, write_whole


def test_write_whole_replaces_the_file_with_a_new_one(tmp_path: Path) -> None:
    path = tmp_path / "marker.json"
    path.write_text("old", encoding="utf-8")
    old = path.stat().st_ino
    write_whole(path, "new")
    assert path.read_text(encoding="utf-8") == "new"
    assert path.stat().st_ino != old
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == ["marker.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "marker.json"
    path.write_text("old", encoding="utf-8")
    with pytest.raises(UnicodeEncodeError):
        write_whole(path, "\udcff")
    assert path.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["marker.json"]


def test_write_if_changed_does_not_touch_an_equal_file(tmp_path: Path) -> None:
    path = tmp_path / "x.pth"
    assert write_if_changed(path, "a\n") is True
    before = path.stat().st_ino, path.stat().st_mtime_ns
    assert write_if_changed(path, "a\n") is False
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == before
    assert write_if_changed(path, "b\n") is True
    assert path.read_text(encoding="utf-8") == "b\n"
