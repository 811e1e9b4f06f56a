from __future__ import annotations

import stat
from pathlib import Path

from qwak_auto.platform.private import ensure_home


def test_a_new_home_is_made_0700(tmp_path: Path) -> None:
    home = tmp_path / "a" / ".auto"
    assert ensure_home(home) is None
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_a_private_home_says_nothing(tmp_path: Path) -> None:
    home = tmp_path / ".auto"
    home.mkdir(mode=0o700)
    home.chmod(0o700)
    assert ensure_home(home) is None


def test_an_open_home_is_left_as_it_is_with_the_fix(tmp_path: Path) -> None:
    home = tmp_path / "my home" / ".auto"
    home.mkdir(parents=True)
    home.chmod(0o750)
    warning = ensure_home(home)
    assert warning is not None
    assert "mode 0750" in warning
    assert warning.endswith(f"chmod -R go-rwx '{home}'")
    assert stat.S_IMODE(home.stat().st_mode) == 0o750


def test_a_home_that_cannot_be_made_is_not_this_helpers_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert ensure_home(blocker / ".auto") is None  # the step that writes there says why
