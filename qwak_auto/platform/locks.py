"""File locks between auto processes (runners, commands) on one machine, with a timeout.

``flock`` on a lock file next to what it protects: the kernel releases it when the holder
dies, so a killed runner never leaves a lock behind. A waiter gives up after ``timeout``
seconds with a message that says what it waited for and where the lock file is.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from qwak_auto.errors import AutoError

POLL = 0.05


class LockTimeout(AutoError):
    """Another process held the lock for longer than the caller would wait."""


@contextlib.contextmanager
def locked(path: Path, *, timeout: float, what: str) -> Iterator[None]:
    """Hold the exclusive lock of ``path`` (created 0600) for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        f"{what}: another auto process held the lock for more than "
                        f"{timeout:g}s ({path})",
                        "wait for it to finish and try again; a process that died releases "
                        "the lock by itself",
                    ) from None
                time.sleep(POLL)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
