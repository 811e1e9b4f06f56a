"""The local deployer: gunicorn serving the model on 127.0.0.1, swapped without downtime.

Each (model, environment, variation) has one stable address, 127.0.0.1:PORT, allocated once
and remembered in the state store. A small proxy (deploy/proxy.py) listens there and forwards
to the backend serving now. A deploy starts the new build on a private port beside the old
one; once its ``/ready`` answers 200 (within ``deployment_process_timeout_limit``), the proxy
switches to it, the requests still in flight to the old backend finish, and the old backend
stops. If the new build crashes or is not ready in time, nothing is switched: the old build
keeps serving, the deployment is recorded failed with the reason, and DeployError is raised.

A build with an image and no interpreter here (the docker builder's) is served by a container
of that image instead of a gunicorn process (deploy/containers.py); the record's detail then
names the container (``container``, ``container_id``) where a process backend has ``pid``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qwak_auto import log
from qwak_auto.deploy import backends, containers, processes
from qwak_auto.deploy.settings import ServeSettings, Target, build_python, result_of
from qwak_auto.errors import DeployError
from qwak_auto.run.contracts import BuildResult, DeployOutcome
from qwak_auto.state.base import DeploymentRecord

if TYPE_CHECKING:
    from qwak_auto.config import Config, Environment
    from qwak_auto.run.contracts import RunContext
    from qwak_auto.state.base import StateStore

SCOPE = "deploy:local"  # state-store scope of the stable addresses


class LocalDeployer:
    name = "local"

    def deploy(
        self, build: BuildResult, environment: Environment, ctx: RunContext
    ) -> DeployOutcome:
        spec = ctx.automation.action.deployment_spec
        target = Target(
            model_id=build.model_id, environment=environment.name, variation=spec.variation_name
        )
        return deploy_build(
            build,
            target,
            ServeSettings.from_spec(spec),
            store=ctx.store,
            config=ctx.config,
            environ=ctx.environ or os.environ,
            automation=ctx.automation.name,
            run_id=ctx.run_id,
        )


def _now() -> datetime:
    return datetime.now(UTC)


def _stable_port(store: StateStore, target: Target) -> dict[str, Any]:
    value = store.get_value(SCOPE, target.key)
    if isinstance(value, dict) and isinstance(value.get("port"), int):
        return dict(value)
    value = {"port": processes.free_port(), "proxy_pid": None}
    store.set_value(SCOPE, target.key, value)
    return value


def ensure_proxy(
    store: StateStore, config: Config, target: Target, environ: Mapping[str, str]
) -> tuple[int, int]:
    """The stable address's proxy, started if it is not running: (port, pid)."""
    address = _stable_port(store, target)
    port = int(address["port"])
    state = processes.proxy_state(port)
    if state is not None:
        pid = int(state.get("pid") or 0)
    else:
        directory = config.home / "deployments" / "local" / target.slug
        env = {k: v for k, v in environ.items() if not k.startswith("AUTO_SECRET_")}
        pid = processes.start_proxy(port, directory, env)
    if address.get("proxy_pid") != pid:
        store.set_value(SCOPE, target.key, {**address, "proxy_pid": pid})
    return port, pid


