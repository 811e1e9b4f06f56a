"""`auto import-qwak`: port Qwak automation files (read as Python syntax, never executed)."""

from __future__ import annotations

from pathlib import Path

import typer

from qwak_auto.cli import app
from qwak_auto.cli.options import PROBLEM_FORMAT, ProblemFormat


@app.command("import-qwak")
def import_qwak_command(
    paths: list[Path] = typer.Argument(..., help="Qwak automation .py files or folders."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write one YAML file per automation here (default: stdout)."
    ),
    output_format: ProblemFormat = PROBLEM_FORMAT,
) -> None:
    """Convert Qwak `Automation(...)` definitions into automation YAML files.

    Exit 0 when every automation was written, 1 when any could not be converted.
    """
    from qwak_auto import console
    from qwak_auto.automation.problems import RENDERERS
    from qwak_auto.errors import UsageError
    from qwak_auto.qwak_import.service import import_qwak

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    result = import_qwak(paths, output)
    if output is None:
        for index, item in enumerate(result.written):
            if index:
                console.out("---")
            console.out(item.text.rstrip("\n"))
    else:
        for item in result.written:
            console.out(
                f"wrote {item.path}  ({item.name}, from {item.source}:{item.line})", err=True
            )
    for notice in result.secrets:
        console.out(
            f"notice: {notice.what} at {notice.path} (line {notice.line}) is now the secret name "
            f"`{notice.name}`; store the value under that name, e.g. in the environment as "
            f"AUTO_SECRET_{notice.name.upper().replace('.', '_').replace('-', '_')}"
            " or with your secret backend",
            err=True,
        )
    for suggestion in result.suggestions:
        console.out(f"notice: {suggestion}", err=True)
    if result.problems:
        console.out(RENDERERS[output_format](result.problems, len(paths)).rstrip("\n"), err=True)
    if result.failed:
        console.out(f"not converted: {', '.join(result.failed)}", err=True)
        raise typer.Exit(1)
