from __future__ import annotations

from pathlib import Path

from qwak_auto.docgen.cli_ref import render_cli_reference

ROOT = Path(__file__).parents[2]


def test_cli_reference_is_current():
    committed = (ROOT / "docs" / "reference" / "cli.md").read_text(encoding="utf-8")
    assert committed == render_cli_reference(), (
        "docs/reference/cli.md is stale: run `make docs` and commit the result"
    )


def test_every_command_is_documented():
    text = render_cli_reference()
    for command in ("auto validate", "auto run", "auto import-qwak", "auto render", "auto ui"):
        assert f"## `{command}`" in text