def deploy_build(
    build: BuildResult,
    target: Target,
    settings: ServeSettings,
    *,
    store: StateStore,
    config: Config,
    environ: Mapping[str, str],
    automation: str = "",
    run_id: str = "",
    replaced_status: str = "retired",
) -> DeployOutcome:
    """Serve ``build`` at the target's stable address, replacing what serves there now."""
    in_container = containers.wanted(build)
    python = None if in_container else build_python(build)
    if not in_container and not (build.artifact_dir / "model.pkl").is_file():
        raise DeployError(f"build {build.build_id}: no model.pkl in {build.artifact_dir}")
    previous = store.serving(target.model_id, target.environment, target.variation)
    port, proxy_pid = ensure_proxy(store, config, target, environ)
    address = f"http://{processes.HOST}:{port}"
    deployment_id = f"dep-{uuid.uuid4().hex[:12]}"
    directory = config.home / "deployments" / deployment_id
    backend_port = processes.free_port()
    detail: dict[str, Any] = {
        "port": port,
        "proxy_pid": proxy_pid,
        "backend_port": backend_port,
        "artifact": str(build.artifact_dir),
        "log": str(directory / "serve.log"),
        "serve": settings.to_detail(),
        "commit": build.commit,
    }
    name = containers.container_name(target, build.build_id, deployment_id)
    if python is not None:
        detail["python"] = str(python)
    else:
        detail.update(image=build.image, container=name)
    record = DeploymentRecord(
        deployment_id=deployment_id,
        model_id=target.model_id,
        build_id=build.build_id,
        environment=target.environment,
        variation=target.variation,
        deployer="local",
        status="starting",
        created_at=_now(),
        address=address,
        automation=automation,
        run_id=run_id,
        detail=detail,
    )
    store.save_deployment(record)
    started: dict[str, Any] = {}
    keys_file: Path | None = None
    try:
        keys_file = backends.write_api_keys(settings, directory, config, environ)
        if python is None:
            container = containers.start(
                build,
                target,
                settings,
                config=config,
                environ=environ,
                env=backends.container_env(environ, settings, target, port),
                name=name,
                port=backend_port,
                directory=directory,
                api_keys_file=keys_file,
            )
            started = {"container_id": container.id, "network": container.network}
        else:
            argv = backends.serve_argv(
                python, build, target, settings, config, backend_port, directory, keys_file
            )
            backend = processes.start_backend(
                argv,
                port=backend_port,
                directory=directory,
                env=backends.server_env(environ, settings, target, port),
                daemon=settings.daemon,
                ready_timeout=settings.ready_timeout,
            )
            started = {"pid": backend.pid}
        processes.switch(port, f"{processes.HOST}:{backend_port}")
    except DeployError as exc:
        if python is None:
            containers.remove(name, environ, directory, grace=5)
        else:
            _stop_backend_on(backend_port, directory)
        reason = exc.message
        store.save_deployment(_with(record, status="failed", reason=reason))
        keeps = (
            f"build {previous.build_id} keeps serving at {address}"
            if previous
            else "nothing was serving there"
        )
        raise DeployError(
            f"deploying build {build.build_id} to {target.key} failed: {reason}",
            f"{keeps}. {exc.hint}".strip(),
        ) from None
    finally:
        if keys_file is not None:
            keys_file.unlink(missing_ok=True)  # the server read it at start
    serving = _with(record, status="serving", detail={**detail, **started})
    store.save_deployment(serving)
    _analytics("record_deployment", config, serving, deployed_at=serving.created_at)
    log.event(
        "deployed",
        model=target.model_id,
        build=build.build_id,
        address=address,
        environment=target.environment,
        variation=target.variation,
    )
    if previous is not None:
        retire(
            store,
            config,
            previous,
            status=replaced_status,
            port=port,
            settings=settings,
            environ=environ,
        )
    return DeployOutcome(
        environment=target.environment,
        variation=target.variation,
        deployment_id=deployment_id,
        address=address,
        status="serving",
    )


def _stop_backend_on(port: int, directory: Path) -> None:
    pid_file = directory / "gunicorn.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    processes.stop_pid(pid, grace=5)
    del port


def _with(record: DeploymentRecord, **changes: Any) -> DeploymentRecord:
    from dataclasses import replace

    return replace(record, **changes)


