"""The docker CLI as every part of auto calls it: its environment, and small image and
container operations (the docker builder, the local deployer's containers, `auto images`)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from qwak_auto import proc
from qwak_auto.errors import BuildError, ProcError

# Only these reach the docker CLI from our environment: where the engine is and how to talk
# to it. The CLI never sees the runner's secrets unless a `docker run -e NAME` needs one.
_DOCKER_PASS = (
    "PATH",
    "HOME",
    "DOCKER_HOST",
    "DOCKER_CONTEXT",
    "DOCKER_CONFIG",
    "DOCKER_TLS_VERIFY",
    "DOCKER_CERT_PATH",
    "DOCKER_API_VERSION",
    "TMPDIR",
)

DOCKER_SHORT = 60.0  # inspect, info, tag, rm


def docker_env(
    environ: Mapping[str, str], extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The docker CLI's environment: the engine's address, the legacy builder, and ``extra``
    (values that a ``-e NAME`` hands to a container, so they never appear on argv)."""
    env = {k: environ[k] for k in _DOCKER_PASS if k in environ}
    env.setdefault("PATH", os.defpath)
    env["DOCKER_BUILDKIT"] = "0"  # the legacy builder: there is no buildx everywhere
    env["DOCKER_CLI_HINTS"] = "false"
    if extra:
        env.update(extra)
    return env


def engine_version(environ: Mapping[str, str]) -> str:
    """The engine's version, or a BuildError that says the engine is not reachable."""
    try:
        result = proc.run(
            ["docker", "version", "--format", "{{.Server.Version}}"],
            timeout=DOCKER_SHORT,
            env=docker_env(environ),
        )
    except ProcError as exc:
        where = environ.get("DOCKER_HOST") or "the default socket"
        raise BuildError(
            f"the Docker engine is not reachable at {where}: {exc.message}",
            exc.hint if "not found" in exc.message else "start dockerd or set DOCKER_HOST",
        ) from None
    return result.stdout.strip()


def image_id(tag: str, environ: Mapping[str, str]) -> str | None:
    """The image's id, None when the engine has no such image."""
    result = _docker(["image", "inspect", "--format", "{{.Id}}", "--", tag], environ)
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def image_label(tag: str, label: str, environ: Mapping[str, str]) -> str:
    result = _docker(
        ["image", "inspect", "--format", f'{{{{index .Config.Labels "{label}"}}}}', tag], environ
    )
    value = result.stdout.strip()
    return "" if result.returncode != 0 or value == "<no value>" else value


def remove_image(tag: str, environ: Mapping[str, str]) -> None:
    _docker(["image", "rm", "--no-prune", tag], environ)


def remove_container(name: str, environ: Mapping[str, str]) -> None:
    _docker(["rm", "--force", "--volumes", name], environ)


def _docker(args: list[str], environ: Mapping[str, str]) -> proc.Result:
    """A short ``docker`` call whose exit status the caller judges."""
    return proc.run(["docker", *args], timeout=DOCKER_SHORT, env=docker_env(environ), check=False)
