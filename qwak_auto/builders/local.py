"""The ``local`` builder: a cached virtual environment and the harness in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from qwak_auto import proc
from qwak_auto.automation.resources import CpuResources, GpuResources
from qwak_auto.builders import common
from qwak_auto.builders.deps import detect
from qwak_auto.builders.env import BuildEnv, ensure_env
from qwak_auto.builders.requirements import Dependencies
from qwak_auto.errors import BuildError, ProcError
from qwak_auto.run.contracts import BuildResult, Checkout, RunContext

if TYPE_CHECKING:
    from qwak_auto.automation.model import BuildSpec
    from qwak_auto.state.base import BuildRecord

DEFAULT_TIMEOUT = 3600.0


class LocalBuilder:
    """Builds in ``config.home/cache/envs/<dependency hash>`` (see build/env.py)."""

    name = "local"

    def __init__(
        self,
        *,
        timeout: float | None = None,
        use_uv: bool | None = None,
        echo: bool = True,
        run_tests: bool = True,
    ) -> None:
        self.timeout = timeout
        self.use_uv = use_uv
        self.echo = echo
        self.run_tests = run_tests

    def _timeout(self, environ: Mapping[str, str]) -> float:
        return (
            self.timeout
            if self.timeout is not None
            else common.build_timeout(environ, DEFAULT_TIMEOUT)
        )

    def build(self, checkout: Checkout, ctx: RunContext) -> BuildResult:
        def start(build_id: str, recorder: common.BuildRecorder) -> common.Work:
            stage = common.builds_dir(ctx.config.home) / f".tmp-{build_id}"
            return (
                lambda out: self._build(checkout, ctx, build_id, stage, out, recorder),
                lambda: shutil.rmtree(stage, ignore_errors=True),
            )

        return common.recorded_build(
            builder=self.name, checkout=checkout, ctx=ctx, echo=self.echo, start=start
        )

    def _build(
        self,
        checkout: Checkout,
        ctx: RunContext,
        build_id: str,
        stage: Path,
        out: common.BuildOutput,
        recorder: common.BuildRecorder,
    ) -> BuildResult:
        spec = ctx.automation.action.build_spec
        timeout = self._timeout(ctx.environ)
        deadline = time.monotonic() + timeout
        timings: dict[str, float] = {}
        common.require_main_dir(checkout, spec)
        for warning in ignored_fields(spec):
            out.line(f"warning: {warning}")
        # The role is assumed before anything starts, so missing AWS credentials fail fast;
        # the temporary credentials reach the harness only through its environment.
        role_env = self._role_env(spec.assumed_iam_role, build_id, ctx)
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
            environ=ctx.environ or os.environ,
            timeout=max(1.0, deadline - time.monotonic()),
            use_uv=self.use_uv,
        )
        timings["environment"] = time.monotonic() - clock
        for warning in env.warnings:
            if warning not in deps.warnings:
                out.line(f"warning: {warning}")

        if stage.exists():
            shutil.rmtree(stage)
        stage.mkdir(parents=True)
        common.copy_code(checkout.project_dir, stage / "code")
        main_rel = checkout.main_dir.resolve().relative_to(checkout.project_dir.resolve())
        clock = time.monotonic()
        harness = self._run_harness(
            env, stage, main_rel.as_posix(), build_id, ctx, out, deadline, timeout, role_env
        )
        timings["harness"] = time.monotonic() - clock
        timings.update({f"harness.{k}": float(v) for k, v in harness["timings"].items()})
        if harness.get("status") != "succeeded":
            raise BuildError(str(harness.get("reason") or "the build failed"))
        return self._finish(
            checkout, ctx, build_id, stage, out, recorder, deps, env, harness, timings
        )

    @staticmethod
    def _role_env(role_arn: str, build_id: str, ctx: RunContext) -> dict[str, str]:
        if not role_arn:
            return {}
        from qwak_auto.platform import aws as iam

        creds = iam.assume_role(
            role_arn,
            ctx.environ or os.environ,
            session_name=iam.session_name(f"auto-build-{build_id}"),
            error=BuildError,
        )
        return creds.as_env()

    def _run_harness(
        self,
        env: BuildEnv,
        stage: Path,
        main_dir: str,
        build_id: str,
        ctx: RunContext,
        out: common.BuildOutput,
        deadline: float,
        timeout: float,
        role_env: Mapping[str, str],
    ) -> dict[str, Any]:
        spec = ctx.automation.action.build_spec
        request = {
            "code_dir": str((stage / "code").resolve()),
            "main_dir": main_dir,
            "out_dir": str(stage.resolve()),
            "model_id": ctx.automation.model_id,
            "build_id": build_id,
            "parameters": dict(spec.parameters),
            "env_vars": spec.env,
            "run_tests": self.run_tests,
            "run_it": self.run_tests,
            "deadline": time.time() + max(1.0, deadline - time.monotonic()),
        }
        request_file = stage.parent / f".{build_id}.request.json"
        request_file.write_text(json.dumps(request), encoding="utf-8")
        argv = [str(env.python), "-m", "qwak_auto.builders.harness", str(request_file)]
        try:
            result = proc.run(
                argv,
                timeout=max(1.0, deadline - time.monotonic()),
                env={**harness_env(env.path, ctx.environ or os.environ), **role_env},
                cwd=stage,
                stdout=cast(IO[str], out),
                check=False,
            )
        except ProcError as exc:
            if "did not finish" in exc.message:
                raise BuildError(f"the build took longer than its timeout ({timeout:g}s)") from None
            raise BuildError(f"the build harness could not run: {exc.message}") from None
        finally:
            request_file.unlink(missing_ok=True)
        result_file = stage / "result.json"
        if not result_file.is_file():
            raise BuildError(
                f"the build harness exited with status {result.returncode} without a result: "
                f"{common.output_tail(result.stdout)}"
            )
        data: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
        return data

    def _finish(
        self,
        checkout: Checkout,
        ctx: RunContext,
        build_id: str,
        stage: Path,
        out: common.BuildOutput,
        recorder: common.BuildRecorder,
        deps: Dependencies,
        env: BuildEnv,
        harness: Mapping[str, Any],
        timings: dict[str, float],
    ) -> BuildResult:
        automation = ctx.automation
        final = common.builds_dir(ctx.config.home) / build_id
        dependencies = {
            "file": common.relative_to(deps.file, checkout.project_dir),
            "kind": deps.kind,
            "hash": env.digest,
            "requested": list(deps.specs()),
            "resolved": list(env.freeze),
            "tool": env.tool,
            "environment_reused": env.reused,
            "warnings": list(dict.fromkeys([*deps.warnings, *env.warnings])),
            **deps.as_of_record(),
        }
        metrics, params, prov = common.harness_outcome(
            ctx=ctx,
            checkout=checkout,
            build_id=build_id,
            builder=self.name,
            stage=stage,
            final=final,
            harness=harness,
            dependencies=dependencies,
            started_at=recorder.record.started_at,
            timings=timings,
        )
        # The interpreter that serves this build locally (`auto deploy BUILD_ID`, rollback).
        prov = {**prov, "python_executable": str(env.python)}
        for leftover in ("result.json", "pytest-auto.ini"):
            (stage / leftover).unlink(missing_ok=True)
        common.write_json(stage / "metrics.json", metrics)
        common.write_json(stage / "provenance.json", prov)
        out.line(f"==> build {build_id} succeeded")
        out.flush()
        shutil.copyfile(out.path, stage / "build.log")
        stage.rename(final)
        record: BuildRecord = recorder.finish(
            "succeeded",
            artifact=str(final),
            metrics=metrics,
            params=params,
            provenance=prov,
        )
        return BuildResult(
            build_id=build_id,
            model_id=automation.model_id,
            commit=checkout.commit,
            builder=self.name,
            artifact_dir=final,
            metrics=dict(record.metrics),
            params=dict(record.params),
            log_path=out.path,
            python=env.python,
            provenance=prov,
        )


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
