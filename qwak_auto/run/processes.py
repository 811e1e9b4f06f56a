"""The programs a run's steps start, recorded before they are waited for, and stopped when the
step is cancelled or its runner dies.

Each step gets a :class:`StepLedger` (the :class:`qwak_auto.proc.Ledger` of its thread): every
program it starts is written to the state store (scope ``processes``, one key per program:
run, step, pid, process group, start time, what it is) and forgotten when it exits. When the
step times out or a second stop request comes, :meth:`StepLedger.stop` asks every process
group still running to stop (SIGTERM), then kills what ignored it (SIGKILL), and from then
on no program of that step starts. Model servers that a successful deploy hands to their
deployment are forgotten here (:meth:`StepLedger.keep_servers`): the deployment owns them.

A runner killed with ``kill -9`` cannot do any of this; its programs die with it where the
OS allows (``proc`` starts them with a parent-death signal) and the next tick stops the rest
(:func:`reap`), identified by pid *and* start time so a reused pid is never signalled.
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from qwak_auto import log, proc
from qwak_auto.state.base import RunStatus, StateStore

SCOPE = "processes"
TERM_GRACE = 5.0  # seconds a stopped program gets to exit before it is killed


def _stat(pid: int | str) -> list[str] | None:
    """/proc/PID/stat after the command name: state, ppid, pgrp, ... (None when gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields if len(fields) > 19 and fields[0] not in ("Z", "X") else None


def start_ticks(pid: int) -> int | None:
    """The process's start time (clock ticks since boot), None when it is gone."""
    fields = _stat(pid)
    return int(fields[19]) if fields else None


def group_alive(pgid: int, since: int | None) -> bool:
    """Does any process of group ``pgid`` live that started at or after ``since``? (A group
    outlives its leader: git's helpers, a harness's children.) A pid is not given to a new
    process while a group of that id has members, so these are the group's own."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(entry.name)
        if fields and int(fields[2]) == pgid and (since is None or int(fields[19]) >= since):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Program:
    run_id: str
    step: str
    pid: int
    ticks: int | None
    what: str
    server: bool

    @property
    def key(self) -> str:
        return f"{self.run_id}/{self.pid}"

    def running(self) -> bool:
        """The program or anything of its process group still runs."""
        ticks = start_ticks(self.pid)
        if ticks is not None and (self.ticks is None or ticks == self.ticks):
            return True
        return group_alive(self.pid, self.ticks)

    def signal_group(self, sig: int) -> bool:
        return self.running() and proc.kill_group(self.pid, sig)


class StepLedger:
    """One step's programs (a :class:`qwak_auto.proc.Ledger`)."""

    def __init__(self, store: StateStore, run_id: str, step: str) -> None:
        self.store = store
        self.run_id = run_id
        self.step = step
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._programs: dict[int, Program] = {}

    def started(self, pid: int, what: str, *, server: bool) -> None:
        program = Program(self.run_id, self.step, pid, start_ticks(pid), what, server)
        with self._lock:
            self._programs[pid] = program
        self.store.set_value(SCOPE, program.key, _json(program))

    def finished(self, pid: int) -> None:
        with self._lock:
            program = self._programs.pop(pid, None)
        if program is not None:
            self.store.delete_value(SCOPE, program.key)

    def cancelled(self) -> bool:
        return self._stopped.is_set()

    def keep_servers(self) -> None:
        """The servers this step started now belong to their deployment."""
        with self._lock:
            servers = [p for p in self._programs.values() if p.server]
            for p in servers:
                del self._programs[p.pid]
        for p in servers:
            self.store.delete_value(SCOPE, p.key)

    def stop(self, grace: float = TERM_GRACE) -> list[str]:
        """Cancel the step: no program starts any more; every one running is stopped
        (SIGTERM to its group, SIGKILL after ``grace``). Returns what was stopped."""
        self._stopped.set()
        with self._lock:
            programs = list(self._programs.values())
        stopped = _stop(programs, grace)
        for p in programs:
            self.finished(p.pid)
        return stopped


def _stop(programs: list[Program], grace: float) -> list[str]:
    live = [p for p in programs if p.signal_group(signal.SIGTERM)]
    deadline = time.monotonic() + grace
    while any(p.running() for p in live) and time.monotonic() < deadline:
        time.sleep(0.05)
    for p in live:
        if p.running():
            p.signal_group(signal.SIGKILL)
    return [f"{p.what} (pid {p.pid})" for p in live]


def _json(p: Program) -> dict[str, object]:
    return {**asdict(p), "started_at": datetime.now(UTC).isoformat()}


def reap(store: StateStore) -> list[str]:
    """Stop the programs of runs that are no longer running (their runner died, or stopped
    without cleaning up) and forget them. Returns one line per program stopped."""
    programs: list[Program] = []
    for key, value in store.values(SCOPE).items():
        if not isinstance(value, dict):
            store.delete_value(SCOPE, key)
            continue
        run = store.run(str(value.get("run_id", "")))
        if run is not None and run.status is RunStatus.RUNNING:
            continue
        programs.append(
            Program(
                run_id=str(value.get("run_id", "")),
                step=str(value.get("step", "")),
                pid=int(value.get("pid", 0)),
                ticks=value.get("ticks") if isinstance(value.get("ticks"), int) else None,
                what=str(value.get("what", "")),
                server=bool(value.get("server")),
            )
        )
    stopped = _stop(programs, TERM_GRACE)
    for p in programs:
        store.delete_value(SCOPE, p.key)
    for line in stopped:
        log.event("stopped a program a dead runner left", program=line, level="warning")
    return stopped
