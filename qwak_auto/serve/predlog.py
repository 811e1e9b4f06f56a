"""The prediction log: one JSON line per input row, in rotating per-worker segment files.

``<root>/<model_id>/<variation>/<build_id>-<pid>-<start_ms>.jsonl.open`` while written,
renamed to ``.jsonl`` when closed (every ``max_records`` lines, ``max_seconds`` after the
segment opened, and at shutdown). The gate's loader ingests closed segments; it may read
the complete lines of an open one. This class is synchronous and single-threaded: the server
calls it from its one background thread, never from the request path (see app.py).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from qwak_auto.serve.io import jsonable

OPEN_SUFFIX = ".jsonl.open"


@dataclass(frozen=True, slots=True)
class Entry:
    """One logged request: its input rows, output rows, latency and status."""

    features: Sequence[Mapping[str, Any]]
    predictions: Sequence[Any]
    latency_ms: float
    status: int
    ts: float  # epoch seconds


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


class PredictionLog:
    def __init__(
        self,
        root: Path,
        *,
        model_id: str,
        build_id: str,
        variation: str,
        environment: str,
        max_records: int = 1000,
        max_seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = root / model_id / variation
        self.model_id = model_id
        self.build_id = build_id
        self.variation = variation
        self.environment = environment
        self.max_records = max_records
        self.max_seconds = max_seconds
        self.clock = clock
        self._file: IO[str] | None = None
        self._path: Path | None = None
        self._opened = 0.0
        self._count = 0

    @property
    def current(self) -> Path | None:
        return self._path

    def write(self, entry: Entry) -> None:
        ts = datetime.fromtimestamp(entry.ts, UTC).isoformat(timespec="milliseconds")
        ts = ts.replace("+00:00", "Z")
        preds = list(entry.predictions)
        lines = []
        for i, features in enumerate(entry.features):
            line = {
                "model_id": self.model_id,
                "build_id": self.build_id,
                "variation": self.variation,
                "environment": self.environment,
                "ts": ts,
                "latency_ms": round(entry.latency_ms, 3),
                "status": entry.status,
                "features": features,
                "prediction": preds[i] if i < len(preds) else None,
                "label": None,
            }
            try:
                encoded = json.dumps(line, default=jsonable, allow_nan=False)
            except ValueError:  # NaN/Infinity are not JSON: log them as null
                encoded = json.dumps(_finite(line), default=jsonable, allow_nan=False)
            lines.append(encoded + "\n")
        for text in lines:
            handle = self._handle()
            handle.write(text)
            self._count += 1
            if self._count >= self.max_records:
                self.close()

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def rotate_if_due(self) -> None:
        if self._file is not None and self.clock() - self._opened >= self.max_seconds:
            self.close()

    def close(self) -> None:
        """Close the open segment and give it its final ``.jsonl`` name."""
        if self._file is None or self._path is None:
            return
        handle, path = self._file, self._path
        self._file, self._path, self._count = None, None, 0
        handle.close()
        path.rename(path.with_name(path.name[: -len(".open")]))

    def _handle(self) -> IO[str]:
        if self._file is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._opened = self.clock()
            stamp = int(self._opened * 1000)
            name = f"{self.build_id}-{os.getpid()}-{stamp}{OPEN_SUFFIX}"
            path = self.directory / name
            n = 1
            while path.exists() or path.with_name(path.name[: -len(".open")]).exists():
                path = self.directory / f"{self.build_id}-{os.getpid()}-{stamp}_{n}{OPEN_SUFFIX}"
                n += 1
            self._path = path
            self._file = path.open("a", encoding="utf-8")
        return self._file
