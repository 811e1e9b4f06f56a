"""A local backend: the model server of one deployment, a gunicorn process in the build's
environment or a container of the build's image, with its credentials server when the
deployment has a ``custom_iam_role_arn``. Started, found again from its record, stopped."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qwak_auto.deploy import containers, credentials, processes
from qwak_auto.deploy.api_keys import resolve_keys
from qwak_auto.deploy.iam import STATIC_KEYS
from qwak_auto.deploy.settings import Launch, ServeSettings, build_python
from qwak_auto.secrets import held

if TYPE_CHECKING:
    from qwak_auto.config import Config
    from qwak_auto.deploy.settings import Target
    from qwak_auto.run.contracts import BuildResult


def server_env(environ: Mapping[str, str], settings: ServeSettings) -> dict[str, str]:
    """A process backend's environment: the runner's, without auto's own secrets (the
    ``env`` backend's values, the other backends' credentials) and without the runner's own
    AWS keys (a model that needs AWS is given a role: custom_iam_role_arn), with the
    deployment's env_vars."""
    env = {
        k: v
        for k, v in environ.items()
        if not k.startswith(held.PREFIX) and k not in held.CREDENTIALS and k not in STATIC_KEYS
    }
    env.update(settings.env_vars)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def container_env(settings: ServeSettings) -> dict[str, str]:
    """What a serving container is given: its env_vars, never the deployer's environment."""
    return {**settings.env_vars, "PYTHONUNBUFFERED": "1"}


def start(launch: Launch) -> dict[str, Any]:
    """Start the model server on 127.0.0.1:port and wait until it is ready; what was started,
    for the deployment record's detail. DeployError (with the server log's reason) on a
    crash or when it is not ready in time; nothing is left running then."""
    build, target, settings = launch.build, launch.target, launch.settings
    environ, directory, port = launch.environ, launch.directory, launch.port
    creds = None
    if settings.iam_role:
        session = f"auto-{target.model_id}-{target.variation}"
        creds = credentials.start(settings.iam_role, session, environ, directory)
    started: dict[str, Any] = {"credentials_pid": creds.pid} if creds else {}
    keys = None
    try:
        keys = write_api_keys(settings, directory, launch.config, environ)
        if containers.wanted(build):
            container = containers.start(
                launch,
                env=credentials.model_env(container_env(settings), creds),
                api_keys_file=keys,
            )
            started.update(container_id=container.id, network=container.network)
        else:
            python = build_python(build)
            argv = serve_argv(python, build, target, settings, launch.config, port, directory, keys)
            backend = processes.start_backend(
                argv, port=port, directory=directory,
                env=credentials.model_env(server_env(environ, settings), creds),
                daemon=settings.daemon, ready_timeout=settings.ready_timeout,
            )  # fmt: skip
            started["pid"] = backend.pid
    except BaseException:
        stop(started | {"container": launch.name}, environ, grace=5)
        raise
    finally:
        if keys is not None:
            keys.unlink(missing_ok=True)  # the server read it at start
    return started


def stop(detail: Mapping[str, Any], environ: Mapping[str, str] | None, grace: float) -> None:
    """Stop what a record's detail names: the container or the process, and the credentials
    server (gunicorn finishes the requests in flight first, within ``grace``)."""
    container = detail.get("container")
    if isinstance(container, str) and detail.get("container_id"):
        log_file = detail.get("log")
        folder = Path(log_file).parent if isinstance(log_file, str) else None
        containers.remove(container, environ or os.environ, folder, grace=grace)
    processes.stop_pid(detail.get("shadow_pid"), grace=5)
    processes.stop_pid(detail.get("pid"), grace=grace)
    processes.stop_pid(detail.get("credentials_pid"), grace=5)


def alive(detail: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> bool:
    container = detail.get("container")
    if isinstance(container, str) and detail.get("container_id"):
        running, _ = containers.state(container, environ or os.environ)
        return running in ("running", "unknown")
    pid = detail.get("pid")
    return isinstance(pid, int) and processes.alive(pid)


def write_api_keys(
    settings: ServeSettings, directory: Path, config: Config, environ: Mapping[str, str]
) -> Path | None:
    """api_keys_secret: resolve the secret now and write its keys to ``directory/api_keys``
    (mode 600) for the server to read at start; the caller removes the file once the server
    answers. None when the deployment has no keys."""
    name = settings.api_keys_secret
    if not name:
        return None
    from qwak_auto.secrets.registry import resolver
    from qwak_auto.serve.auth import write_keys

    keys = resolve_keys(name, resolver(config, environ))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory.resolve() / "api_keys"  # the server starts in another working directory
    path.unlink(missing_ok=True)
    write_keys(path, keys)
    return path


def serve_argv(
    python: Path,
    build: BuildResult,
    target: Target,
    settings: ServeSettings,
    config: Config,
    port: int,
    directory: Path,
    api_keys_file: Path | None = None,
) -> list[str]:
    argv = [
        str(python), "-m", "qwak_auto.serve",
        "--artifact", str(build.artifact_dir),
        "--bind", f"{processes.HOST}:{port}",
        "--workers", str(settings.workers),
        "--timeout-ms", str(settings.timeout_ms),
        "--max-batch-size", str(settings.max_batch_size),
        "--model-id", target.model_id,
        "--variation", target.variation,
        "--build-id", build.build_id,
        "--environment", target.environment,
        "--predictions-dir", str(config.home / "predictions"),
        "--sample-rate", str(config.predictions_sample_rate),
        "--pid-file", str(directory / "gunicorn.pid"),
    ]  # fmt: skip
    if settings.daemon:
        argv.append("--daemon")
    if api_keys_file is not None:
        argv += ["--api-keys-file", str(api_keys_file)]
    return argv
