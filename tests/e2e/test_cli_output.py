"""Output when not on a terminal: plain help, and a reader that goes away early
(`auto logs B | head -3`) makes `auto` exit 141, printing nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from qwak_auto.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_logs_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    home = tmp_path / ".auto"
    home.mkdir(mode=0o700)  # as auto makes it (a home open to others gets a warning)
    logs = home / "logs" / "builds"
    logs.mkdir(parents=True)
    (logs / "b1.log").write_text("".join(f"line {i}\n" for i in range(200_000)))
    env = {**os.environ, "AUTO_HOME": str(home), "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "qwak_auto", "logs", "b1"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stderr is not None
    assert proc.stdout.readline() == b"line 0\n"
    proc.stdout.close()  # like `head -1`
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 141
    assert err == b""


@pytest.mark.parametrize("argv", [["--help"], ["trigger", "--help"], ["images", "--help"]])
def test_help_is_plain_text_when_not_on_a_terminal(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: auto")
    assert not set(out) & set("╭╮╰╯│─┃━")
