"""Build Jobs a dead runner left in the cluster, deleted by the next tick.

Before the kubernetes builder creates a build's Job it records, in the state store (scope
``kubernetes_builds``, one key per build), where the Job is (kubectl's context and namespace)
and the objects it will create: the Job, its Secret (the git token) and its ServiceAccount.
The builder forgets the record once it deleted them. A runner killed mid-build cannot; the
next tick (:func:`remove_left`) deletes the objects of every recorded build whose run is not
running any more, so a Secret that holds a token does not outlive its build by the hour the
Job's ``ttlSecondsAfterFinished`` would take.
"""

from __future__ import annotations

from collections.abc import Sequence

from qwak_auto import log
from qwak_auto.errors import ProcError
from qwak_auto.platform import kubernetes as kube
from qwak_auto.state.base import RunStatus, StateStore

SCOPE = "kubernetes_builds"


def remember(
    store: StateStore, build_id: str, run_id: str, base: Sequence[str], objects: Sequence[str]
) -> None:
    """Record a build's objects before they are created."""
    store.set_value(
        SCOPE, build_id, {"run_id": run_id, "base": list(base), "objects": list(objects)}
    )


def forget(store: StateStore, build_id: str) -> None:
    store.delete_value(SCOPE, build_id)


def remove_left(store: StateStore) -> list[str]:
    """Delete the objects of builds whose run is not running; one line per build."""
    done = []
    for build_id, value in store.values(SCOPE).items():
        if not isinstance(value, dict):
            forget(store, build_id)
            continue
        run = store.run(str(value.get("run_id", "")))
        if run is not None and run.status is RunStatus.RUNNING:
            continue
        objects = [str(o) for o in value.get("objects") or ()]
        try:
            kube.delete([str(a) for a in value.get("base") or ()], *objects, "--cascade=background")
        except ProcError as exc:  # the cluster is away: the next tick tries again
            log.event("could not delete a dead build's Job", build=build_id, error=exc.message)
            continue
        forget(store, build_id)
        done.append(f"build {build_id}: deleted {', '.join(objects)} from the cluster")
        log.event("deleted a build Job a dead runner left", build=build_id, level="warning")
    return done
