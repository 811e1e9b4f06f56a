"""`auto deploy`, `auto rollback`, `auto undeploy`: the local deployer by hand.

(`auto render`, the Kubernetes manifests, lives in cli/render.py.)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from qwak_auto.cli import app
from qwak_auto.cli.options import CONFIG, FORMAT, Format, project_config, store_for

if TYPE_CHECKING:
    from qwak_auto.run.contracts import DeployOutcome

ENV = typer.Option(
    None, "--env", help="Environment from auto.yaml (default: the project's default environment)."
)
VARIATION = typer.Option("default", "--variation", help="The variation (A/B variant).")


def _show(outcome: DeployOutcome, output_format: Format, verb: str) -> None:
    from qwak_auto import console

    data: dict[str, Any] = {
        "deployment_id": outcome.deployment_id,
        "environment": outcome.environment,
        "variation": outcome.variation,
        "address": outcome.address,
        "status": outcome.status,
    }
    if output_format == "json":
        console.emit_json(data)
        return
    console.out(
        f"{verb}: {outcome.deployment_id} serving at {outcome.address} "
        f"(environment {outcome.environment or 'default'}, variation {outcome.variation})"
    )


@app.command("deploy")
def deploy_command(
    build_id: str = typer.Argument(..., help="The recorded build to serve."),
    env: str | None = ENV,
    variation: str = VARIATION,
    workers: int | None = typer.Option(None, "--workers", min=1, help="HTTP server workers."),
    timeout_ms: int | None = typer.Option(None, "--timeout-ms", min=1, help="Request timeout."),
    max_batch_size: int | None = typer.Option(
        None, "--max-batch-size", min=1, help="Rows per request (more: 413)."
    ),
    config_file: Path | None = CONFIG,
    output_format: Format = FORMAT,
) -> None:
    """Serve a built model at its stable local address, replacing the build serving there
    without dropping requests. Exit 1 when the new build does not become ready (the previous
    one keeps serving)."""
    from qwak_auto.run.deployments import deploy_recorded_build

    config = project_config(config_file=config_file)
    with store_for(config) as store:
        outcome = deploy_recorded_build(
            config,
            store,
            os.environ,
            build_id,
            env=env,
            variation=variation,
            overrides={
                "workers": workers,
                "timeout_ms": timeout_ms,
                "max_batch_size": max_batch_size,
            },
        )
    _show(outcome, output_format, "deployed")


@app.command("rollback")
def rollback_command(
    name: str = typer.Argument(..., help="Automation name or model id."),
    env: str | None = ENV,
    variation: str = VARIATION,
    config_file: Path | None = CONFIG,
    output_format: Format = FORMAT,
) -> None:
    """Put the previously serving build back, the same zero-downtime way."""
    from qwak_auto.run.deployments import local_target, rollback_model

    config = project_config(config_file=config_file)
    with store_for(config) as store:
        target = local_target(config, store, name, env, variation)
        outcome = rollback_model(config, store, os.environ, target)
    _show(outcome, output_format, "rolled back")


@app.command("undeploy")
def undeploy_command(
    model: str = typer.Argument(..., help="Model id (or automation name)."),
    env: str | None = ENV,
    variation: str = VARIATION,
    config_file: Path | None = CONFIG,
    output_format: Format = FORMAT,
) -> None:
    """Stop serving a model locally (its proxy and its model server)."""
    from qwak_auto import console
    from qwak_auto.run.deployments import local_target, undeploy_model

    config = project_config(config_file=config_file)
    with store_for(config) as store:
        target = local_target(config, store, model, env, variation)
        record = undeploy_model(config, store, target)
    data = {"model": model, "stopped": record.deployment_id if record else None}
    if output_format == "json":
        console.emit_json(data)
    elif record is None:
        console.out(f"nothing was serving {model}; its proxy (if any) is stopped")
    else:
        console.out(f"undeployed: {record.deployment_id} (build {record.build_id}) stopped")
