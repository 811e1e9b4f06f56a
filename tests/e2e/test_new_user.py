"""What a new user meets first: usage mistakes, wrong paths and names, Ctrl-C, terminals.

Every case here once printed a traceback-style "internal error", exited with the wrong code
or said nothing at all. The rules: no traceback; 0 fine, 1 findings or a failed run, 2 usage
or config error, 130 interrupted; every error says where, what and how to fix it.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from qwak_auto.cli import main
from tests.integration.run.conftest import write_cron
from tests.integration.run.fake_steps import use_fake_steps


def _error(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 2) -> str:
    capsys.readouterr()
    assert main(list(argv)) == code
    err = capsys.readouterr().err
    assert "internal error" not in err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("argv", "what"),
    [
        (["validate", "--nope", "x"], "No such option: --nope"),
        (["history", "--limit", "-1"], "Invalid value for '--limit'"),
        (["history", "--limit", "abc"], "Invalid value for '--limit'"),
        (["plan", "--count", "0", "."], "Invalid value for '--count'"),
        (["validate"], "Missing argument 'PATH'"),
        (["nope"], "No such command 'nope'"),
    ],
)
def test_usage_mistakes_are_usage_errors_with_a_hint(
    capsys: pytest.CaptureFixture[str], argv: list[str], what: str
) -> None:
    err = _error(capsys, *argv)
    assert what in err
    assert "hint: see `auto" in err
    assert "--help`" in err


def test_a_bare_group_shows_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["images"]) == 2
    shown = capsys.readouterr()
    assert "Usage: auto images" in shown.out + shown.err
    assert "internal error" not in shown.err


@pytest.mark.parametrize(
    "argv",
    [
        ["plan"],
        ["status"],
        ["run", "--once"],
        ["trigger", "x"],
        ["build", "-n", "x"],
        ["render"],
        ["metrics"],
    ],
)
def test_a_missing_path_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str]
) -> None:
    missing = str(tmp_path / "nope")
    err = _error(capsys, *argv, missing)
    assert f"no such file or folder: {missing}" in err
    assert "hint:" in err


def test_history_of_an_unknown_automation_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    err = _error(capsys, "history", "nope")
    assert "no automation named 'nope' is recorded" in err
    assert "auto run --once" in err


def test_an_empty_history_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history"]) == 0
    assert capsys.readouterr().out.strip() == "no runs recorded yet"


def test_render_for_an_environment_nobody_deploys_to(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write_cron(tmp_path, "hourly", "0 * * * *")
    err = _error(capsys, "render", str(tmp_path), "--env", "prdo")
    assert "--env: no automation here deploys to 'prdo'" in err
    assert "environments of these automations: dev" in err


def test_a_broken_project_config_points_at_the_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write_cron(tmp_path, "hourly", "0 * * * *")
    (tmp_path / "auto.yaml").write_text("builder: local\nsecrets: 5\n", encoding="utf-8")
    err = _error(capsys, "validate", str(tmp_path))
    assert f"{tmp_path / 'auto.yaml'}:2:10: secrets: must be a list of names" in err


def test_an_empty_folder_is_a_warning_not_silence(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["validate", str(tmp_path)]) == 0
    assert "no automation files" in capsys.readouterr().out
    assert main(["validate", "--strict", str(tmp_path)]) == 1


def test_ctrl_c_during_a_run_exits_130(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_fake_steps(tmp_path, monkeypatch)
    monkeypatch.setenv("FAKE_BUILD_SECONDS", "1")
    write_cron(tmp_path, "hourly", "0 * * * *")
    # SIGINT arrives while the build runs: the run stops after that step, recorded as
    # interrupted, and the command exits 130 like any interrupted program.
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        rc = main(["trigger", "hourly", str(tmp_path)])
    finally:
        timer.cancel()
    assert rc == 130
    assert "interrupted" in capsys.readouterr().out


def test_tables_on_a_terminal_never_cut_ids(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from qwak_auto import console

    monkeypatch.setattr(console, "is_plain", lambda *_a, **_k: False)
    monkeypatch.setenv("COLUMNS", "40")
    run_id = "5fdd90988d41a2b3c4d5e6f7"
    console.table("runs", ["run", "automation", "error"], [[run_id, "demo", "x " * 30]])
    out = capsys.readouterr().out
    assert "…" not in out
    assert run_id in out  # on one line, whole


def test_ui_on_a_port_in_use_says_so_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        err = _error(capsys, "ui", "--port", str(port))
    assert f"cannot listen on 127.0.0.1:{port}" in err
    assert "choose another --port" in err


def test_ui_port_out_of_range_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert "Invalid value for '--port'" in _error(capsys, "ui", "--port", "99999")


def test_help_paragraphs_are_reflowed_not_broken_at_source_lines(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["run", "--help"]) == 0
    out = capsys.readouterr().out
    # The docstring breaks this sentence after "a run"; the help must not.
    assert "1 when a run failed or a file was invalid" in out


def test_an_empty_status_says_what_to_do(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status"]) == 0
    assert "no automations recorded yet" in capsys.readouterr().out
