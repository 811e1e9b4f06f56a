"""The state store: records of automations, runs, steps, builds, deployments, evaluations.

Usage (runner / scheduler)::

    from qwak_auto.state import open_store
    store = open_store(config)            # migrated; SQLite at config.home/state.db by default
    claim = store.claim(ClaimRequest(automation=name, run_key=f"{name}@{slot.isoformat()}",
                                     trigger_reason="schedule", scheduled_for=slot, owner=owner,
                                     now=now, lease_seconds=60, forbid_overlap=True))
    if claim.claimed:
        run = claim.run                    # status running, attempt 1 (or 2: a retried slot)
        # heartbeat from a thread every lease/3 s; False means the lease is lost: stop.
        store.heartbeat(run.run_id, owner, now, lease_seconds=60)
        store.start_step(run.run_id, "build", now)
        store.finish_step(run.run_id, "build", StepStatus.OK, "built abc123", {}, now)
        store.finish_run(run.run_id, RunStatus.SUCCEEDED, "", now, owner=owner)
    store.close()

Claim rules, all inside one transaction:

- ``run_key`` is UNIQUE: a slot is claimed exactly once across any number of processes.
  An existing key → ``Claim(claimed=False, reason="already claimed")``, except a run that
  is ``abandoned`` at attempt 1: the next claim re-claims it once (same run_id, attempt 2,
  new owner, status running). An abandoned attempt 2 stays abandoned.
- ``forbid_overlap`` and another run of the automation is running with an unexpired lease →
  ``Claim(claimed=False, reason="still running")``; a new slot is recorded once as a
  ``skipped`` run with error "still running" (an abandoned slot just waits for a later try).
- Call ``abandon_expired(now)`` before claiming: runs whose lease expired become
  ``abandoned`` (their running steps ``interrupted``) and are returned.

Runs that wait for a person's approval (``awaiting_approval``, no lease) and their exactly-once
continuation: :mod:`qwak_auto.state.approvals`.

One store object holds one connection guarded by a lock, so a heartbeat thread may share
it. Datetimes go in and come out timezone-aware UTC; naive ones raise ValueError.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from qwak_auto.errors import ConfigError

if TYPE_CHECKING:
    from qwak_auto.config import Config
    from qwak_auto.state.base import StateStore

URL_HINT = "use sqlite:///PATH (sqlite:////absolute/path) or postgresql://USER@HOST:PORT/DATABASE"


def sqlite_path(url: str, base: Path) -> Path:
    """The file of a ``sqlite:///PATH`` URL (relative paths from ``base``)."""
    rest = url.removeprefix("sqlite:///")
    if rest == url or not rest.strip():
        raise ConfigError(f"state: {url!r} is not a SQLite URL", URL_HINT)
    path = Path(rest).expanduser()
    return path if path.is_absolute() else base / path


def open_store(config: Config) -> StateStore:
    """The configured store, created and migrated on first use."""
    url = config.state_url.strip() or f"sqlite:///{config.home / 'state.db'}"
    try:
        return open_url(url, config.source.parent if config.source is not None else None)
    except ConfigError as exc:
        # Say where the bad URL was set: AUTO_STATE_URL or the auto.yaml.
        origin = config.origins.get("state", "default")
        raise ConfigError(f"{exc.message} (set by {origin})", exc.hint) from None


def open_url(url: str, base: Path | None = None) -> StateStore:
    """The store at ``url`` (relative SQLite paths from ``base``, else the working directory)."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "sqlite":
        from qwak_auto.state.sqlite import SqliteStore

        return SqliteStore(sqlite_path(url, base or Path.cwd()))
    if scheme in ("postgresql", "postgres"):
        from qwak_auto.state.postgres import PostgresStore

        return PostgresStore(url)
    raise ConfigError(f"state: {scheme or url!r} is not a supported state store", URL_HINT)
