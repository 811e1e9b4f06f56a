"""Each file of examples/invalid/ is refused with exactly the problem EXPECTED.json names:
its line, column, field path, rule code and a hint. A credential written into a file never
appears in any output format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from qwak_auto.cli import main

ROOT = Path(__file__).resolve().parents[2]
INVALID = ROOT / "examples" / "invalid"
CASES: dict[str, dict[str, Any]] = json.loads((INVALID / "EXPECTED.json").read_text())["cases"]
SECRETS = ("ghp_s3cr3tT0ken9999", "x-access-token", "XXXXsecretXXXX", "T000/B000")


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    rc = main(["validate", "--format", "json", *args])
    return rc, json.loads(capsys.readouterr().out)


def test_every_invalid_file_has_an_expectation() -> None:
    on_disk = {p.name for p in INVALID.glob("*.yaml")} | {
        p.name for p in INVALID.iterdir() if p.is_dir()
    }
    assert on_disk == set(CASES)
    assert len(CASES) >= 15


@pytest.mark.parametrize("name", sorted(CASES))
def test_invalid_example(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    expected = CASES[name]
    rc, report = run_json(capsys, str(INVALID / name))
    assert rc == 1
    problems = report["problems"]
    assert len(problems) == 1, problems
    problem = problems[0]
    assert Path(problem["file"]).name == expected.get("file", name)
    got = {key: problem[key] for key in ("line", "column", "path", "code")}
    assert got == {key: expected[key] for key in ("line", "column", "path", "code")}
    assert expected["hint"] in problem["hint"]
    assert problem["severity"] == "error"
    if "message" in expected:
        assert expected["message"] in problem["message"]


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_credentials_never_printed(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    files = [
        str(INVALID / "git-uri-credentials.yaml"),
        str(INVALID / "slack-webhook-plaintext.yaml"),
        str(INVALID / "secret-header-value.yaml"),
    ]
    rc = main(["validate", "--check-secrets", "--format", fmt, *files])
    out, err = capsys.readouterr()
    assert rc == 1
    assert "***" in out
    for secret in SECRETS:
        assert secret not in out + err


def test_whole_folder_reports_every_file(capsys: pytest.CaptureFixture[str]) -> None:
    rc, report = run_json(capsys, str(INVALID))
    assert rc == 1
    files = {Path(p["file"]).name for p in report["problems"]}
    # every file of the folder is reported, even after others failed
    assert {n for n in CASES if n.endswith(".yaml")} <= files
    assert report["files_checked"] == len(CASES) - 1 + 2
