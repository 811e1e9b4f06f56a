"""`auto secrets list-backends`, `auto secrets check NAME` and `auto metrics`."""

from __future__ import annotations

from pathlib import Path

import typer

from qwak_auto.cli import app, command_group
from qwak_auto.cli.options import CONFIG, FORMAT, Format, project_config

secrets_app = command_group(
    "secrets", "Secret backends: which exist, and which one resolves a name."
)


@secrets_app.command("list-backends")
def list_backends_command(
    config_file: Path | None = CONFIG,
    output_format: Format = FORMAT,
) -> None:
    """List the secret backends (built-in and plugins) and the configured chain."""
    from qwak_auto import console
    from qwak_auto.secrets.service import backends_report

    config = project_config(config_file=config_file)
    report = backends_report(config)
    if output_format == "json":
        console.emit_json(report)
        return
    rows = [
        (
            b["name"],
            str(b["position"]) if b["position"] else "-",
            b["origin"],
            b["description"],
        )
        for b in report["backends"]
    ]
    console.table("secret backends", ("NAME", "CHAIN", "ORIGIN", "DESCRIPTION"), rows)
    console.out(f"chain: {' → '.join(report['chain']) or '(empty)'}  (from {report['source']})")
    for failure in report["failures"]:
        console.out(
            f"warning: plugin {failure['name']!r} from {failure['distribution']} "
            f"failed to load: {failure['error']}",
            err=True,
        )


@secrets_app.command("check")
def check_command(
    name: str = typer.Argument(..., help="The secret NAME, as written in automation files."),
    config_file: Path | None = CONFIG,
    output_format: Format = FORMAT,
) -> None:
    """Say which backend resolves NAME (the value is never printed). Exit 1 when none does."""
    from qwak_auto import console
    from qwak_auto.secrets.service import check_secret

    config = project_config(config_file=config_file)
    report = check_secret(name, config)
    if output_format == "json":
        console.emit_json(report)
    elif report["resolved"]:
        console.out(f"{name}: resolved by backend `{report['backend']}`")
        for backend, error in report["errors"].items():
            console.out(f"warning: backend `{backend}` failed before it: {error}", err=True)
    else:
        console.out(f"{name}: not found (tried: {', '.join(report['tried']) or 'nothing'})")
        for backend, error in report["errors"].items():
            console.out(f"  {backend}: {error}")
        if report["hint"]:
            console.out(f"  hint: {report['hint']}")
    if not report["resolved"]:
        raise typer.Exit(1)


@app.command("metrics")
def metrics_command(
    paths: list[Path] = typer.Argument(
        None, help="Automation files or folders (only to find auto.yaml; default: here)."
    ),
    textfile: Path | None = typer.Option(
        None,
        "--textfile",
        help="Write to this file atomically (node-exporter textfile collector) instead of stdout.",
    ),
    config_file: Path | None = CONFIG,
) -> None:
    """Write Prometheus metrics about automations, runs, builds and deployments."""
    from qwak_auto import console
    from qwak_auto.views.prometheus import render, write_textfile

    config = project_config(tuple(paths or ()), config_file)
    text = render(config)
    if textfile is None:
        console.out(text.rstrip("\n"))
        return
    write_textfile(textfile, text)
    console.out(f"wrote {textfile}", err=True)
