"""`auto ui`: the read-only dashboard."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from qwak_auto.cli import app


@app.command("ui")
def ui_command(
    paths: list[Path] = typer.Argument(None, help="Automation files or folders to show."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8787, "--port", min=1, max=65535, help="Port to listen on."),
) -> None:
    """Serve a read-only dashboard: automations, runs with their builds, logs and deployments,
    each deployment's last hour of traffic, gated metrics."""
    from qwak_auto import console
    from qwak_auto.cli.options import private_home
    from qwak_auto.config import load_config
    from qwak_auto.errors import UsageError
    from qwak_auto.ui.app import Dashboard
    from qwak_auto.ui.server import serve

    chosen = list(paths or [])
    missing = [str(p) for p in chosen if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    config = load_config(tuple(chosen), env=os.environ)
    private_home(config.home)

    def banner() -> None:  # once it listens: a port in use is an error, not a banner
        console.out(f"auto ui: http://{host}:{port}/  (read-only; Ctrl-C stops it)", err=True)

    serve(Dashboard(chosen, config), host, port, on_ready=banner)
