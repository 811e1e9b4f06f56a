"""The local deployer: model servers on 127.0.0.1 behind one Caddy, and only a good build
takes traffic.

Each (model, environment, variation) has a stable address, and each (model, environment) a
default address that splits between its variations (:mod:`qwak_auto.deploy.sites`, served
by :mod:`qwak_auto.deploy.traffic`). A deploy starts the new build on a private port beside
the old one and waits until it is ready (``deployment_process_timeout_limit``); then it must
answer the smoke requests (:mod:`qwak_auto.deploy.smoke`) before it takes any traffic; then
it takes its variation's traffic, at once or by canary steps, watched
(:mod:`qwak_auto.deploy.rollout`). Only then is it recorded ``serving``: the build that
served before finishes the requests in flight and stops. If anything fails on the way, the
old build keeps (or is given back) all of the traffic, the new one is stopped, and the
deployment is recorded ``failed`` or ``rolled_back`` with the reason.

A build with an image and no interpreter here (the docker builder's) is served by a container
of that image (deploy/containers.py); everything else is the same.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qwak_auto import log
from qwak_auto.automation.rollout import SMOKE_ONLY, Rollout
from qwak_auto.deploy import backends, containers, processes, shadow, smoke, traffic
from qwak_auto.deploy.rollout import SETTLE, Cancelled, take_traffic
from qwak_auto.deploy.settings import Launch, ServeSettings, Target, result_of
from qwak_auto.deploy.sites import Backend, Sites
from qwak_auto.errors import DeployError, RolledBack
from qwak_auto.run.contracts import BuildResult, DeployOutcome
from qwak_auto.state.base import DeploymentRecord

if TYPE_CHECKING:
    from qwak_auto.config import Config, Environment
    from qwak_auto.run.contracts import RunContext
    from qwak_auto.state.base import StateStore

UNFINISHED = ("starting", "canary", "baking")  # a deployment a dead runner may have left
DRAIN_MARGIN = 10.0  # seconds beyond the request timeout to let the old build finish


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
            rollout=spec.rollout or SMOKE_ONLY,
            cancelled=ctx.cancelled,
        )


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
    rollout: Rollout = SMOKE_ONLY,
    replaced_status: str = "retired",
    cancelled: Cancelled = lambda: False,
) -> DeployOutcome:
    """Serve ``build`` at the target's stable address (see the module docstring)."""
    if not containers.wanted(build) and not (build.artifact_dir / "model.pkl").is_file():
        raise DeployError(f"build {build.build_id}: no model.pkl in {build.artifact_dir}")
    sites = Sites(store, config.home, environ)
    site = sites.variation(target)
    model_site = sites.model(target.model_id, target.environment)
    site = replace(site, traffic_weight=settings.traffic_weight, shadow=settings.shadow)
    sites.ensure()
    previous = store.serving(target.model_id, target.environment, target.variation)
    record = _starting(build, target, settings, store, config, site.address, automation, run_id)
    record = replace(record, detail={**record.detail, "model_address": model_site.address})
    directory = Path(record.detail["directory"])
    try:
        launch = Launch(
            build=build, target=target, settings=settings, config=config, environ=environ,
            directory=directory, port=int(record.detail["backend_port"]),
            name=str(record.detail["container"]),
        )  # fmt: skip
        started = backends.start(launch)
        record = replace(record, detail={**record.detail, **started})
        store.save_deployment(record)
        report = smoke.run(
            port=int(record.detail["backend_port"]), model_id=target.model_id,
            code_dir=build.artifact_dir / "code", predictions=config.home / "predictions",
            rollout=rollout, max_batch_size=settings.max_batch_size,
        )  # fmt: skip
        record = replace(record, detail={**record.detail, "smoke": report.summary()})
        store.save_deployment(record)
        new = Backend(
            deployment_id=record.deployment_id,
            dial=f"{processes.HOST}:{record.detail['backend_port']}",
            weight=100,
        )
        site, record = take_traffic(
            sites=sites, site=site, new=new, record=record, store=store, rollout=rollout,
            environ=environ, cancelled=cancelled,
        )  # fmt: skip
        if settings.shadow:
            copier = shadow.start(
                port=int(record.detail["backend_port"]), model_id=target.model_id,
                environment=target.environment, variation=target.variation,
                predictions=config.home / "predictions", directory=directory,
                env=backends.server_env(environ, ServeSettings()),
            )  # fmt: skip
            record = replace(record, detail={**record.detail, "shadow_pid": copier})
    except RolledBack:
        raise  # recorded by take_traffic, with the windows it watched
    except DeployError as exc:
        backends.stop(record.detail, environ, grace=5)
        store.save_deployment(replace(record, status="failed", reason=exc.message))
        keeps = (
            f"build {previous.build_id} keeps serving at {site.address}"
            if previous
            else "nothing was serving there"
        )
        raise DeployError(
            f"deploying build {build.build_id} to {target.key} failed: {exc.message}",
            f"{keeps}. {exc.hint}".strip(),
        ) from None
    serving = replace(
        record,
        status="serving",
        reason=str(record.detail.get("smoke", "")),
        detail={**record.detail, "proxy_pid": traffic.pid(config.home)},
    )
    store.save_deployment(serving)
    log.event(
        "deployed", model=target.model_id, build=build.build_id, address=site.address,
        environment=target.environment, variation=target.variation,
    )  # fmt: skip
    for old in _replaced(store, target, serving):
        retire(store, old, status=replaced_status, home=config.home, environ=environ)
    watched = [f"{w['phase']}: {w['reason']}" for w in serving.detail.get("windows", [])]
    checked = str(serving.detail.get("smoke", ""))
    return DeployOutcome.serving(serving, "; ".join([checked, *watched]), address=site.address)


