"""``qwak_timer(name)``: time a section of model code, as a context manager or decorator."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any

from qwak import _auto_leftout
from qwak_auto import runtime

_log = logging.getLogger("qwak")


@contextlib.contextmanager
def qwak_timer(name: str) -> Iterator[None]:
    """Qwak shows these timings per model; auto's server exposes them in ``/metrics`` as
    ``auto_model_timer_seconds_sum`` / ``_count`` with a ``name`` label."""
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - started
        runtime.record_timing(str(name), elapsed)
        _log.debug("qwak_timer %s: %.6f seconds", name, elapsed)


def __getattr__(name: str) -> Any:
    raise _auto_leftout.missing(__name__, name)
