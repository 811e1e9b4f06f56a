"""The one writer of the analytics store (see DESIGN.md, "one writer at a time").

Steps return what they did; whoever holds the right to write calls this sink: the runner that
holds a run's claim (the build and its metrics, new prediction-log segments, then the
deployments), ``auto deploy`` / ``auto rollback`` / ``auto undeploy`` for the deployments they
changed, the scheduler for the segments a metric trigger reads (only when the file is free),
and ``auto ingest``. Every write is one short transaction through
:func:`qwak_auto.analytics.store.writer`, which waits for the file lock with a bound. A write
that fails never fails the step it follows: the sink says what was not recorded.

Deployments are copied from the state store, which holds them exactly: every deployment of
the model that served (serving, retired, rolled back) with its start and end, replacing what
the analytics store had for that model, so a missed write is repaired by the next one.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from qwak_auto import log
from qwak_auto.analytics.ingest import IngestReport, ingest_file, ingest_segments, load_segments
from qwak_auto.analytics.store import write_build, write_deployments, writer
from qwak_auto.errors import AutoError

if TYPE_CHECKING:
    from qwak_auto.config import Config
    from qwak_auto.run.contracts import BuildResult
    from qwak_auto.state.base import StateStore

SERVED = ("serving", "retired", "rolled_back")  # deployments that took traffic
SEGMENT_WAIT_SECONDS = 0.5  # the scheduler holds no claim: load segments only if the file is free


class AnalyticsSink:
    def __init__(self, config: Config) -> None:
        self.config = config

    def build(self, build: BuildResult, automation: str, store: StateStore) -> str:
        """The build, its metrics and new prediction segments, in one transaction, before the
        gate reads them. Returns one line saying what was recorded."""
        record = store.build(build.build_id)
        try:
            with writer(self.config) as conn:
                write_build(
                    conn,
                    build,
                    automation,
                    status=record.status if record else "succeeded",
                    started_at=record.started_at if record else None,
                    ended_at=record.ended_at if record else None,
                )
                rows = load_segments(conn, self.config)
        except (AutoError, OSError, duckdb.Error) as exc:
            # The decision can still be made (a static threshold needs no store); say so.
            return f"not updated: {_reason(exc)}"
        return f"build recorded, {rows} new prediction rows loaded"

    def deployments(self, store: StateStore, model_id: str) -> str:
        """Copy the model's deployments that served from the state store."""
        records = [
            d for d in store.deployments(model_id=model_id, limit=100_000) if d.status in SERVED
        ]
        rows: list[tuple[str, str, str, str, datetime, datetime | None]] = [
            (d.model_id, d.build_id, d.variation, d.environment, d.created_at, d.retired_at)
            for d in records
        ]
        try:
            with writer(self.config) as conn:
                write_deployments(conn, model_id, rows)
        except (AutoError, OSError, duckdb.Error) as exc:
            message = f"deployments of {model_id} not recorded in analytics: {_reason(exc)}"
            log.event(message, level="warning")
            return message
        return f"{len(rows)} deployments of {model_id} recorded"

    def segments(self, wait_seconds: float = SEGMENT_WAIT_SECONDS) -> str:
        """New prediction-log segments; empty when loaded, else why they were not."""
        try:
            ingest_segments(self.config, wait_seconds=wait_seconds)
        except AutoError:
            return "new prediction segments not loaded (the store is busy)"
        except (OSError, duckdb.Error) as exc:
            return f"new prediction segments not loaded ({exc})"
        return ""

    def ingest(
        self, path: Path, *, fmt: str | None = None, model_id: str | None = None
    ) -> IngestReport:
        """`auto ingest predictions FILE`: all rows or none."""
        return ingest_file(self.config, path, fmt=fmt, model_id=model_id)


def _reason(exc: BaseException) -> str:
    return exc.message if isinstance(exc, AutoError) else str(exc)
