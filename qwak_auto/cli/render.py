"""`auto render`: the Kubernetes manifests a deployment would apply, for GitOps repositories."""

from __future__ import annotations

from pathlib import Path

import typer

from qwak_auto.cli import app
from qwak_auto.cli.options import project_config


@app.command("render")
def render_command(
    paths: list[Path] = typer.Argument(None, help="Automation files or folders."),
    env: str | None = typer.Option(None, "--env", help="Only this environment."),
    build_id: str | None = typer.Option(
        None, "--build-id", help="Render this build (default: the newest built image)."
    ),
    runner: bool = typer.Option(
        False, "--runner", help="Render the CronJob that runs `auto run --once` instead."
    ),
    namespace: str = typer.Option("default", "--namespace", help="Namespace (with --runner)."),
    schedule: str = typer.Option("*/5 * * * *", "--schedule", help="Cron (with --runner)."),
    image: str | None = typer.Option(None, "--image", help="Image to use (overrides the build's)."),
) -> None:
    """Print the manifests (multi-document YAML) for `kubectl apply -f -` or a GitOps repo."""
    from qwak_auto import console
    from qwak_auto.deploy.manifests import to_yaml
    from qwak_auto.deploy.render import render_paths
    from qwak_auto.deploy.runner_manifest import render_runner

    if runner:
        kwargs = {"namespace": namespace, "schedule": schedule}
        objects = render_runner(**kwargs) if image is None else render_runner(image=image, **kwargs)
        console.out(to_yaml(objects).rstrip("\n"))
        return
    from qwak_auto.errors import UsageError

    if not paths:
        raise UsageError(
            "auto render needs automation files (or --runner)",
            "e.g. `auto render automations/ --env prod`",
        )
    config = project_config(tuple(paths))
    result = render_paths(paths, config, env=env, build_id=build_id, image=image)
    for note in result.notes:
        console.out(f"note: {note}", err=True)
    if result.objects:
        console.out(to_yaml(result.objects).rstrip("\n"))
    if result.problems:
        from qwak_auto.automation.problems import render_text

        console.out(render_text(result.problems, len(paths)).rstrip("\n"), err=True)
        raise typer.Exit(1)
