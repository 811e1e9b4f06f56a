"""How a new local build takes its variation's traffic, watched, and what a breach undoes.

After the smoke (:mod:`qwak_auto.deploy.smoke`), the new build's backend joins its
variation's site: with a ``rollout``, at each ``canary_steps`` percent for ``step_time``
(the builds that served before keep the rest), then at 100 % for ``bake_time``; without one,
at 100 % at once. During each window its own ``/metrics`` are compared with the limits
(:mod:`qwak_auto.deploy.watch`) every second: a breach, or the new server dying, puts the
traffic back where it was (traffic first, then the process is stopped) and raises
:class:`RolledBack` with the measured figures. Every phase is written into the new
deployment's record (status ``canary`` / ``baking``, the weights, the windows), so
``auto status`` shows it and a runner that dies mid-watch leaves what the next tick needs to
finish it (:func:`qwak_auto.deploy.local.recover`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from qwak_auto import log
from qwak_auto.automation.rollout import Rollout
from qwak_auto.deploy import backends, watch
from qwak_auto.deploy.sites import Backend, Site, Sites
from qwak_auto.errors import DeployError, RolledBack
from qwak_auto.state.base import DeploymentRecord, StateStore

POLL = 1.0  # seconds between two looks at the new build's metrics
DRAIN_SECONDS = 30.0  # at most, for the requests in flight to a server being taken out
COUNTERS_WRITTEN = 1.2  # a worker writes its counters for the others once a second
# After the slot files change, a request that read the old address just before may still be
# on its way to the server taken out; it has arrived by then.
SETTLE = 0.2


Cancelled = Callable[[], bool]  # the run was stopped or timed out: stop watching, roll back


def take_traffic(
    *,
    sites: Sites,
    site: Site,
    new: Backend,
    record: DeploymentRecord,
    store: StateStore,
    rollout: Rollout,
    environ: Any,
    cancelled: Cancelled = lambda: False,
) -> tuple[Site, DeploymentRecord]:
    """Move the variation's traffic to ``new`` (see the module docstring). Returns the site
    and the record as they are once the new build serves all of it."""
    before = site.backends
    windows: list[dict[str, Any]] = []
    baseline = watch.scrape(int(record.detail["backend_port"]))  # the smoke's answers excluded
    phases = [(p, f"canary {p}%", rollout.step_seconds) for p in rollout.canary_steps]
    phases.append((100, "bake", rollout.bake_seconds))
    for index, (percent, phase, seconds) in enumerate(phases if before else [(100, "bake", 0)]):
        if cancelled():  # the run stopped (timed out): a late deploy never moves traffic
            if index:
                _undo(sites, site, before, record, environ, baseline)
            raise DeployError(
                f"the run was stopped before the {phase}; the new build took no more traffic",
                "the previous build serves all of the traffic",
            )
        site, record = _shift(sites, site, before, new, percent, record, store, phase)
        if seconds <= 0:
            continue
        ok, reason = _watch(record, store, rollout, seconds, phase, windows, cancelled, environ)
        if not ok:
            total = _undo(sites, site, before, record, environ, baseline)
            message = (
                f"rolled back during the {phase}: {reason}; in all, the new build answered "
                f"clients {total.requests} times, {total.errors} with a 5xx"
            )
            detail = {**record.detail, "windows": windows, "total": total.as_dict()}
            store.save_deployment(
                replace(record, status="rolled_back", reason=message, detail=detail)
            )
            raise RolledBack(
                message,
                "the previous build serves all of the traffic again; the new build's server "
                "log has its errors",
            )
    return site, replace(record, detail={**record.detail, "windows": windows})


def _shift(
    sites: Sites,
    site: Site,
    before: Sequence[Backend],
    new: Backend,
    percent: int,
    record: DeploymentRecord,
    store: StateStore,
    phase: str,
) -> tuple[Site, DeploymentRecord]:
    old_share = 100 - percent
    backends_now = [replace(b, weight=b.weight * old_share // 100) for b in before]
    site = site.with_backends([*backends_now, replace(new, weight=percent)])
    sites.save(site)
    sites.apply()
    weights = {b.deployment_id: b.weight for b in site.backends}
    status = ("canary" if percent < 100 else "baking") if before else record.status
    record = replace(
        record,
        status=status,
        detail={**record.detail, "phase": phase, "weights": weights,
                "previous_backends": [b.deployment_id for b in before]},
    )  # fmt: skip
    store.save_deployment(record)
    log.event("traffic shifted", deployment=record.deployment_id, percent=percent)
    return site, record


def _watch(
    record: DeploymentRecord,
    store: StateStore,
    rollout: Rollout,
    seconds: int,
    phase: str,
    windows: list[dict[str, Any]],
    cancelled: Cancelled,
    environ: Any,
) -> tuple[bool, str]:
    """Watch the new build for ``seconds``; (False, why) at the first breach."""
    port = int(record.detail["backend_port"])
    start = watch.scrape(port)
    started = time.monotonic()
    while True:
        elapsed = time.monotonic() - started
        win = watch.window(start, watch.scrape(port), elapsed)
        verdict, reason = watch.judge(win, rollout)
        if verdict is not False and not backends.alive(record.detail, environ):
            verdict, reason = False, f"the new build's server stopped during the {phase}"
        if verdict is not False and cancelled():
            verdict, reason = False, f"the run was stopped during the {phase}"
        if verdict is False or elapsed >= seconds:
            break
        time.sleep(min(POLL, max(0.0, seconds - elapsed)))
    windows.append({"phase": phase, "verdict": verdict, "reason": reason, **win.as_dict()})
    store.save_deployment(replace(record, detail={**record.detail, "windows": windows}))
    log.event("watched", deployment=record.deployment_id, phase=phase, verdict=reason)
    return verdict is not False, reason


def _undo(
    sites: Sites,
    site: Site,
    before: Sequence[Backend],
    record: DeploymentRecord,
    environ: Any,
    baseline: watch.Scrape,
) -> watch.Window:
    """Traffic back to the builds that served before, then, once the requests in flight to
    the new server are answered, it is stopped. Returns everything it answered clients."""
    sites.save(site.with_backends(before))
    sites.apply()
    port = int(record.detail["backend_port"])
    total = watch.window(baseline, drain(port, DRAIN_SECONDS), 0.0)
    backends.stop(record.detail, environ, grace=10)
    log.event("rolled back", deployment=record.deployment_id, level="warning")
    return total


def drain(port: int, timeout: float) -> watch.Scrape:
    """Wait until the server at ``port``, which takes no new requests (no slot names it any
    more: :mod:`qwak_auto.deploy.slots`), has answered the ones in flight: its answer count
    holds still over one interval of its counters (bounded). Returns the last scrape."""
    deadline = time.monotonic() + timeout
    time.sleep(SETTLE)
    last = watch.scrape(port)
    while time.monotonic() < deadline:
        time.sleep(COUNTERS_WRITTEN)
        now = watch.scrape(port)
        if watch.window(last, now, 0.0).requests == 0:
            return now
        last = now
    log.event("a server was still busy; stopping it anyway", level="warning", port=port)
    return last
