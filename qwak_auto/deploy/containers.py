"""Container backends of the local deployer: a docker build served by its own image.

A build made by the ``docker`` builder has no interpreter on this host (BuildResult.python is
None); its serving image ``auto/<model_id>:<build_id>`` has everything. The local deployer then
starts the backend as a container instead of a gunicorn process, and everything else (the
stable-address proxy, readiness, switch, drain, stop, the records) stays the same::

    docker run -d --pull never --name auto-<model>-<variation>-<env>-<build>-<deployment>
        --user UID:GID --cpus C --memory M [--gpus N] -e NAME ... (values in the CLI's env)
        --mount type=bind,source=<home>/predictions,target=/var/lib/auto/predictions
        <network> --entrypoint python IMAGE -m qwak_auto.serve --artifact /opt/model --bind ... \
        --predictions-dir /var/lib/auto/predictions ...

The name ends with the deployment's id so the same build can be deployed beside itself.
The prediction log directory is bind-mounted read-write and the server runs as this user, so
its segments land in ``<home>/predictions`` owned by us and the gate sees production data.

Networking (the private port on 127.0.0.1 that the proxy forwards to), chosen per engine:

1. the engine has its default ``bridge`` network: ``-p 127.0.0.1:PORT:8080``;
2. it has none (``dockerd --bridge=none``, as in CI and the tests): a user-defined bridge
   network ``auto-serve`` (made once, labelled ``io.qwak-auto=serve``) with the same ``-p``;
   docker's userland proxy publishes the port even with ``--iptables=false``. This is what
   runs on the test engine;
3. when that network cannot be made either (no CAP_NET_ADMIN), or the deployment has a
   ``custom_iam_role_arn`` (its credentials endpoint is the proxy on the host's 127.0.0.1):
   ``--network host`` and the server binds 127.0.0.1:PORT itself.

``daemon_mode`` changes nothing for a container: it is detached anyway (``docker run -d``) and
found again by its name. Stopping is ``docker stop -t <grace>`` (SIGTERM: gunicorn finishes
the requests in flight), then ``docker logs`` into the deployment's ``serve.log``, then
``docker rm``.

Every docker call goes through :mod:`qwak_auto.proc` with a timeout; the docker CLI gets only
the engine's address and the values of the ``-e NAME`` variables
(:func:`qwak_auto.platform.docker.docker_env`).
GPU resources become ``--gpus N`` (the NVIDIA container toolkit on the engine's host; not
exercised by the tests: there is no GPU here).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qwak_auto import proc
from qwak_auto.deploy import processes
from qwak_auto.errors import AutoError, DeployError, ProcError
from qwak_auto.platform.docker import docker_env

if TYPE_CHECKING:
    from qwak_auto.config import Config
    from qwak_auto.deploy.settings import Launch, ServeSettings, Target
    from qwak_auto.run.contracts import BuildResult

NETWORK = "auto-serve"
SERVE_PORT = 8080  # the port the serving image listens on (build/dockerfile.py)
PREDICTIONS = "/var/lib/auto/predictions"  # where the server writes the prediction log
API_KEYS = "/run/auto/api_keys"  # api_keys_secret's keys, read once by the server at start
SHORT = 60.0  # inspect, logs, rm, network
RUN_TIMEOUT = 300.0  # docker run -d (the image is local; vfs copies it, which takes a while)
_BAD = re.compile(r"[^a-zA-Z0-9_.-]+")
_CLI_NAMES = frozenset({"PATH", "HOME", "TMPDIR"})


def wanted(build: BuildResult) -> bool:
    """Serve ``build`` from its image: it has one and no interpreter here (or docker built it;
    a recorded docker build may name the interpreter inside its image)."""
    return bool(build.image) and (build.python is None or build.builder == "docker")


def _env(environ: Mapping[str, str], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return docker_env(environ, extra)


def _docker(
    argv: list[str],
    environ: Mapping[str, str],
    *,
    timeout: float = SHORT,
    check: bool = False,
    extra: Mapping[str, str] | None = None,
) -> proc.Result:
    return proc.run(["docker", *argv], timeout=timeout, env=_env(environ, extra), check=check)


def container_name(target: Target, build_id: str, deployment_id: str) -> str:
    parts = [
        "auto",
        target.model_id,
        target.variation,
        target.environment or "default",
        _short(build_id, target.model_id),
        deployment_id.removeprefix("dep-")[:6],
    ]
    return _BAD.sub("-", "-".join(parts)).lower()[:120]


def _short(build_id: str, model_id: str) -> str:
    """The build id without its model prefix (``churn-20261125124826-6d6d213`` -> the rest)."""
    prefix = f"{model_id}-".lower()
    short = build_id[len(prefix) :] if build_id.lower().startswith(prefix) else build_id
    return short[-24:]


def network(environ: Mapping[str, str], *, host_only: bool = False) -> str:
    """The network a serving container joins: ``bridge``, ``auto-serve`` or ``host``."""
    if host_only:
        return "host"
    if _docker(["network", "inspect", "bridge"], environ).returncode == 0:
        return "bridge"
    if _docker(["network", "inspect", NETWORK], environ).returncode == 0:
        return NETWORK
    made = _docker(
        ["network", "create", "--driver", "bridge", "--label", "io.qwak-auto=serve", NETWORK],
        environ,
    )
    if made.returncode == 0 or _docker(["network", "inspect", NETWORK], environ).returncode == 0:
        return NETWORK  # made here, or by a deploy running at the same time
    return "host"


def resource_flags(settings: ServeSettings) -> list[str]:
    """``--cpus`` (capped at this host's cores), ``--memory``, ``--gpus``."""
    from qwak_auto.automation.units import memory_bytes

    flags: list[str] = []
    cpus = min(float(settings.cpu_fraction), float(os.cpu_count() or 1))
    if cpus > 0:
        flags += ["--cpus", f"{cpus:g}"]
    size = memory_bytes(settings.memory) if settings.memory else None
    if size:
        flags += ["--memory", str(size)]
    if settings.gpus > 0:
        flags += ["--gpus", str(settings.gpus)]
    return flags


@dataclass(frozen=True, slots=True)
class Container:
    name: str
    id: str
    port: int
    network: str


def run_argv(
    build: BuildResult,
    target: Target,
    settings: ServeSettings,
    *,
    config: Config,
    name: str,
    port: int,
    net: str,
    env_names: list[str],
    api_keys_file: Path | None = None,
) -> list[str]:
    """The ``docker run`` arguments (without the leading ``docker``)."""
    # --pull never: the image is the build's, made in this engine; never fetch a stranger's.
    argv = ["run", "-d", "--pull", "never", "--name", name, "--label", "io.qwak-auto=serving"]
    argv += ["--label", f"io.qwak-auto.build-id={build.build_id}"]
    if net == "host":
        argv += ["--network", "host"]
        bind = f"{processes.HOST}:{port}"
    else:
        argv += ["--network", net, "-p", f"{processes.HOST}:{port}:{SERVE_PORT}"]
        bind = f"0.0.0.0:{SERVE_PORT}"
    argv += ["--user", f"{os.getuid()}:{os.getgid()}", "-e", "HOME=/tmp"]
    argv += resource_flags(settings)
    for env_name in env_names:
        argv += ["-e", env_name]
    predictions = config.home / "predictions"
    argv += ["--mount", f"type=bind,source={predictions.resolve()},target={PREDICTIONS}"]
    if api_keys_file is not None:
        source = api_keys_file.resolve()
        argv += ["--mount", f"type=bind,source={source},target={API_KEYS},readonly"]
    # --entrypoint: the image's own may be a shell (docker 20.10 keeps the dependency step's
    # `/bin/sh` through `docker commit --change "ENTRYPOINT []"`).
    argv += ["--entrypoint", "python", str(build.image)]
    argv += ["-m", "qwak_auto.serve", "--artifact", "/opt/model"]
    argv += ["--bind", bind, "--workers", str(settings.workers)]
    argv += ["--timeout-ms", str(settings.timeout_ms)]
    argv += ["--max-batch-size", str(settings.max_batch_size)]
    argv += ["--model-id", target.model_id, "--variation", target.variation]
    argv += ["--build-id", build.build_id, "--environment", target.environment]
    argv += ["--predictions-dir", PREDICTIONS]
    argv += ["--sample-rate", str(config.predictions_sample_rate)]
    if api_keys_file is not None:
        argv += ["--api-keys-file", API_KEYS]
    return argv


def start(
    launch: Launch, *, env: Mapping[str, str], api_keys_file: Path | None = None
) -> Container:
    """Start the serving container and wait until its ``/ready`` answers 200 on
    127.0.0.1:port. On a crash or timeout the container is removed (its log kept in
    ``directory/serve.log``) and DeployError carries the reason."""
    build, settings, config = launch.build, launch.settings, launch.config
    environ, directory, name, port = launch.environ, launch.directory, launch.name, launch.port
    directory.mkdir(parents=True, exist_ok=True)
    (config.home / "predictions").mkdir(parents=True, exist_ok=True)
    # The role's credentials endpoint is the proxy on the host's loopback: host network.
    net = network(environ, host_only=bool(settings.iam_role))
    # Values reach the container through the docker CLI's environment (-e NAME), except for
    # names the CLI reads itself: those (plain env_vars, never credentials) go on argv.
    by_name = {k: v for k, v in env.items() if k not in _CLI_NAMES and not k.startswith("DOCKER_")}
    on_argv = [f"{k}={v}" for k, v in env.items() if k not in by_name]
    argv = run_argv(
        build, launch.target, settings, config=config, name=name, port=port, net=net,
        env_names=[*sorted(by_name), *on_argv], api_keys_file=api_keys_file,
    )  # fmt: skip
    _docker(["rm", "--force", name], environ)  # a leftover of a crashed deploy
    try:
        done = _docker(argv, environ, timeout=RUN_TIMEOUT, check=True, extra=by_name)
    except ProcError as exc:
        _docker(["rm", "--force", name], environ)
        raise DeployError(
            f"docker run of {build.image} failed: {exc.message}",
            "is the image in this engine (`docker image ls auto/*`) and DOCKER_HOST right?",
        ) from None
    container = Container(name=name, id=done.stdout.strip()[:64], port=port, network=net)
    _wait_ready(container, environ, directory, settings.ready_timeout)
    return container


def _wait_ready(
    container: Container, environ: Mapping[str, str], directory: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    checked = 0.0
    while True:
        if time.monotonic() - checked > 1.0:  # docker inspect costs more than an HTTP probe
            checked = time.monotonic()
            status, code = state(container.name, environ)
            if status != "running":
                log = save_log(container.name, environ, directory)
                remove(container.name, environ, directory, grace=0)
                raise DeployError(
                    f"the model server container exited before it was ready "
                    f"(status {code}): {processes._why(processes.log_tail(log, 200_000))}",
                    f"its log: {log}\n{processes.log_tail(log)}",
                )
        if _ready(container.port):
            return
        if time.monotonic() > deadline:
            log = save_log(container.name, environ, directory)
            remove(container.name, environ, directory, grace=5)
            raise DeployError(
                f"the model server container was not ready within {timeout:g}s "
                "(deployment_process_timeout_limit)",
                f"its log: {log}\n{processes.log_tail(log)}",
            )
        time.sleep(0.1)


def _ready(port: int) -> bool:
    try:
        status, _ = processes.http_json(port, "GET", "/ready", timeout=2.0)
    except OSError:
        return False
    return status == 200


def state(name: str, environ: Mapping[str, str]) -> tuple[str, str]:
    """(status, exit code) of a container; ("missing", "") when the engine has none."""
    try:
        done = _docker(
            ["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name], environ
        )
    except AutoError:
        return "unknown", ""
    if done.returncode != 0:
        return "missing", ""
    status, _, code = done.stdout.strip().partition(" ")
    return status, code


def save_log(name: str, environ: Mapping[str, str], directory: Path) -> Path:
    """The container's output into ``directory/serve.log`` (before it is removed)."""
    log = directory / "serve.log"
    with contextlib.suppress(AutoError, OSError):
        done = _docker(["logs", "--tail", "2000", name], environ)
        log.write_text(done.stdout + done.stderr, encoding="utf-8")
    return log


def remove(name: str, environ: Mapping[str, str], directory: Path | None, grace: float) -> bool:
    """``docker stop -t grace`` (gunicorn finishes the requests in flight), keep its log,
    ``docker rm``. False when there was no such container."""
    try:
        stopped = _docker(["stop", "-t", str(int(grace)), name], environ, timeout=grace + SHORT)
        if stopped.returncode != 0 and state(name, environ)[0] == "missing":
            return False
        if directory is not None:
            save_log(name, environ, directory)
        _docker(["rm", "--force", name], environ)
    except AutoError as exc:
        from qwak_auto import log

        log.event(f"could not remove the container {name}: {exc.message}", level="warning")
    return True
