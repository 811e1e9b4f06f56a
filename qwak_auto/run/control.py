"""What keeps a run under control while it executes: stop requests and the lease heartbeat.

A stop request (SIGTERM/SIGINT) is soft first (stop claiming, stop after the current step)
and hard on the second request (interrupt the current step too). The heartbeat renews the
run's lease every third of it, so a runner killed mid-step is recognised by the next tick
(its lease expires) and the slot retried.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from qwak_auto import log
from qwak_auto.state.base import RunRecord, StateStore


def utcnow() -> datetime:
    return datetime.now(UTC)


class Stop:
    """Stop requests (signals). The first asks to stop claiming and to stop after the
    current step; the second interrupts the current step too."""

    def __init__(self) -> None:
        self.soft = threading.Event()
        self.hard = threading.Event()
        self.signal = ""

    def request(self, signal_name: str = "stop requested") -> None:
        if self.soft.is_set():
            self.hard.set()
        self.signal = self.signal or signal_name
        self.soft.set()


class Heartbeat:
    """Renews the run's lease every lease/3 seconds while the run is active."""

    def __init__(self, store: StateStore, run: RunRecord, owner: str, lease: float) -> None:
        self._store, self._run, self._owner, self._lease = store, run, owner, lease
        self._done = threading.Event()
        self.lost = False
        self._thread = threading.Thread(target=self._beat, name="auto-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop renewing (at the end, or once the run waits for approval and holds no lease)."""
        self._done.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def _beat(self) -> None:
        while not self._done.wait(self._lease / 3):
            try:
                alive = self._store.heartbeat(self._run.run_id, self._owner, utcnow(), self._lease)
            except Exception as exc:  # noqa: BLE001 - a flaky store must not kill the run
                log.event("heartbeat failed", run=self._run.run_id, error=str(exc))
                continue
            if not alive and not self.lost:
                self.lost = True
                log.event("lease lost: another runner took this run over", run=self._run.run_id)
