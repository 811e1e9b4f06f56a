"""What a local deployment is made of: its target (model, environment, variation), the
serving settings taken from the deployment_spec, and the build it serves."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qwak_auto.errors import DeployError
from qwak_auto.run.contracts import BuildResult

if TYPE_CHECKING:
    from qwak_auto.automation.deployment import DeploymentSpec
    from qwak_auto.config import Config
    from qwak_auto.state.base import BuildRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeSettings:
    """The deployment_spec fields the local model server uses (kept in the record's detail,
    so rollback restarts an old build exactly as it was served)."""

    workers: int = 2
    timeout_ms: int = 5000
    max_batch_size: int = 1
    daemon: bool = False
    ready_timeout: float = 600.0
    env_vars: Mapping[str, str] = field(default_factory=dict)
    iam_role: str = ""
    api_keys_secret: str = ""  # a secret NAME; its keys are resolved at each start
    # Container backends only (a docker build): --cpus, --memory, --gpus; 0 / "" = no limit.
    cpu_fraction: float = 0.0
    memory: str = ""
    gpus: int = 0
    # Traffic: the variation's share of the model's default address, or a shadow copy.
    traffic_weight: int | None = None
    shadow: bool = False

    @classmethod
    def from_spec(cls, spec: DeploymentSpec) -> ServeSettings:
        return cls(
            workers=spec.number_of_http_server_workers,
            timeout_ms=spec.http_request_timeout_ms,
            max_batch_size=spec.max_batch_size,
            daemon=spec.daemon_mode,
            ready_timeout=float(spec.deployment_process_timeout_limit),
            env_vars=spec.env,
            iam_role=spec.custom_iam_role_arn,
            api_keys_secret=spec.api_keys_secret or "",
            cpu_fraction=spec.cpu_fraction,
            memory=spec.memory,
            gpus=spec.gpu_resources.gpu_amount if spec.gpu_resources else 0,
            traffic_weight=spec.traffic_weight,
            shadow=spec.shadow,
        )

    def to_detail(self) -> dict[str, Any]:
        detail = {f.name: getattr(self, f.name) for f in fields(self)}
        detail["env_vars"] = dict(self.env_vars)
        return detail

    @classmethod
    def from_detail(cls, detail: Mapping[str, Any]) -> ServeSettings:
        known = {k: detail[k] for k in cls.__dataclass_fields__ if k in detail}
        return cls(**known)


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    model_id: str
    environment: str
    variation: str

    @property
    def key(self) -> str:
        return f"{self.model_id}/{self.environment}/{self.variation}"

    @property
    def slug(self) -> str:
        return f"{self.model_id}--{self.environment or 'default'}--{self.variation}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Launch:
    """One model server to start: the build, where and how it serves, and its own place (its
    ``directory``, private ``port`` and, served by a container, the container's ``name``)."""

    build: BuildResult
    target: Target
    settings: ServeSettings
    config: Config
    environ: Mapping[str, str]
    directory: Path
    port: int
    name: str


def build_python(build: BuildResult) -> Path:
    """The interpreter of the build environment (it has pandas, cloudpickle, gunicorn)."""
    if build.python is not None:
        return build.python
    for key in ("python_executable", "interpreter", "python"):
        value = build.provenance.get(key)
        if isinstance(value, str) and os.sep in value and Path(value).exists():
            return Path(value)
    raise DeployError(
        f"build {build.build_id} does not say which Python serves it",
        "the local deployer needs the build environment's interpreter (BuildResult.python) "
        "or the build's image (the docker builder's)",
    )


def result_of(record: BuildRecord, home: Path | None = None) -> BuildResult:
    """A BuildResult from a recorded build (for `auto deploy BUILD_ID` and rollback)."""
    if record.status != "succeeded":
        raise DeployError(
            f"build {record.build_id} {record.status}: only a succeeded build can be deployed"
        )
    python = _recorded_python(record.provenance, home)
    return BuildResult(
        build_id=record.build_id,
        model_id=record.model_id,
        commit=record.commit,
        builder=record.builder,
        artifact_dir=Path(record.artifact),
        metrics=dict(record.metrics),
        params=dict(record.params),
        log_path=Path(record.log_path),
        python=python,
        image=record.image or None,
        provenance=dict(record.provenance),
    )


def _recorded_python(provenance: Mapping[str, Any], home: Path | None) -> Path | None:
    """The build environment's interpreter: named in the provenance, else the local
    builder's cached environment (``<home>/cache/envs/<dependencies.hash>``)."""
    for key in ("python_executable", "interpreter", "python"):
        value = provenance.get(key)
        if isinstance(value, str) and os.sep in value:
            return Path(value)
    deps = provenance.get("dependencies")
    digest = deps.get("hash") if isinstance(deps, Mapping) else None
    if home is not None and isinstance(digest, str) and digest:
        candidate = home / "cache" / "envs" / digest / "bin" / "python"
        if candidate.exists():
            return candidate
    return None