def _starting(
    build: BuildResult,
    target: Target,
    settings: ServeSettings,
    store: StateStore,
    config: Config,
    address: str,
    automation: str,
    run_id: str,
) -> DeploymentRecord:
    deployment_id = f"dep-{uuid.uuid4().hex[:12]}"
    directory = config.home / "deployments" / deployment_id
    detail: dict[str, Any] = {
        "port": int(address.rsplit(":", 1)[1]),
        "backend_port": processes.free_port(),
        "directory": str(directory),
        "artifact": str(build.artifact_dir),
        "log": str(directory / "serve.log"),
        "serve": settings.to_detail(),
        "commit": build.commit,
        "container": containers.container_name(target, build.build_id, deployment_id),
        "owner_pid": os.getpid(),  # the deploying process (`recover` leaves live ones alone)
    }
    if containers.wanted(build):
        detail["image"] = build.image
    elif build.python is not None:
        detail["python"] = str(build.python)
    record = DeploymentRecord(
        deployment_id=deployment_id, model_id=target.model_id, build_id=build.build_id,
        environment=target.environment, variation=target.variation, deployer="local",
        status="starting", created_at=datetime.now(UTC), address=address,
        automation=automation, run_id=run_id, detail=detail,
    )  # fmt: skip
    store.save_deployment(record)
    return record


def _replaced(
    store: StateStore, target: Target, serving: DeploymentRecord
) -> list[DeploymentRecord]:
    """The target's other deployments still marked serving (normally the one before)."""
    return [
        d
        for d in store.deployments(
            target.model_id, target.environment, target.variation, status="serving", limit=50
        )
        if d.deployment_id != serving.deployment_id
    ]


