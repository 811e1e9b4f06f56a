"""API keys of a served model: the secret's format, the keys file, the header check."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qwak_auto.serve.auth import KeysError, authorized, parse_keys, read_keys, write_keys

A, B = "a" * 16, "b-" + "c" * 30


def test_keys_are_lines_blank_lines_and_duplicates_dropped() -> None:
    assert parse_keys(f"\n  {A}  \n\n{B}\n{A}\n") == (A, B)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "holds no API key"),
        ("\n \n", "holds no API key"),
        (f"{A}\nshort\n", "key 2 is shorter than 16 characters"),
        (f"{A} {B}", "holds a space"),
    ],
)
def test_bad_secrets_say_why_without_the_key(text: str, reason: str) -> None:
    with pytest.raises(KeysError, match=reason) as caught:
        parse_keys(text)
    assert "short\n" not in str(caught.value)
    assert A not in str(caught.value)


def test_the_keys_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "api_keys"
    write_keys(path, [A, B])
    assert (path.stat().st_mode & 0o777) == 0o600
    assert read_keys(path) == (A, B)
    with pytest.raises(FileExistsError):
        write_keys(path, [A])  # never written through an existing file or link
    os.chmod(path, 0o644)
    with pytest.raises(KeysError, match="chmod 600"):
        read_keys(path)
    with pytest.raises(KeysError, match="cannot read it"):
        read_keys(tmp_path / "absent")


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        (f"Bearer {A}", True),
        (f"bearer   {B} ", True),
        (f"Bearer {A}x", False),
        (f"Basic {A}", False),
        ("Bearer ", False),
        ("", False),
        (A, False),
    ],
)
def test_authorized(header: str, ok: bool) -> None:
    assert authorized(header, (A, B)) is ok
