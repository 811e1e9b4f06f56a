"""The docker builder's dependency image: a base image plus ``/opt/venv`` holding one set of
dependencies, ``auto-deps:<hash>``, made once and reused by every build that needs the same.

It is made by ``docker run --network host`` (installing needs the package index) with the
host's CA bundle and pip configuration mounted read-only and the installer's settings fed on
stdin, then ``docker commit``: mounts are not part of a container's filesystem and stdin is
not part of its configuration, so neither reaches the committed image. A lock per hash keeps
two builds from making the same image at once; a killed build leaves no tag behind (the tag
is only set by the commit, after a successful install).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from qwak_auto import proc
from qwak_auto.builders import common, dockerfile
from qwak_auto.builders.requirements import PIP_CUTOFF_NOTE, Dependencies
from qwak_auto.errors import BuildError, ProcError
from qwak_auto.platform import docker as docker_cli
from qwak_auto.platform.files import write_whole
from qwak_auto.platform.locks import locked

if TYPE_CHECKING:
    from qwak_auto.builders.docker import DockerBuild

COMMIT_TIMEOUT = 900.0


@dataclass(frozen=True, slots=True, kw_only=True)
class DepsImage:
    tag: str
    digest: str
    site_packages: str
    freeze: tuple[str, ...]
    reused: bool
    warnings: tuple[str, ...]


def ensure(run: DockerBuild, deps: Dependencies, *, base: str, base_id: str) -> DepsImage:
    """The dependency image for ``deps`` on ``base``: reused when it exists, else made."""
    environ, out, remaining = run.environ, cast(IO[str], run.out), run.remaining
    digest = deps.digest(python=f"docker:{base_id}")
    tag = dockerfile.deps_tag(digest)
    folder = run.home / "cache" / "docker"
    # Held while another build makes this image (minutes, cold): wait no longer than this
    # build may still take.
    with locked(folder / f"{digest}.lock", timeout=remaining(), what=f"the image {tag}"):
        if docker_cli.image_id(tag, environ) is not None:
            site = docker_cli.image_label(tag, dockerfile.SITE_LABEL, environ)
            meta = _read_meta(folder / f"{digest}.json")
            if site:
                out.write(f"==> dependency image {tag}: reused\n")
                return DepsImage(
                    tag=tag,
                    digest=digest,
                    site_packages=site,
                    freeze=tuple(meta.get("freeze", ())),
                    reused=True,
                    warnings=tuple(meta.get("warnings", ())),
                )
        out.write(f"==> dependency image {tag}: installing into {dockerfile.VENV}\n")
        if deps.as_of is not None:
            out.write(PIP_CUTOFF_NOTE + "\n")
        made = _make(run, deps, base, tag, digest, folder)
        write_whole(
            folder / f"{digest}.json",
            json.dumps({"freeze": list(made.freeze), "warnings": list(made.warnings)}),
        )
        return made


def _make(
    run: DockerBuild, deps: Dependencies, base: str, tag: str, digest: str, folder: Path
) -> DepsImage:
    environ, out, remaining = run.environ, cast(IO[str], run.out), run.remaining
    specs = list(deps.specs())
    warnings: list[str] = []
    unpinned = [r for r in deps.requirements if r.unpinned]
    name = dockerfile.container_name("auto-deps", f"{digest}-{os.getpid()}")
    req = folder / f"{digest}-{os.getpid()}.requirements.txt"
    for attempt in (1, 2):
        req.write_text("\n".join(specs) + "\n", encoding="utf-8")
        plan = dockerfile.install_plan(environ, req, uploaded_before=deps.uploaded_before)
        started = time.monotonic()
        try:
            docker_cli.remove_container(name, environ)
            result = proc.run(
                dockerfile.install_argv(name=name, base_image=base, plan=plan),
                timeout=remaining(),
                env=docker_cli.docker_env(environ),
                stdout=out,
                input=dockerfile.settings_script(plan.settings),
                check=False,
            )
            if result.returncode == 0:
                site, freeze = parse_install(result.stdout)
                proc.run(
                    dockerfile.commit_argv(name=name, tag=tag, site_packages=site, base=base),
                    timeout=min(COMMIT_TIMEOUT, remaining()),
                    env=docker_cli.docker_env(environ),
                )
                out.write(
                    f"==> dependency image {tag}: made in {time.monotonic() - started:.0f}s\n"
                )
                return DepsImage(
                    tag=tag,
                    digest=digest,
                    site_packages=site,
                    freeze=tuple(freeze),
                    reused=False,
                    warnings=tuple(warnings),
                )
        except ProcError as exc:
            if "did not finish" in exc.message:
                raise BuildError(
                    "installing dependencies took longer than the build's timeout"
                ) from None
            raise BuildError(f"installing dependencies failed: {reason(exc)}") from None
        finally:
            req.unlink(missing_ok=True)
            docker_cli.remove_container(name, environ)
        if attempt == 1 and unpinned:
            # As the local builder does: a pin that cannot be satisfied is dropped with a
            # warning naming its line, and the build goes on.
            for requirement in unpinned:
                said = f"{requirement.origin}: {requirement.spec} cannot be satisfied"
                warnings.append(f"{said}; installed {requirement.unpinned}")
                out.write(f"warning: {said}; trying {requirement.unpinned}\n")
            relaxed = {r.spec: r.unpinned for r in unpinned}
            specs = [relaxed.get(s) or s for s in specs]
            continue
        raise BuildError(
            f"dependencies failed to install: {last_error(result.stdout)}",
            "check the dependency file; the build log has the installer's output",
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def parse_install(output: str) -> tuple[str, list[str]]:
    """The venv's site-packages and ``pip freeze`` from the install step's output."""
    site = ""
    freeze: list[str] = []
    for line in output.splitlines():
        if line.startswith("freeze: "):
            freeze.append(line[len("freeze: ") :].strip())
        elif line.startswith("site-packages: "):
            site = line[len("site-packages: ") :].strip()
    if not site.startswith("/"):
        raise BuildError("the dependency step did not report the venv's site-packages")
    return site, freeze


def last_error(output: str) -> str:
    """The line of a program's output that best says why it failed."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        lower = line.lower()
        if "error" in lower or "because" in lower or "no matching" in lower:
            return common.one_line(line)[:300]
    return common.one_line(lines[-1])[:300] if lines else "no output"


def reason(exc: ProcError) -> str:
    text = exc.stderr or exc.stdout
    return last_error(text) if text else exc.message
