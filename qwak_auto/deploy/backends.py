"""What a local backend is started with: the gunicorn command line of a process backend,
and the environment of a process or container backend (env_vars, the role's credentials)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from qwak_auto.deploy import processes
from qwak_auto.errors import DeployError

if TYPE_CHECKING:
    from qwak_auto.config import Config
    from qwak_auto.deploy.settings import ServeSettings, Target
    from qwak_auto.run.contracts import BuildResult


def server_env(
    environ: Mapping[str, str], settings: ServeSettings, target: Target, proxy_port: int
) -> dict[str, str]:
    # auto's own secrets never reach the model's process.
    env = {k: v for k, v in environ.items() if not k.startswith("AUTO_SECRET_")}
    env.update(settings.env_vars)
    env["PYTHONUNBUFFERED"] = "1"
    if settings.iam_role:
        from qwak_auto.deploy.iam import STATIC_KEYS

        env.update(role_env(environ, settings.iam_role, target, proxy_port))
        for key in STATIC_KEYS:
            env.pop(key, None)  # else the SDK would prefer auto's own credentials
    return env


def container_env(
    environ: Mapping[str, str], settings: ServeSettings, target: Target, proxy_port: int
) -> dict[str, str]:
    """What a serving container is given: its env_vars (and the role's credentials endpoint),
    never the deployer's own environment."""
    env = dict(settings.env_vars)
    env["PYTHONUNBUFFERED"] = "1"
    if settings.iam_role:
        env.update(role_env(environ, settings.iam_role, target, proxy_port))
    return env


def role_env(
    environ: Mapping[str, str], role: str, target: Target, proxy_port: int
) -> dict[str, str]:
    """custom_iam_role_arn: check now that the role can be assumed (a clear failure before
    anything starts), then let the proxy hand out (and renew) its credentials."""
    import secrets

    from qwak_auto.deploy.iam import assume, aws_settings, container_env
    from qwak_auto.secrets.redact import register

    session = f"auto-{target.model_id}-{target.variation}"
    assume(role, session, environ)
    token = secrets.token_urlsafe(32)
    register(token)
    try:
        status, _ = processes.http_json(
            proxy_port,
            "POST",
            "/-/auto/credentials",
            {"token": token, "role": role, "session": session, "environ": aws_settings(environ)},
        )
    except OSError as exc:
        raise DeployError(f"cannot hand the role to the proxy: {exc}") from None
    if status != 200:
        raise DeployError(f"the proxy refused the role {role} (HTTP {status})")
    return container_env(proxy_port, token)


def write_api_keys(
    settings: ServeSettings, directory: Path, config: Config, environ: Mapping[str, str]
) -> Path | None:
    """api_keys_secret: resolve the secret now and write its keys to ``directory/api_keys``
    (mode 600) for the server to read at start; the caller removes the file once the server
    answers. None when the deployment has no keys."""
    name = settings.api_keys_secret
    if not name:
        return None
    from qwak_auto.errors import AutoError
    from qwak_auto.secrets.redact import register_secret
    from qwak_auto.secrets.registry import resolver
    from qwak_auto.serve.auth import KeysError, parse_keys, write_keys

    try:
        value = resolver(config, environ)(name)
    except AutoError as exc:
        raise DeployError(f"api_keys_secret {name!r}: {exc.message}", exc.hint) from None
    try:
        keys = parse_keys(value)
    except KeysError as exc:
        raise DeployError(
            f"api_keys_secret {name!r}: {exc}",
            "store the served model's API keys in that secret, one key a line",
        ) from None
    for key in keys:
        register_secret(key)
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
        str(python),
        "-m",
        "qwak_auto.serve",
        "--artifact",
        str(build.artifact_dir),
        "--bind",
        f"{processes.HOST}:{port}",
        "--workers",
        str(settings.workers),
        "--timeout-ms",
        str(settings.timeout_ms),
        "--max-batch-size",
        str(settings.max_batch_size),
        "--model-id",
        target.model_id,
        "--variation",
        target.variation,
        "--build-id",
        build.build_id,
        "--environment",
        target.environment,
        "--predictions-dir",
        str(config.home / "predictions"),
        "--sample-rate",
        str(config.predictions_sample_rate),
        "--pid-file",
        str(directory / "gunicorn.pid"),
    ]
    if settings.daemon:
        argv.append("--daemon")
    if api_keys_file is not None:
        argv += ["--api-keys-file", str(api_keys_file)]
    return argv
