"""`auto validate PATH...`: check automation files (schema and semantic rules).

Exit 0 when clean (warnings allowed), 1 when problems were found (warnings too with
``--strict``), 2 for a usage error (a path that does not exist, an unknown option or format).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from qwak_auto.cli import app

if TYPE_CHECKING:
    from qwak_auto.automation.problems import Problem


@app.command("validate")
def validate_command(
    paths: list[str] = typer.Argument(
        ...,
        metavar="PATH",
        help="Automation files or folders (searched recursively); `-` reads stdin.",
    ),
    output_format: str = typer.Option(
        "text", "--format", help="Output as `text`, `json` or `github` (annotations)."
    ),
    strict: bool = typer.Option(False, "--strict", help="Count warnings as problems."),
    check_secrets: bool = typer.Option(
        False, "--check-secrets", help="Resolve every secret name through the backends."
    ),
    config_file: Path | None = typer.Option(
        None, "--config", help="Project config (auto.yaml); default: beside or above the files."
    ),
) -> None:
    """Check automation files: YAML, schema, and the rules the schema cannot say."""
    import os

    from qwak_auto.automation.problems import RENDERERS, counts
    from qwak_auto.automation.validate import validate_paths
    from qwak_auto.config import load_config
    from qwak_auto.errors import UsageError

    if output_format not in RENDERERS:
        raise UsageError(
            f"--format: {output_format!r} is not a format", "use one of: " + ", ".join(RENDERERS)
        )
    missing = [p for p in paths if p != "-" and not Path(p).exists()]
    if missing:
        raise UsageError(
            "no such file or folder: " + ", ".join(missing),
            "give automation files, folders, or `-` to read stdin",
        )
    files = tuple(Path(p) for p in paths if p != "-")
    config = load_config(files, env=os.environ, config_file=config_file)
    report = validate_paths(paths, config, check_secrets=check_secrets, environ=os.environ)
    _show(report.problems, report.files_checked, output_format)
    errors, _warnings = counts(report.problems, strict=strict)
    if errors:
        raise typer.Exit(1)


def _show(problems: Sequence[Problem], files_checked: int, output_format: str) -> None:
    from qwak_auto import console
    from qwak_auto.automation.problems import RENDERERS

    if output_format == "text" and problems and not console.is_plain():
        _show_rich(problems, files_checked)
        return
    console.out(RENDERERS[output_format](problems, files_checked))


def _show_rich(problems: Sequence[Problem], files_checked: int) -> None:
    import sys

    from rich.console import Console
    from rich.markup import escape

    from qwak_auto.automation.problems import Problem, Severity
    from qwak_auto.console import rich_file
    from qwak_auto.secrets.redact import redact

    console = Console(file=rich_file(sys.stdout), highlight=False, soft_wrap=True)
    for p in sorted(problems, key=Problem.sort_key):
        colour = "red" if p.severity is Severity.ERROR else "yellow"
        where = f" [bold]{escape(p.path)}[/]:" if p.path else ""
        console.print(
            f"[cyan]{escape(p.location)}[/]: [{colour}]{p.severity.value}[/]:{where} "
            f"{escape(redact(p.message))} [dim]\\[{escape(p.code)}][/]"
        )
        if p.hint:
            console.print(f"    [green]hint:[/] {escape(redact(p.hint))}")
    errors = sum(1 for p in problems if p.severity is Severity.ERROR)
    noun = "file" if files_checked == 1 else "files"
    console.print(
        f"{files_checked} {noun} checked: {errors} error(s), {len(problems) - errors} warning(s)"
    )