def retire(
    store: StateStore,
    config: Config,
    record: DeploymentRecord,
    *,
    status: str = "retired",
    port: int | None = None,
    settings: ServeSettings | None = None,
    reason: str = "",
    environ: Mapping[str, str] | None = None,
) -> DeploymentRecord:
    """Let the requests in flight to ``record``'s backend finish, stop it, record it."""
    detail = dict(record.detail)
    backend_port = detail.get("backend_port")
    if port is not None and backend_port:
        timeout = (settings.timeout_ms / 1000.0 if settings else 5.0) + 10.0
        if not processes.drain(port, f"{processes.HOST}:{backend_port}", timeout):
            log.event("old backend still busy; stopping it anyway", level="warning")
    if record.deployer == "local":
        serve = ServeSettings.from_detail(detail.get("serve") or {})
        grace = serve.timeout_ms / 1000.0 + 10.0
        if isinstance(detail.get("container"), str):
            log_file = detail.get("log")
            folder = Path(log_file).parent if isinstance(log_file, str) else None
            containers.remove(detail["container"], environ or os.environ, folder, grace=grace)
        else:
            processes.stop_pid(detail.get("pid"), grace=grace)
    retired = _with(record, status=status, retired_at=_now(), reason=reason or record.reason)
    store.save_deployment(retired)
    _analytics(
        "retire_deployment",
        config,
        retired,
        retired_at=retired.retired_at,
    )
    return retired


def _analytics(name: str, config: Config, record: DeploymentRecord, **times: Any) -> None:
    """Tell the analytics store (the gate's deployed-model comparisons read it). Optional:
    a failure here is logged, never a failed deploy."""
    try:
        from qwak_auto import analytics

        fn = getattr(analytics, name)
    except (ImportError, AttributeError):
        log.event(f"analytics.{name} is not available; not recorded", level="debug")
        return
    try:
        fn(
            config,
            model_id=record.model_id,
            build_id=record.build_id,
            variation=record.variation,
            environment=record.environment,
            **times,
        )
    except Exception as exc:  # noqa: BLE001 - analytics never fails a deploy
        log.event(f"could not record the deployment in analytics: {exc}", level="warning")


def _python_of(record: DeploymentRecord) -> Path | None:
    value = record.detail.get("python")
    return Path(value) if isinstance(value, str) else None


def rollback(
    store: StateStore, config: Config, target: Target, environ: Mapping[str, str]
) -> DeployOutcome:
    """Serve the build that served before the current one, the same zero-downtime way."""
    current = store.serving(target.model_id, target.environment, target.variation)
    candidates = store.deployments(
        target.model_id, target.environment, target.variation, status="retired", limit=50
    )
    previous = next(
        (d for d in candidates if current is None or d.build_id != current.build_id), None
    )
    if previous is None:
        raise DeployError(
            f"nothing to roll back to for {target.key}: no earlier deployment is recorded",
            "see the deployments with `auto status` / `auto history`",
        )
    record = store.build(previous.build_id)
    if record is not None:
        build = result_of(record, config.home)
    else:
        artifact = previous.detail.get("artifact")
        if not isinstance(artifact, str):
            raise DeployError(f"build {previous.build_id} is not recorded any more")
        build = BuildResult(
            build_id=previous.build_id,
            model_id=previous.model_id,
            commit=str(previous.detail.get("commit", "")),
            builder="",
            artifact_dir=Path(artifact),
            metrics={},
            params={},
            log_path=Path(artifact) / "build.log",
            image=previous.detail.get("image") or None,
        )
    if build.python is None:
        python = _python_of(previous)
        if python is not None:
            from dataclasses import replace

            build = replace(build, python=python)
    settings = ServeSettings.from_detail(previous.detail.get("serve") or {})
    return deploy_build(
        build,
        target,
        settings,
        store=store,
        config=config,
        environ=environ,
        automation=previous.automation,
        replaced_status="rolled_back",
    )


def undeploy(
    store: StateStore,
    config: Config,
    target: Target,
    environ: Mapping[str, str] | None = None,
) -> DeploymentRecord | None:
    """Stop the proxy and the backend of ``target``; the serving record becomes retired."""
    current = store.serving(target.model_id, target.environment, target.variation)
    address = store.get_value(SCOPE, target.key)
    if isinstance(address, dict) and address.get("port"):
        state = processes.proxy_state(int(address["port"]))
        pid = int(state["pid"]) if state and state.get("pid") else address.get("proxy_pid")
        processes.stop_pid(pid, grace=10)
    if current is None:
        return None
    return retire(store, config, current, reason="undeployed", environ=environ)
