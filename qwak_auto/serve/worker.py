"""Per-worker machinery of the model server: loading the model, running predict() with a
timeout, and the one background thread that writes the prediction log and metric snapshots.
Standard library, pandas and cloudpickle only (this runs in the build environment)."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qwak_auto.redact import redact
from qwak_auto.serve.io import Payload
from qwak_auto.serve.metrics import Metrics
from qwak_auto.serve.predlog import Entry, PredictionLog


def prepare_process(artifact: Path) -> None:
    """Make the model's code importable and its data files readable, as in Qwak: the
    artifact's ``code/`` first on sys.path, ``code/main`` last, and ``code/main`` the working
    directory (Qwak models read data files relative to main/)."""
    code = artifact / "code"
    if code.is_dir():
        sys.path.insert(0, str(code))
        main = code / "main"
        if main.is_dir():
            sys.path.append(str(main))
            os.chdir(main)
        else:
            os.chdir(code)


def load_model(artifact: Path) -> Any:
    import cloudpickle

    # The request path parses into and answers from pandas: import it now, before the worker
    # says it is ready, not in its first request (1-2 s after /ready, for a model whose own
    # code does not import pandas).
    import pandas  # noqa: F401

    with (artifact / "model.pkl").open("rb") as handle:
        model = cloudpickle.load(handle)
    init = getattr(model, "initialize_model", None)
    if callable(init):
        init()
    if not callable(getattr(model, "predict", None)):
        raise TypeError(f"the unpickled {type(model).__name__} has no predict() method")
    return model


class ModelHolder:
    """Loads the model once, in a thread; predictions wait for it."""

    def __init__(self, loader: Callable[[], Any]) -> None:
        self._loader = loader
        self._loaded = threading.Event()
        self.model: Any = None
        self.error = ""

    @property
    def ready(self) -> bool:
        return self._loaded.is_set() and not self.error

    def start(self, on_loaded: Callable[[], None], on_failure: Callable[[str], None]) -> None:
        def run() -> None:
            try:
                self.model = self._loader()
            except BaseException:  # noqa: BLE001 - reported, then the worker exits
                self.error = redact(traceback.format_exc())
                self._loaded.set()
                on_failure(self.error)
                return
            self._loaded.set()
            on_loaded()

        threading.Thread(target=run, name="auto-model-loader", daemon=True).start()

    def wait(self, timeout: float) -> Any:
        self._loaded.wait(timeout)
        return self.model if self.ready else None


class PredictPool:
    """Runs predict() with a timeout. A prediction past its timeout keeps its thread until it
    returns; when too many are stuck, a fresh pool takes new work so serving goes on."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._stuck = 0
        self._pool = concurrent.futures.ThreadPoolExecutor(size, "auto-predict")

    def run(self, fn: Callable[[], Any], timeout: float) -> Any:
        with self._lock:
            pool = self._pool
        future = pool.submit(fn)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            self._stuck_one(future)
            raise

    def _stuck_one(self, future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self._stuck += 1
            if self._stuck >= self.size - 1:
                self._pool.shutdown(wait=False)
                self._pool = concurrent.futures.ThreadPoolExecutor(self.size, "auto-predict")
                self._stuck = 0

        def done(_: concurrent.futures.Future[Any]) -> None:
            with self._lock:
                self._stuck = max(0, self._stuck - 1)

        future.add_done_callback(done)


class Background:
    """The worker's one background thread: prediction-log writes, segment rotation and
    metric snapshots. The request path only puts items on a bounded queue."""

    def __init__(self, log: PredictionLog | None, metrics: Metrics, limit: int = 10_000) -> None:
        self.log = log
        self.metrics = metrics
        self._queue: queue.Queue[tuple[Payload, str | None, float, int, float] | None]
        self._queue = queue.Queue(limit)
        self._thread = threading.Thread(target=self._loop, name="auto-background", daemon=True)
        self._closed = False
        self._thread.start()

    def submit(self, payload: Payload, output: str | None, ms: float, status: int) -> None:
        if self.log is None or self._closed:
            return
        try:
            self._queue.put_nowait((payload, output, ms, status, time.time()))
        except queue.Full:
            self.metrics.log_error(dropped=True)

    def _loop(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=0.5)
            except queue.Empty:
                self._housekeeping()
                continue
            if item is None:
                return
            self._write(*item)
            if self._queue.empty():
                self._housekeeping()

    def _write(
        self, payload: Payload, output: str | None, ms: float, status: int, ts: float
    ) -> None:
        assert self.log is not None
        try:
            predictions = json.loads(output) if output else []
            if not isinstance(predictions, list):
                predictions = [predictions]
            self.log.write(Entry(payload.as_records(), predictions, ms, status, ts))
        except Exception:  # noqa: BLE001 - the log never fails a request: count it
            self.metrics.log_error()

    def _housekeeping(self) -> None:
        try:
            if self.log is not None:
                self.log.flush()
                self.log.rotate_if_due()
        except Exception:  # noqa: BLE001
            self.metrics.log_error()
        self.metrics.persist()

    def close(self, timeout: float = 10.0) -> None:
        """Drain the queue, close the open segment, write the last metric snapshot."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=timeout)
        self._thread.join(timeout)
        try:
            if self.log is not None:
                self.log.close()
        except Exception:  # noqa: BLE001
            self.metrics.log_error()
        self.metrics.persist(force=True)
