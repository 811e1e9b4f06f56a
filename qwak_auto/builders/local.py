"""The ``local`` builder: a cached virtual environment and the harness in a subprocess."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Unpack, cast

from qwak_auto.automation.resources import CpuResources, GpuResources
from qwak_auto.builders import common
from qwak_auto.builders.common import BuildOutput
from qwak_auto.builders.deps import detect
from qwak_auto.builders.env import BuildEnv, ensure_env
from qwak_auto.builders.session import BuilderBase, BuildOptions, BuildSession
from qwak_auto.errors import BuildError
from qwak_auto.run.contracts import BuildResult

if TYPE_CHECKING:
    from qwak_auto.automation.model import BuildSpec


class LocalBuild(BuildSession):
    """One local build: the cached environment, then the harness in a subprocess."""

    builder: LocalBuilder

    def execute(self, out: BuildOutput) -> BuildResult:
        self.out = out
        checkout, ctx = self.checkout, self.ctx
        spec = ctx.automation.action.build_spec
        self.environ: Mapping[str, str] = ctx.environ or os.environ
        self.timeout = self.builder._timeout(ctx.environ)
        self.deadline = time.monotonic() + self.timeout
        timings: dict[str, float] = {}
        common.require_main_dir(checkout, spec)
        for warning in ignored_fields(spec):
            out.line(f"warning: {warning}")
        # The role is assumed before anything starts, so missing AWS credentials fail fast;
        # the temporary credentials reach the harness only through its environment.
        role_env = self._role_env(spec.assumed_iam_role)
        deps = replace(
            detect(checkout.project_dir, checkout.main_dir, spec.dependency_file_path),
            as_of=spec.dependencies_as_of,
        )
        out.line(f"==> dependencies: {common.describe_dependencies(deps, checkout.project_dir)}")
        for warning in deps.warnings:
            out.line(f"warning: {warning}")
        clock = time.monotonic()
        env = ensure_env(
            deps,
            home=ctx.config.home,
            out=cast(IO[str], out),
            environ=self.environ,
            timeout=self._remaining(),
            use_uv=self.builder.use_uv,
        )
        timings["environment"] = time.monotonic() - clock
        for warning in env.warnings:
            if warning not in deps.warnings:
                out.line(f"warning: {warning}")

        if self.stage.exists():
            shutil.rmtree(self.stage)
        self.stage.mkdir(parents=True)
        common.copy_code(checkout.project_dir, self.stage / "code")
        clock = time.monotonic()
        harness = self._run_harness(env, role_env)
        timings["harness"] = time.monotonic() - clock
        timings.update({f"harness.{k}": float(v) for k, v in harness["timings"].items()})
        if harness.get("status") != "succeeded":
            raise BuildError(str(harness.get("reason") or "the build failed"))
        dependencies = common.dependencies_record(deps, checkout.project_dir, env, env.tool)
        metrics, params, prov = self.harness_outcome(harness, dependencies, timings)
        # The interpreter that serves this build locally (`auto deploy BUILD_ID`, rollback).
        prov = {**prov, "python_executable": str(env.python)}
        return self.succeeded(metrics, params, prov, python=env.python)

    def _remaining(self) -> float:
        return max(1.0, self.deadline - time.monotonic())

    def _role_env(self, role_arn: str) -> dict[str, str]:
        if not role_arn:
            return {}
        from qwak_auto.platform import aws as iam

        creds = iam.assume_role(
            role_arn,
            self.environ,
            session_name=iam.session_name(f"auto-build-{self.build_id}"),
            error=BuildError,
        )
        return creds.as_env()

    def _run_harness(self, env: BuildEnv, role_env: Mapping[str, str]) -> dict[str, Any]:
        stage = self.stage
        request = self.harness_request(
            code_dir=str((stage / "code").resolve()),
            out_dir=str(stage.resolve()),
            deadline=time.time() + self._remaining(),
        )
        request_file = stage.parent / f".{self.build_id}.request.json"
        argv = [str(env.python), "-m", "qwak_auto.builders.harness", str(request_file)]
        result = self.run_harness(
            argv,
            request,
            request_file,
            what="the build harness",
            timeout=self._remaining(),
            env={**harness_env(env.path, self.environ), **role_env},
            cwd=stage,
        )
        return self.harness_result("the build harness", result, common.output_tail(result.stdout))


class LocalBuilder(BuilderBase):
    """Builds in ``config.home/cache/envs/<dependency hash>`` (see build/env.py)."""

    name = "local"
    session = LocalBuild

    def __init__(self, *, use_uv: bool | None = None, **options: Unpack[BuildOptions]) -> None:
        super().__init__(**options)
        self.use_uv = use_uv


def ignored_fields(spec: BuildSpec) -> list[str]:
    """What of ``resources`` and ``base_image`` a local build cannot honour: it runs in a
    virtual environment of this machine's Python, with this machine's CPUs and memory (issue
    19). Fields at their defaults are not named (the file may not have set them)."""
    elsewhere = "`builder: docker` or `builder: kubernetes` honour it"
    out = []
    if spec.base_image:
        out.append(
            f"build_spec.base_image {spec.base_image!r} has no effect with the local "
            f"builder (it builds with this machine's Python); {elsewhere}"
        )
    resources = spec.resources
    default = CpuResources()
    if isinstance(resources, GpuResources):
        for name, value in (("gpu_type", resources.gpu_type), ("gpu_amount", resources.gpu_amount)):
            out.append(
                f"build_spec.resources.gpu.{name} {value!r} has no effect with the local "
                f"builder (no GPU is set aside for the build); {elsewhere}"
            )
        return out
    cpu: tuple[tuple[str, object, object], ...] = (
        ("cpu_fraction", resources.cpu_fraction, default.cpu_fraction),
        ("memory", resources.memory, default.memory),
    )
    for field, given, usual in cpu:
        if given != usual:
            out.append(
                f"build_spec.resources.cpu.{field} {given!r} has no effect with the local "
                f"builder (the build uses this machine as it is); {elsewhere}"
            )
    return out


def harness_env(env_path: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The harness's environment: the build env first on PATH, nothing secret from ours."""
    keep = ("HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "SSL_CERT_FILE", "SSL_CERT_DIR")
    env = {k: environ[k] for k in keep if k in environ}
    env["PATH"] = os.pathsep.join([str(env_path / "bin"), environ.get("PATH", os.defpath)])
    env["VIRTUAL_ENV"] = str(env_path)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONNOUSERSITE"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["MPLBACKEND"] = "Agg"
    return env
