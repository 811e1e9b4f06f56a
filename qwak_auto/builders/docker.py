"""The ``docker`` builder: the build runs in a container; the result is a serving image.

1. preflight (nothing runs before these hold): the engine answers, the base image exists
   (default ``local/python:3.11-bookworm`` from ``auto images bootstrap``), the
   ``assumed_iam_role`` credentials are obtained;
2. dependency image ``auto-deps:<hash>`` (base + ``/opt/venv`` with the model's packages),
   made once per dependency set: ``docker run --network host`` with the host's CA bundle and
   pip configuration mounted read-only and the installer's settings on stdin, then
   ``docker commit`` (neither mounts nor stdin are part of what is committed);
3. build image: COPY of auto's runtime (``/opt/auto`` + a ``.pth``) and the model code
   (``/opt/model/code``) onto the dependency image (``docker build``, legacy builder);
4. the harness runs in ``docker run --rm --network none --cpus --memory`` (``--gpus N`` for
   GPU resources), env_vars and credentials as ``-e NAME`` (values in the docker CLI's
   environment only), the output directory bind-mounted: the container is never committed,
   so nothing it was given is baked into a layer;
5. serving image ``auto/<model_id>:<build_id>``: the build image plus model.pkl,
   metrics.json and provenance.json in ``/opt/model``, CMD ``python -m qwak_auto.serve
   --artifact /opt/model ...``.

The artifact directory on the host has the local builder's layout (model.pkl, code/,
provenance.json, metrics.json, build.log); BuildResult.image names the serving image and
BuildResult.python is None (the interpreter lives in the image).

The dependency image is :mod:`qwak_auto.builders.docker_deps`; the end of a build (provenance,
the serving image, the record) is :mod:`qwak_auto.builders.docker_result`.

GPU resources become ``--gpus N``; that needs the NVIDIA container toolkit on the engine's
host and is not exercised by the tests (there is no GPU here).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import IO, Any, Unpack, cast

from qwak_auto import proc
from qwak_auto.builders import common, docker_deps, docker_result, dockerfile, images
from qwak_auto.builders.deps import detect
from qwak_auto.builders.docker_deps import DepsImage, reason
from qwak_auto.builders.session import BuilderBase, BuildOptions, BuildSession
from qwak_auto.errors import AutoError, BuildError, ProcError
from qwak_auto.platform import docker as docker_cli
from qwak_auto.run.contracts import BuildResult

ROLE_SESSION_SECONDS = 3600
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache")
# Names the docker CLI itself reads (and DOCKER_*): an env_var of such a name goes on argv as
# NAME=VALUE (env_vars are plain values from the automation file; credentials never have
# these names), so it cannot redirect the CLI.
_CLI_NAMES = frozenset({"PATH", "HOME", "TMPDIR", "DOCKER_HOST", "DOCKER_CONFIG"})


class DockerBuild(BuildSession):
    """One docker build: its state and steps (cleaned up whatever happens)."""

    builder: DockerBuilder

    def setup(self) -> None:
        ctx, build_id = self.ctx, self.build_id
        self.environ: Mapping[str, str] = ctx.environ or os.environ
        self.spec = ctx.automation.action.build_spec
        self.model_id = ctx.automation.model_id
        self.home = ctx.config.home
        self.work = self.home / "cache" / "docker" / f"ctx-{build_id}"
        self.stage_image = dockerfile.stage_tag(self.model_id, build_id)
        self.final_image = dockerfile.image_tag(self.model_id, build_id)
        self.container = dockerfile.container_name("auto-build", build_id)
        self.timeout = self.builder._timeout(self.environ)
        self.deadline = time.monotonic() + self.timeout
        self.timings: dict[str, float] = {}
        self.warnings: list[str] = []
        self.run_env: dict[str, str] = {}  # NAME -> value handed to the build as -e NAME
        self.argv_env: list[str] = []  # NAME=VALUE for env_vars the docker CLI needs itself

    # ------------------------------------------------------------ helpers

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise BuildError(f"the build took longer than its timeout ({self.timeout:g}s)")
        return left

    def docker(
        self,
        argv: list[str],
        *,
        timeout: float,
        what: str,
    ) -> proc.Result:
        try:
            return proc.run(
                argv,
                timeout=timeout,
                env=docker_cli.docker_env(self.environ),
                stdout=cast(IO[str], self.out),
            )
        except ProcError as exc:
            raise common.step_failure(
                exc,
                late=f"{what} took longer than the build's timeout ({self.timeout:g}s)",
                failed=f"{what} failed: {reason(exc)}",
            ) from None

    def cleanup(self, *, failed: bool = True) -> None:
        with contextlib.suppress(AutoError):
            docker_cli.remove_container(self.container, self.environ)
        if self.stage_image:
            with contextlib.suppress(AutoError):
                docker_cli.remove_image(self.stage_image, self.environ)
        if failed:
            with contextlib.suppress(AutoError):
                docker_cli.remove_image(self.final_image, self.environ)
            shutil.rmtree(self.stage, ignore_errors=True)
        shutil.rmtree(self.work, ignore_errors=True)
        for leftover in ("request.json", "result.json", "pytest-auto.ini", "serve.log"):
            (self.stage / leftover).unlink(missing_ok=True)

    # ------------------------------------------------------------ the steps

    def execute(self, out: common.BuildOutput) -> BuildResult:
        self.out = out
        checkout, spec = self.checkout, self.spec
        common.require_main_dir(checkout, spec)
        deps = replace(
            detect(checkout.project_dir, checkout.main_dir, spec.dependency_file_path),
            as_of=spec.dependencies_as_of,
        )
        self.out.line(
            f"==> dependencies: {common.describe_dependencies(deps, checkout.project_dir)}"
        )
        for warning in deps.warnings:
            self.out.line(f"warning: {warning}")
        base, base_id = self.preflight()
        resources, notes = dockerfile.resource_flags(spec.resources, host_cpus=os.cpu_count() or 1)
        for note in notes:
            self.warn(note)

        clock = time.monotonic()
        deps_image = docker_deps.ensure(self, deps, base=base, base_id=base_id)
        self.timings["environment"] = time.monotonic() - clock

        clock = time.monotonic()
        if self.stage.exists():
            shutil.rmtree(self.stage)
        self.stage.mkdir(parents=True)
        common.copy_code(checkout.project_dir, self.stage / "code")
        self.build_stage_image(deps_image)
        self.timings["image"] = time.monotonic() - clock

        clock = time.monotonic()
        harness = self.run_build(resources)
        self.timings["harness"] = time.monotonic() - clock
        self.timings.update({f"harness.{k}": float(v) for k, v in harness["timings"].items()})
        if harness.get("status") != "succeeded":
            raise BuildError(str(harness.get("reason") or "the build failed"))
        return docker_result.finish(self, deps, deps_image, base, base_id, harness, resources)

    def warn(self, text: str) -> None:
        self.warnings.append(text)
        self.out.line(f"warning: {text}")

    def preflight(self) -> tuple[str, str]:
        """Engine, base image and credentials: all before any container starts."""
        from qwak_auto.platform import aws as iam

        version = docker_cli.engine_version(self.environ)
        self.out.line(f"==> docker engine {version}")
        base = (
            self.spec.base_image
            or self.builder.base_image
            or self.environ.get("AUTO_DOCKER_BASE_IMAGE")
            or images.DEFAULT_BASE_IMAGE
        )
        base_id = docker_cli.image_id(base, self.environ)
        if base_id is None and base == images.DEFAULT_BASE_IMAGE:
            raise BuildError(
                f"the base image {base} is not in the Docker engine",
                "run `auto images bootstrap` once (it makes the image with debootstrap), "
                "or set build_spec.base_image",
            )
        if base_id is None:
            self.out.line(f"==> pulling the base image {base}")
            self.docker(["docker", "pull", "--", base], timeout=min(900, self.remaining()),
                        what=f"pulling the base image {base}")  # fmt: skip
            base_id = docker_cli.image_id(base, self.environ)
            if base_id is None:
                raise BuildError(f"the base image {base} could not be pulled")
        self.out.line(f"==> base image {base} ({base_id[:19]})")
        for key, value in self.spec.env.items():
            if key in _CLI_NAMES or key.startswith("DOCKER_"):
                self.argv_env.append(f"{key}={value}")
            else:
                self.run_env[key] = value
        if self.spec.assumed_iam_role:
            creds = iam.assume_role(
                self.spec.assumed_iam_role,
                self.environ,
                session_name=f"auto-build-{self.build_id}",
                # A role's default MaxSessionDuration is one hour: ask no more than that.
                duration=int(min(max(self.timeout, iam.MIN_DURATION), ROLE_SESSION_SECONDS)),
                error=BuildError,
            )
            self.run_env.update(creds.as_env())
            self.out.line(
                f"==> assumed {self.spec.assumed_iam_role} "
                f"(temporary credentials until {creds.expires_at:%Y-%m-%d %H:%M:%S} UTC)"
            )
        return base, base_id

    def build_stage_image(self, deps_image: DepsImage) -> None:
        from qwak_auto.builders.env import package_root

        if self.work.exists():
            shutil.rmtree(self.work)
        self.work.mkdir(parents=True)
        shutil.copytree(package_root(), self.work / "auto" / "qwak_auto", ignore=_IGNORED)
        common.copy_code(self.checkout.project_dir, self.work / "code")
        (self.work / dockerfile.PTH_NAME).write_text(dockerfile.pth_text(), encoding="utf-8")
        (self.work / "Dockerfile").write_text(
            dockerfile.render_stage(
                deps_image=deps_image.tag,
                site_packages=deps_image.site_packages,
                labels={f"{dockerfile.LABEL}.build-id": self.build_id},
            ),
            encoding="utf-8",
        )
        docker_result.image_modes(self.work)
        self.out.line(f"==> docker build {self.stage_image}")
        self.docker(
            dockerfile.build_argv(tag=self.stage_image, context=self.work),
            timeout=min(1800, self.remaining()),
            what="docker build of the build image",
        )
        shutil.rmtree(self.work, ignore_errors=True)

    def run_build(self, resources: list[str]) -> dict[str, Any]:
        request = self.harness_request(
            code_dir=f"{dockerfile.MODEL_DIR}/code",
            out_dir=dockerfile.BUILD_DIR,
            deadline=time.time() + self.remaining(),
        )
        argv = dockerfile.harness_argv(
            name=self.container,
            image=self.stage_image,
            resources=[*resources, *_argv_env(self.argv_env)],
            env_names=sorted(self.run_env),
            stage=self.stage.resolve(),
            user=f"{os.getuid()}:{os.getgid()}",
        )
        self.out.line(
            f"==> running the build in a container ({' '.join(resources) or 'no limits'})"
        )
        try:
            result = self.run_harness(
                argv,
                request,
                self.stage / "request.json",
                what="the build container",
                timeout=self.remaining(),
                env=docker_cli.docker_env(self.environ, self.run_env),
            )
        finally:
            docker_cli.remove_container(self.container, self.environ)
        tail = common.output_tail(result.stdout)
        if result.returncode == 137:
            limit = getattr(self.spec.resources, "memory", "")
            tail = "killed (out of memory?" + (f" memory is {limit})" if limit else ")")
        return self.harness_result("the build container", result, tail)


class DockerBuilder(BuilderBase):
    """Builds in containers of the Docker engine at DOCKER_HOST (see the module docstring)."""

    name = "docker"
    session = DockerBuild

    def __init__(self, *, base_image: str | None = None, **options: Unpack[BuildOptions]) -> None:
        super().__init__(**options)
        self.base_image = base_image


# ---------------------------------------------------------------- small helpers


def _argv_env(pairs: list[str]) -> list[str]:
    out: list[str] = []
    for pair in pairs:
        out += ["-e", pair]
    return out
