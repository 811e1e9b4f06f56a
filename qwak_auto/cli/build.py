"""`auto build PATH --name NAME` and `auto logs BUILD_ID`."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from qwak_auto.cli import app

FORMATS = ("text", "json")


def _format(value: str) -> str:
    if value not in FORMATS:
        from qwak_auto.errors import UsageError

        raise UsageError(f"--format: {value!r} is not a format", "use `text` or `json`")
    return value


@app.command("build")
def build_command(
    paths: list[Path] = typer.Argument(..., help="Automation files or folders."),
    name: str = typer.Option(..., "--name", "-n", help="The automation whose model to build."),
    output: str = typer.Option("text", "--format", help="Output as `text` or `json`."),
) -> None:
    """Build one automation's model now (outside the scheduler) and record the build."""
    from qwak_auto import console
    from qwak_auto.builders.service import build_automation
    from qwak_auto.config import load_config
    from qwak_auto.errors import UsageError

    fmt = _format(output)
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(
            "no such file or folder: " + ", ".join(missing), "give automation files or folders"
        )
    config = load_config(tuple(paths), env=os.environ)
    result = build_automation(tuple(paths), name, config, os.environ)
    if fmt == "json":
        console.emit_json(
            {
                "build_id": result.build_id,
                "model_id": result.model_id,
                "status": "succeeded",
                "commit": result.commit,
                "builder": result.builder,
                "artifact": str(result.artifact_dir),
                "log": str(result.log_path),
                "metrics": dict(result.metrics),
                "params": dict(result.params),
            }
        )
        return
    console.out(f"build {result.build_id} succeeded ({result.builder}, commit {result.commit[:7]})")
    if result.metrics:
        rows = [(k, f"{v:.6g}") for k, v in sorted(result.metrics.items())]
        console.table("", ("metric", "value"), rows)
    console.out(f"artifact: {result.artifact_dir}")
    console.out(f"log: auto logs {result.build_id}")


@app.command("logs")
def logs_command(
    build_id: str = typer.Argument(..., help="A build id (see `auto build` or `auto history`)."),
) -> None:
    """Show the full log of a build, failed ones too (secrets redacted)."""
    import sys

    from qwak_auto.builders.service import build_log
    from qwak_auto.config import load_config
    from qwak_auto.secrets.redact import redact

    config = load_config((), env=os.environ)  # the auto.yaml here or above, AUTO_HOME
    path = build_log(config, build_id)
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            sys.stdout.write(redact(line))
    sys.stdout.flush()
