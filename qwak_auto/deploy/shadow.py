"""A shadow variation's copy of the model's requests.

Caddy has no request mirroring, and the answers of a shadow must never reach a client, so the
copy is made from the record the serving variations already keep: their prediction logs, one
JSON line per input row (``<home>/predictions/<model_id>/<variation>/*.jsonl[.open]``). A small
process per shadow deployment follows every other variation's log of the model in its
environment, from the moment it starts, and sends each new row to the shadow's own server
as a one-row request; the shadow's server logs its answers (variation = the shadow's name)
like any variation, so they can be compared in SQL. Rows are copied at most once, in order,
a few hundred milliseconds after they were answered; a copy that fails is counted, never
retried against the clients' traffic.

    python -m qwak_auto.deploy.shadow --port PORT --model-id M --environment E
        --variation SHADOW --predictions DIR
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qwak_auto import proc
from qwak_auto.deploy import processes

POLL = 0.2
OPEN_SUFFIX = ".open"


class Follower:
    """New complete lines of every other variation's segments of one model, answered at or
    after ``since`` (epoch seconds: when the shadow started taking its copy)."""

    def __init__(self, root: Path, shadow: str, environment: str, since: float) -> None:
        self.root = root
        self.shadow = shadow
        self.environment = environment
        self.since = datetime.fromtimestamp(since, UTC)
        self.offsets: dict[str, int] = {}  # segment stem -> bytes read
        for path in self._segments():
            if path.stat().st_mtime < since:
                self.offsets[self._stem(path)] = path.stat().st_size  # nothing new in it

    def _segments(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return [
            p for p in self.root.glob("*/*.jsonl*") if p.parent.name != self.shadow and p.is_file()
        ]

    @staticmethod
    def _stem(path: Path) -> str:
        name = path.name.removesuffix(OPEN_SUFFIX)
        return f"{path.parent.name}/{name}"

    def rows(self) -> list[Any]:
        out: list[Any] = []
        for path in sorted(self._segments(), key=lambda p: p.stat().st_mtime):
            stem = self._stem(path)
            offset = self.offsets.get(stem, 0)
            try:
                with path.open("rb") as handle:
                    handle.seek(offset)
                    data = handle.read()
            except OSError:
                continue
            complete = data.rfind(b"\n") + 1
            if complete <= 0:
                continue
            self.offsets[stem] = offset + complete
            for line in data[:complete].splitlines():
                out.extend(self._features(line))
        return out

    def _features(self, line: bytes) -> list[Any]:
        try:
            record = json.loads(line)
        except ValueError:
            return []
        if not isinstance(record, dict) or record.get("environment", "") != self.environment:
            return []
        try:
            when = datetime.fromisoformat(str(record.get("ts", "")).replace("Z", "+00:00"))
        except ValueError:
            return []
        if when < self.since:
            return []
        features = record.get("features")
        return [features] if isinstance(features, dict) else []


def follow(port: int, model_id: str, follower: Follower, stop_after: float | None = None) -> int:
    """Copy rows until stopped (or for ``stop_after`` seconds); returns how many were sent."""
    sent = 0
    path = f"/v1/{model_id}/predict"
    deadline = None if stop_after is None else time.monotonic() + stop_after
    while deadline is None or time.monotonic() < deadline:
        for features in follower.rows():
            try:
                processes.http_bytes(port, "POST", path, json.dumps([features]).encode(),
                                     timeout=30)  # fmt: skip
                sent += 1
            except OSError as exc:
                print(f"shadow copy failed: {exc}", file=sys.stderr, flush=True)
        time.sleep(POLL)
    return sent


def start(
    *, port: int, model_id: str, environment: str, variation: str, predictions: Path,
    directory: Path, env: dict[str, str],
) -> int:  # fmt: skip
    """Start the copy for a shadow deployment, from this moment on; its pid."""
    started = proc.start(
        [sys.executable, "-m", "qwak_auto.deploy.shadow", "--port", str(port),
         "--model-id", model_id, "--environment", environment, "--variation", variation,
         "--predictions", str(predictions), "--since", f"{time.time():.3f}"],
        env=env,
        log=directory / "shadow.log",
    )  # fmt: skip
    return started.pid


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m qwak_auto.deploy.shadow")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model-id", required=True)
    parser.add_argument("--environment", default="")
    parser.add_argument("--variation", required=True)
    parser.add_argument("--predictions", type=Path, required=True)
    parser.add_argument("--since", type=float, default=None)
    args = parser.parse_args(argv)
    since = time.time() if args.since is None else args.since
    follower = Follower(args.predictions / args.model_id, args.variation, args.environment, since)
    follow(args.port, args.model_id, follower)


if __name__ == "__main__":
    from qwak_auto.platform.private import restrict_umask

    restrict_umask()  # what it writes in the home is private (issue 14)
    main()
