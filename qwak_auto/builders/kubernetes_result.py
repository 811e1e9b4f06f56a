"""What a build Job hands back to the run, and the build's record.

Transport (why not an object store): the build's artifact is the serving image, pushed by
the Job to the environment's registry, so only small JSON comes back: the metrics the gate
compares, parameters, test outcomes, the resolved packages. That travels in the build
step's log (one ``auto-build-result:`` line, read by the ``kubectl logs`` call that streams
the step into the build log anyway) and, in short (status, reason, metrics, the whole's
SHA-256), in its termination message, which the pod's status keeps even when the log is
gone. The runner needs no bucket and the pod no credentials to one. The long form is used
when its digest matches the termination message; otherwise the short form decides and the
build log says so. The image's digest is the image step's termination message (kaniko
``--digest-file=/dev/termination-log``); the build is deployed by that digest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from qwak_auto.builders import common
from qwak_auto.builders.kubernetes_follow import JobEnd
from qwak_auto.builders.kubernetes_pod import digest, parse_result
from qwak_auto.errors import BuildError
from qwak_auto.run.contracts import BuildResult

if TYPE_CHECKING:
    from qwak_auto.builders.kubernetes import KubernetesBuild

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}\Z")


def termination_of(message: str) -> dict[str, Any] | None:
    """A build step's termination message as the pod wrote it (None: not one of ours)."""
    try:
        value = json.loads(message)
    except ValueError:
        return None
    return value if isinstance(value, dict) and "status" in value else None


def build_result(end: JobEnd, out: common.BuildOutput) -> dict[str, Any]:
    """The build step's result: the log's long form when the termination message vouches
    for it, else the termination message's short form."""
    short = termination_of(str((end.terminated.get("build") or {}).get("message", "")))
    full = parse_result(end.logs.get("build", ""))
    if full is not None and (short is None or short.get("digest") == digest(full)):
        return full
    if short is None:
        raise BuildError(
            "the build step left no result (neither in its log nor its termination message)",
            "see the step's log above; `kubectl describe` the Job if it is still there",
        )
    out.line(
        "warning: the build step's log has no complete result; metrics come from its "
        "termination message" + (" (shortened)" if short.get("truncated") else "")
    )
    return short


def image_digest(end: JobEnd) -> str:
    said = str((end.terminated.get("image") or {}).get("message", "")).strip()
    if not _DIGEST.fullmatch(said):
        raise BuildError(
            f"the image step did not report the pushed image's digest (it said {said[:80]!r})",
            "check the kaniko executor image (kaniko_image in auto.yaml) and its log above",
        )
    return said


def finish(run: KubernetesBuild, end: JobEnd, result: Mapping[str, Any]) -> BuildResult:
    """The record of a succeeded build: provenance, metrics, the image by digest; a local
    artifact folder with provenance.json, metrics.json and the log (the model is in the
    image)."""
    image = f"{run.planned.destination}@{image_digest(end)}"
    metrics = {str(k): float(v) for k, v in (result.get("metrics") or {}).items()}
    params = {str(k): str(v) for k, v in (result.get("params") or {}).items()}
    model = result.get("model") or {}
    started = run.recorder.record.started_at
    timings = {f"harness.{k}": float(v) for k, v in (result.get("timings") or {}).items()}
    timings["total"] = (common.utcnow() - started).total_seconds()
    prov = run.provenance(
        common.utcnow(),
        dependencies={**run.dependencies, "resolved": list(result.get("resolved") or [])},
        python=str(result.get("python", "")),
        metrics=metrics,
        params=params,
        artifact={
            "model.pkl": dict(model),
            "model_class": result.get("model_class", ""),
            "image": image,
        },
        timings=timings,
        tests={"unit": str(result.get("unit_tests", "")), "it": str(result.get("it_tests", ""))},
    )
    prov["image_pushed"] = True  # the deployer deploys it as it is
    prov["kubernetes"] = run.describe(image)
    run.stage.mkdir(parents=True, exist_ok=True)
    run.out.line(f"==> image {image}")
    return run.succeeded(metrics, params, prov, image=image)
