"""`auto render`: the Kubernetes manifests a deployment would apply, for GitOps repositories;
with ``--build AUTOMATION`` the objects of that automation's build (``builder: kubernetes``);
with ``--runner`` the CronJob that runs auto itself."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from qwak_auto.cli import app
from qwak_auto.cli.options import project_config

if TYPE_CHECKING:
    from qwak_auto.config import Config


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
    build: str | None = typer.Option(
        None,
        "--build",
        metavar="AUTOMATION",
        help="Render the Job (and ServiceAccount) of this automation's build on Kubernetes.",
    ),
    namespace: str = typer.Option("default", "--namespace", help="Namespace (with --runner)."),
    schedule: str = typer.Option("*/5 * * * *", "--schedule", help="Cron (with --runner)."),
    image: str | None = typer.Option(
        None,
        "--image",
        help="Image to use: overrides the build's; with --runner, the image of auto itself "
        "(default: runner_image in auto.yaml, AUTO_RUNNER_IMAGE, else what `make image` tags).",
    ),
) -> None:
    """Print the manifests (multi-document YAML) for `kubectl apply -f -` or a GitOps repo."""
    from qwak_auto import console
    from qwak_auto.deploy.manifests import to_yaml
    from qwak_auto.deploy.render import render_paths

    if runner:
        _render_runner(tuple(paths or ()), namespace, schedule, image)
        return
    from qwak_auto.errors import UsageError

    if not paths:
        raise UsageError(
            "auto render needs automation files (or --runner)",
            "e.g. `auto render automations/ --env prod`",
        )
    config = project_config(tuple(paths))
    if build is not None:
        _render_build(paths, config, build)
        return
    result = render_paths(paths, config, env=env, build_id=build_id, image=image)
    for note in result.notes:
        console.out(f"note: {note}", err=True)
    if result.objects:
        console.out(to_yaml(result.objects).rstrip("\n"))
    if result.problems:
        from qwak_auto.automation.problems import render_text

        console.out(render_text(result.problems, len(paths)).rstrip("\n"), err=True)
        raise typer.Exit(1)


def _render_runner(
    paths: tuple[Path, ...], namespace: str, schedule: str, image: str | None
) -> None:
    import os

    from qwak_auto import console
    from qwak_auto.config import load_config
    from qwak_auto.deploy.manifests import to_yaml
    from qwak_auto.deploy.runner_manifest import DEFAULT_IMAGE, render_runner

    chosen = image or load_config(paths, env=os.environ).runner_image
    if not chosen:
        console.out(
            f"note: the CronJob runs the image {DEFAULT_IMAGE}: build and push it "
            "(`make image IMAGE=…`, docs/running-at-scale.md), then name it with "
            "runner_image in auto.yaml or --image",
            err=True,
        )
    objects = render_runner(namespace=namespace, schedule=schedule, image=chosen or DEFAULT_IMAGE)
    console.out(to_yaml(objects).rstrip("\n"))


def _render_build(paths: list[Path], config: Config, name: str) -> None:
    import os

    from qwak_auto import console
    from qwak_auto.automation.validate import load_automations
    from qwak_auto.builders.kubernetes_plan import render_build
    from qwak_auto.deploy.manifests import to_yaml
    from qwak_auto.errors import UsageError

    automations, problems = load_automations(paths, config)
    chosen = next((a for a in automations if a.name == name), None)
    if chosen is None:
        names = ", ".join(sorted(a.name for a in automations)) or "none"
        hint = f"valid automations here: {names}"
        if any(p.severity.value == "error" for p in problems):
            hint += "; `auto validate` shows the files with errors"
        raise UsageError(f"--build: no valid automation named {name!r} here", hint)
    objects, notes = render_build(chosen, config, os.environ)
    for note in notes:
        console.out(f"note: {note}", err=True)
    console.out(to_yaml(objects).rstrip("\n"))
