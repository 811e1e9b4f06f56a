"""``auto build`` and ``auto logs``: one automation's model built outside the scheduler,
with the project config's source and builder (the run's parts, without gate or deploy)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from qwak_auto.builders import common
from qwak_auto.errors import BuildError
from qwak_auto.run.contracts import BuildResult, DisplayFactory, RunContext
from qwak_auto.run.setup import steps_for
from qwak_auto.secrets.registry import resolver
from qwak_auto.state import open_store

if TYPE_CHECKING:
    from qwak_auto.automation.model import Automation
    from qwak_auto.config import Config


def build_automation(
    automation: Automation,
    config: Config,
    environ: Mapping[str, str],
    display: DisplayFactory | None = None,
) -> BuildResult:
    """Fetch and build the model of ``automation``; the build is recorded in the state store
    like a scheduled one (with no run id)."""
    store = open_store(config)
    try:
        ctx = RunContext(
            run_id="",
            automation=automation,
            config=config,
            store=store,
            secrets=resolver(config, environ),
            trigger_reason="auto build",
            started_at=datetime.now(UTC),
            log_dir=config.home / "runs" / f"build-{uuid.uuid4().hex[:12]}",
            environ=dict(environ),
            display=display,
        )
        steps = steps_for(config)
        checkout = steps.source().fetch(automation.action.build_spec, ctx)
        return steps.builder().build(checkout, ctx)
    finally:
        store.close()


def build_log(config: Config, build_id: str) -> Path:
    """The log file of a build (failed builds keep theirs too)."""
    store = open_store(config)
    try:
        record = store.build(build_id)
    finally:
        store.close()
    if record is not None and record.log_path and Path(record.log_path).is_file():
        return Path(record.log_path)
    fallback = common.log_path(config.home, build_id)
    if fallback.is_file():
        return fallback
    raise BuildError(
        f"no log for build {build_id!r}",
        "list builds with `auto history` (or check the build id)",
    )
