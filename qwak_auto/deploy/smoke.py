"""Smoke before traffic: a new build must answer the repository's sample request and recent
production requests with 2xx, at its own port, before it takes any of its variation's
traffic. Otherwise the deploy fails and nothing is switched.

The production requests come from the model's prediction log (one JSON line per input row,
``<home>/predictions/<model_id>/<variation>/*.jsonl[.open]``, newest segments first); each
is replayed as a one-row request to ``/v1/<model_id>/predict``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qwak_auto.automation.rollout import Rollout
from qwak_auto.deploy import processes
from qwak_auto.errors import DeployError

REQUEST_TIMEOUT = 30.0
# The model server answers these like any request but neither counts nor logs them: they are
# not client traffic, and a replayed production request must not be logged twice.
SMOKE_HEADER = {"X-Auto-Smoke": "1"}
MAX_SEGMENTS = 20  # the newest segments a replay reads


@dataclass(frozen=True, slots=True)
class SmokeReport:
    sent: int
    from_file: bool
    replayed: int

    def summary(self) -> str:
        if not self.sent:
            return "smoke: no sample request file and no production requests to replay"
        parts = (["the sample request"] if self.from_file else []) + (
            [f"{self.replayed} recent production requests"] if self.replayed else []
        )
        return f"smoke: answered {' and '.join(parts)} with 2xx"


def run(
    *,
    port: int,
    model_id: str,
    code_dir: Path,
    predictions: Path,
    rollout: Rollout,
    max_batch_size: int = 1,
) -> SmokeReport:
    """Send every smoke request to 127.0.0.1:port; DeployError on the first non-2xx."""
    path = f"/v1/{model_id}/predict"
    sample = code_dir / rollout.smoke_request_file
    from_file = sample.is_file()
    if from_file:
        what = f"the sample request {rollout.smoke_request_file}"
        for body in batches(sample.read_bytes(), max_batch_size):
            _send(port, path, body, what)
    replayed = 0
    for features in recent_requests(predictions / model_id, rollout.smoke_replay):
        replayed += 1
        _send(port, path, json.dumps([features]).encode(), f"production request {replayed}")
    return SmokeReport(sent=int(from_file) + replayed, from_file=from_file, replayed=replayed)


def batches(body: bytes, size: int) -> list[bytes]:
    """The sample as the server takes it: a list of records longer than ``max_batch_size`` is
    sent in batches of that many (any other body as it is)."""
    try:
        rows = json.loads(body)
    except ValueError:
        return [body]
    if not isinstance(rows, list) or len(rows) <= max(1, size):
        return [body]
    step = max(1, size)
    return [json.dumps(rows[i : i + step]).encode() for i in range(0, len(rows), step)]


def _send(port: int, path: str, body: bytes, what: str) -> None:
    try:
        status, answer = processes.http_bytes(
            port, "POST", path, body, timeout=REQUEST_TIMEOUT, headers=SMOKE_HEADER
        )
    except OSError as exc:
        raise DeployError(
            f"smoke: {what} got no answer from the new build: {exc}",
            "the new build took no traffic; the previous one keeps serving",
        ) from None
    if not 200 <= status < 300:
        text = answer.decode("utf-8", errors="replace").strip()[:300]
        raise DeployError(
            f"smoke: {what} was answered HTTP {status}: {text}",
            "the new build took no traffic; the previous one keeps serving. Its server log "
            "has the traceback",
        )


def recent_requests(root: Path, limit: int) -> Iterator[Any]:
    """Up to ``limit`` logged inputs of the model, newest segments first."""
    if limit <= 0 or not root.is_dir():
        return
    segments = sorted(
        (p for p in root.glob("*/*.jsonl*") if p.is_file()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )[:MAX_SEGMENTS]
    given = 0
    for segment in segments:
        for features in _features(segment):
            yield features
            given += 1
            if given >= limit:
                return


def _features(segment: Path) -> Iterator[Any]:
    try:
        lines = segment.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return
    for line in reversed(lines):
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line being written
        features = record.get("features") if isinstance(record, dict) else None
        if isinstance(features, dict) and int(record.get("status", 200) or 200) < 400:
            yield features
