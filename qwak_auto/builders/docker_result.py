"""The end of a docker build: provenance, the serving image, the record, the BuildResult.

Split from :mod:`qwak_auto.builders.docker` (the build's preflight and steps); ``finish`` runs
once the harness succeeded, on the :class:`~qwak_auto.builders.docker.DockerBuild` state.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qwak_auto.builders import common, dockerfile
from qwak_auto.builders.docker_deps import DepsImage
from qwak_auto.builders.requirements import Dependencies
from qwak_auto.builders.session import LEFTOVERS
from qwak_auto.platform import docker as docker_cli
from qwak_auto.run.contracts import BuildResult

if TYPE_CHECKING:
    from qwak_auto.builders.docker import DockerBuild


def finish(
    run: DockerBuild,
    deps: Dependencies,
    deps_image: DepsImage,
    base: str,
    base_id: str,
    harness: Mapping[str, Any],
    resources: list[str],
) -> BuildResult:
    """Provenance and metrics into the staged artifact, the serving image on top of the build
    image, then the artifact renamed into place and the build recorded succeeded."""
    dependencies = common.dependencies_record(
        deps, run.checkout.project_dir, deps_image, "pip (docker)"
    )
    metrics, params, prov = run.harness_outcome(
        harness, dependencies, run.timings, artifact_extra={"image": run.final_image}
    )
    prov["docker"] = {
        "image": run.final_image,
        "base_image": base,
        "base_image_id": base_id,
        "dependency_image": deps_image.tag,
        "resources": resources,
        "assumed_iam_role": run.spec.assumed_iam_role or None,
        "warnings": list(run.warnings),
    }
    for leftover in LEFTOVERS:
        (run.stage / leftover).unlink(missing_ok=True)
    common.write_json(run.stage / "metrics.json", metrics)
    common.write_json(run.stage / "provenance.json", prov)
    build_final_image(run)
    image_id = docker_cli.image_id(run.final_image, run.environ) or ""
    prov["docker"]["image_id"] = image_id
    run.cleanup(failed=False)
    run.out.line(f"==> image {run.final_image} ({image_id[:19]})")
    return run.succeeded(metrics, params, prov, image=run.final_image)


def build_final_image(run: DockerBuild) -> None:
    """``auto/<model_id>:<build_id>``: the build image plus model.pkl, metrics and provenance."""
    files = ["model.pkl", "metrics.json", "provenance.json"]
    context = run.work / "final"
    if context.exists():
        shutil.rmtree(context)
    context.mkdir(parents=True)
    for name in files:
        # A copy, not a link: the image's files are made readable to its user (below), the
        # build's own stay private to the home's owner.
        shutil.copyfile(run.stage / name, context / name)
    image_modes(context)
    (context / "Dockerfile").write_text(
        dockerfile.render_final(
            stage_image=run.stage_image,
            files=files,
            model_id=run.model_id,
            build_id=run.build_id,
        ),
        encoding="utf-8",
    )
    run.out.line(f"==> docker build {run.final_image}")
    run.docker(
        dockerfile.build_argv(tag=run.final_image, context=context),
        timeout=min(1800, run.remaining()),
        what="docker build of the model image",
    )


def image_modes(context: Path) -> None:
    """Make a docker build context readable by every user (``a+rX``): COPY keeps a file's
    mode and makes root its owner, and what auto writes in its home is 0600 (issue 14), so
    the image's user (``--user UID``, a Kubernetes pod's non-root user) could not read its
    own code otherwise. The context itself stays inside the private home."""
    for folder, dirs, names in os.walk(context):
        for name in dirs:
            (Path(folder) / name).chmod(0o755)
        for name in names:
            path = Path(folder) / name
            if not path.is_symlink():
                path.chmod(0o755 if path.stat().st_mode & 0o100 else 0o644)
    context.chmod(0o755)
