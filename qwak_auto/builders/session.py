"""What the built-in builders (local, docker, kubernetes) share around their own work.

A builder (:class:`BuilderBase`) holds its options; each of its builds is one
:class:`BuildSession` run inside :func:`~qwak_auto.builders.common.recorded_build`, which
claims the build id and the log, records the build and cleans up after a failure. A session
stages its artifact in ``builds/.tmp-<build_id>/`` and ends with :meth:`BuildSession.succeeded`:
the artifact renamed into place, the build recorded succeeded, the BuildResult returned.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypedDict, Unpack, cast

from qwak_auto import proc
from qwak_auto.builders.common import (
    BuildOutput,
    BuildRecorder,
    Work,
    build_timeout,
    builds_dir,
    provenance,
    recorded_build,
    sha256_file,
    step_failure,
    utcnow,
    write_json,
)
from qwak_auto.errors import BuildError, ProcError
from qwak_auto.run.contracts import BuildResult, Checkout, RunContext

if TYPE_CHECKING:
    from qwak_auto.state.base import BuildRecord

DEFAULT_TIMEOUT = 3600.0
# What the harness leaves in the staged artifact besides the model: not part of it.
LEFTOVERS = ("result.json", "pytest-auto.ini", "serve.log")


class BuildOptions(TypedDict, total=False):
    """The keyword arguments every built-in builder takes."""

    timeout: float | None  # seconds; None: the runner's build-step timeout less a margin
    echo: bool  # show the build's output while it runs (default True)
    run_tests: bool  # run the repository's tests/ and tests/it (default True)


class BuildSession:
    """One build: what is built for which run, its id, its record and its staged artifact.
    ``execute`` does the builder's work; ``cleanup`` undoes it after a failure."""

    out: BuildOutput
    timeout: float  # seconds the whole build may take (sessions that run the harness set it)

    def __init__(
        self,
        builder: BuilderBase,
        checkout: Checkout,
        ctx: RunContext,
        build_id: str,
        recorder: BuildRecorder,
    ) -> None:
        self.builder = builder
        self.checkout = checkout
        self.ctx = ctx
        self.build_id = build_id
        self.recorder = recorder
        self.stage = builds_dir(ctx.config.home) / f".tmp-{build_id}"
        self.final = builds_dir(ctx.config.home) / build_id
        self.setup()

    def setup(self) -> None:
        """The builder's own state for this build, before anything runs (none by default)."""

    def execute(self, out: BuildOutput) -> BuildResult:
        raise NotImplementedError

    def cleanup(self) -> None:
        shutil.rmtree(self.stage, ignore_errors=True)

    def harness_request(self, *, code_dir: str, out_dir: str, deadline: float) -> dict[str, Any]:
        """What the harness (:mod:`~qwak_auto.builders.harness`) is asked to do: build the
        code in ``code_dir`` into ``out_dir`` by ``deadline`` (seconds since the epoch)."""
        checkout, automation = self.checkout, self.ctx.automation
        spec = automation.action.build_spec
        main_rel = checkout.main_dir.resolve().relative_to(checkout.project_dir.resolve())
        return {
            "code_dir": code_dir,
            "main_dir": main_rel.as_posix(),
            "out_dir": out_dir,
            "model_id": automation.model_id,
            "build_id": self.build_id,
            "parameters": dict(spec.parameters),
            # The harness also hands env_vars' names and values to the model's runtime API.
            "env_vars": spec.env,
            "run_tests": self.builder.run_tests,
            "run_it": self.builder.run_tests,
            "deadline": deadline,
        }

    def run_harness(
        self,
        argv: list[str],
        request: Mapping[str, Any],
        request_file: Path,
        *,
        what: str,
        timeout: float,
        env: Mapping[str, str],
        cwd: Path | None = None,
    ) -> proc.Result:
        """``argv`` (the harness, or what runs it) on ``request``, which is in
        ``request_file`` only while it runs; its output goes to the build log."""
        request_file.write_text(json.dumps(request), encoding="utf-8")
        try:
            return proc.run(
                argv,
                timeout=timeout,
                env=env,
                cwd=cwd,
                stdout=cast(IO[str], self.out),
                check=False,
            )
        except ProcError as exc:
            raise step_failure(
                exc,
                late=f"the build took longer than its timeout ({self.timeout:g}s)",
                failed=f"{what} could not run: {exc.message}",
            ) from None
        finally:
            request_file.unlink(missing_ok=True)

    def harness_result(self, what: str, result: proc.Result, tail: str) -> dict[str, Any]:
        """The harness's ``result.json`` in the stage; a BuildError naming ``what`` exited
        and the ``tail`` of its output where there is none."""
        result_file = self.stage / "result.json"
        if not result_file.is_file():
            raise BuildError(
                f"{what} exited with status {result.returncode} without a result: {tail}"
            )
        data: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
        return data

    def provenance(self, ended_at: datetime, **rest: Any) -> dict[str, Any]:
        """:func:`~qwak_auto.builders.common.provenance` of this build (``rest``: what the
        builder knows: dependencies, python, metrics, params, artifact, timings, tests)."""
        automation, checkout = self.ctx.automation, self.checkout
        return provenance(
            automation=automation.name,
            spec_hash=automation.spec_hash,
            model_id=automation.model_id,
            build_id=self.build_id,
            builder=self.builder.name,
            repo_url=checkout.repo_url,
            branch=checkout.branch,
            commit=checkout.commit,
            started_at=self.recorder.record.started_at,
            ended_at=ended_at,
            **rest,
        )

    def harness_outcome(
        self,
        harness: Mapping[str, Any],
        dependencies: Mapping[str, Any],
        timings: dict[str, float],
        artifact_extra: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, float], dict[str, str], dict[str, Any]]:
        """(metrics, params, provenance) of a build whose harness succeeded in ``stage``."""
        metrics = {str(k): float(v) for k, v in (harness.get("metrics") or {}).items()}
        params = {str(k): str(v) for k, v in (harness.get("params") or {}).items()}
        model_file = self.stage / "model.pkl"
        artifact = {
            "model.pkl": {"sha256": sha256_file(model_file), "bytes": model_file.stat().st_size},
            "model_class": harness.get("model_class", ""),
            "path": str(self.final),
            **(artifact_extra or {}),
        }
        ended = utcnow()
        timings["total"] = (ended - self.recorder.record.started_at).total_seconds()
        prov = self.provenance(
            ended,
            dependencies=dependencies,
            python=str(harness.get("python", "")),
            metrics=metrics,
            params=params,
            artifact=artifact,
            timings=timings,
            tests={
                "unit": str(harness.get("unit_tests", "")),
                "it": str(harness.get("it_tests", "")),
            },
        )
        return metrics, params, prov

    def succeeded(
        self,
        metrics: Mapping[str, float],
        params: Mapping[str, str],
        prov: Mapping[str, Any],
        *,
        python: Path | None = None,
        image: str | None = None,
    ) -> BuildResult:
        """Metrics, provenance and the log into the staged artifact, the artifact renamed
        into place, the build recorded succeeded."""
        for leftover in LEFTOVERS:
            (self.stage / leftover).unlink(missing_ok=True)
        write_json(self.stage / "metrics.json", metrics)
        write_json(self.stage / "provenance.json", prov)
        self.out.line(f"==> build {self.build_id} succeeded")
        self.out.flush()
        shutil.copyfile(self.out.path, self.stage / "build.log")
        if self.final.exists():
            shutil.rmtree(self.final)
        self.stage.rename(self.final)
        record: BuildRecord = self.recorder.finish(
            "succeeded",
            artifact=str(self.final),
            image=image or "",
            metrics=metrics,
            params=params,
            provenance=prov,
        )
        return BuildResult(
            build_id=self.build_id,
            model_id=self.ctx.automation.model_id,
            commit=self.checkout.commit,
            builder=self.builder.name,
            artifact_dir=self.final,
            metrics=dict(record.metrics),
            params=dict(record.params),
            log_path=self.out.path,
            python=python,
            image=image,
            provenance=dict(prov),
        )


class BuilderBase:
    """A built-in builder: its options, and each build as a session of type ``session``."""

    name: str
    session: type[BuildSession]

    def __init__(self, **options: Unpack[BuildOptions]) -> None:
        self.timeout = options.get("timeout")
        self.echo = options.get("echo", True)
        self.run_tests = options.get("run_tests", True)

    def _timeout(self, environ: Mapping[str, str]) -> float:
        if self.timeout is not None:
            return self.timeout
        return build_timeout(environ, DEFAULT_TIMEOUT)

    def build(self, checkout: Checkout, ctx: RunContext) -> BuildResult:
        def start(build_id: str, recorder: BuildRecorder) -> Work:
            session = self.session(self, checkout, ctx, build_id, recorder)
            return session.execute, session.cleanup

        return recorded_build(
            builder=self.name, checkout=checkout, ctx=ctx, echo=self.echo, start=start
        )