def retire(
    store: StateStore,
    record: DeploymentRecord,
    *,
    status: str = "retired",
    reason: str = "",
    home: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> DeploymentRecord:
    """Let the requests in flight to ``record``'s server finish, stop it, record it."""
    serve = ServeSettings.from_detail(record.detail.get("serve") or {})
    grace = serve.timeout_ms / 1000.0 + DRAIN_MARGIN
    if home is not None and record.detail.get("backend_port"):
        # No slot names it any more; what is on its way arrives within the settle, and the
        # server's graceful stop lets the requests in flight finish.
        time.sleep(SETTLE)
    if record.deployer == "local":
        backends.stop(record.detail, environ, grace=grace)
    retired = replace(
        record, status=status, retired_at=datetime.now(UTC), reason=reason or record.reason
    )
    store.save_deployment(retired)
    return retired


def rollback(
    store: StateStore, config: Config, target: Target, environ: Mapping[str, str]
) -> DeployOutcome:
    """Serve the build that served before the current one, the same zero-downtime way (its
    sample request answered first; no canary: it served before)."""
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
    build = _recorded_build(store, config, previous)
    settings = ServeSettings.from_detail(previous.detail.get("serve") or {})
    return deploy_build(
        build, target, settings, store=store, config=config, environ=environ,
        automation=previous.automation, replaced_status="rolled_back",
        rollout=Rollout(canary_steps=(), smoke_replay=0),
    )  # fmt: skip


def _recorded_build(store: StateStore, config: Config, previous: DeploymentRecord) -> BuildResult:
    record = store.build(previous.build_id)
    if record is not None:
        build = result_of(record, config.home)
    else:
        artifact = previous.detail.get("artifact")
        if not isinstance(artifact, str):
            raise DeployError(f"build {previous.build_id} is not recorded any more")
        build = BuildResult(
            build_id=previous.build_id, model_id=previous.model_id,
            commit=str(previous.detail.get("commit", "")), builder="",
            artifact_dir=Path(artifact), metrics={}, params={},
            log_path=Path(artifact) / "build.log", image=previous.detail.get("image") or None,
        )  # fmt: skip
    python = previous.detail.get("python")
    if build.python is None and isinstance(python, str):
        build = replace(build, python=Path(python))
    return build


def undeploy(
    store: StateStore,
    target: Target,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> DeploymentRecord | None:
    """Stop serving ``target``: its address is given up, its servers stop, the serving record
    becomes retired; the local proxy stops when nothing else is deployed."""
    current = store.serving(target.model_id, target.environment, target.variation)
    home = home or _home_of(current)
    if home is not None:
        sites = Sites(store, home, environ or os.environ)
        sites.forget(f"v:{target.key}")
        if not any(
            s.variation and s.model_id == target.model_id and s.environment == target.environment
            for s in sites.all()
        ):
            sites.forget(f"m:{target.model_id}/{target.environment}")
        if sites.all():
            sites.apply()
        else:
            traffic.stop(home)
            # Stopped on purpose: the next deploy starts it afresh, not "again (it was gone)".
            store.delete_value(traffic.SCOPE, "proxy")
    if current is None:
        return None
    return retire(store, current, reason="undeployed", environ=environ)


def _home_of(record: DeploymentRecord | None) -> Path | None:
    directory = record.detail.get("directory") if record is not None else None
    return Path(directory).parents[1] if isinstance(directory, str) else None


def recover(store: StateStore, home: Path, environ: Mapping[str, str]) -> list[str]:
    """Finish the local deployments a dead runner left half done: their traffic goes back
    to the builds that served before, their servers stop, and they are recorded failed
    (never took traffic) or rolled back. Returns one line per deployment finished."""
    done = []
    sites = Sites(store, home, environ)
    for status in UNFINISHED:
        for record in store.deployments(status=status, limit=500):
            if record.deployer != "local" or _run_active(store, record):
                continue
            site = sites.get(f"v:{record.model_id}/{record.environment}/{record.variation}")
            if site is not None and any(
                b.deployment_id == record.deployment_id for b in site.backends
            ):
                keep = [b for b in site.backends if b.deployment_id != record.deployment_id]
                restored = [replace(b, weight=100 // max(1, len(keep))) for b in keep]
                sites.save(site.with_backends(restored))
                sites.apply()
            backends.stop(record.detail, environ, grace=5)
            if status == "starting":  # it never took traffic
                outcome, reason = "failed", "the runner stopped while this deployment started"
            else:
                outcome = "rolled_back"
                reason = f"the runner stopped during the {record.detail.get('phase', status)}"
                reason += "; its traffic went back to the build that served before"
            store.save_deployment(replace(record, status=outcome, reason=reason))
            done.append(f"deployment {record.deployment_id} ({record.model_id}): {reason}")
    return done


def _run_active(store: StateStore, record: DeploymentRecord) -> bool:
    """Is whoever deploys ``record`` still at it: its run, else its process (`auto deploy`)?"""
    if record.run_id:
        run = store.run(record.run_id)
        return run is not None and run.status.value == "running"
    owner = record.detail.get("owner_pid")
    return isinstance(owner, int) and processes.alive(owner)
