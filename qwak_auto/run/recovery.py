"""What the next tick (and `auto undeploy`) finishes for a runner that died: its programs
stopped, its half-made builds recorded failed and their staging folders removed (and their
build Jobs deleted from the cluster), its
half-done local deployments given back to the builds that served before; and the local
proxy, if it is gone (crashed, machine rebooted), started again with the recorded routes."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from qwak_auto import log
from qwak_auto.builders.common import builds_dir
from qwak_auto.builders.kubernetes_leftovers import remove_left as remove_left_jobs
from qwak_auto.deploy.local import recover as recover_deployments
from qwak_auto.deploy.sites import Sites
from qwak_auto.run.processes import reap
from qwak_auto.state.base import RunStatus

if TYPE_CHECKING:
    from qwak_auto.config import Config
    from qwak_auto.state.base import StateStore

BUILDS_LOOKED_AT = 500


def recover(store: StateStore, config: Config, environ: Mapping[str, str]) -> list[str]:
    """Everything left by runs that are not running any more; one line per thing done."""
    done = [f"stopped {line}" for line in reap(store)]
    done += _builds(store, config)
    done += remove_left_jobs(store)
    done += recover_deployments(store, config.home, environ)
    proxy = Sites(store, config.home, environ).ensure()  # after a crash or a reboot
    if proxy != "running":
        done.append(f"local proxy {proxy}, with the recorded routes")
    return done


def _builds(store: StateStore, config: Config) -> list[str]:
    done = []
    for build in store.builds(limit=BUILDS_LOOKED_AT):
        if build.status != "running" or not build.run_id:
            continue
        run = store.run(build.run_id)
        if run is not None and run.status is RunStatus.RUNNING:
            continue
        reason = "the runner stopped during the build"
        store.save_build(replace(build, status="failed", reason=reason, ended_at=datetime.now(UTC)))
        staging = builds_dir(config.home) / f".tmp-{build.build_id}"
        shutil.rmtree(staging, ignore_errors=True)
        done.append(f"build {build.build_id}: {reason}; recorded failed")
        log.event("finished a build a dead runner left", build=build.build_id, level="warning")
    return done
