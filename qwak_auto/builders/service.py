"""``auto build`` and ``auto logs``: one automation's model built outside the scheduler."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from qwak_auto.builders import common
from qwak_auto.config import Config
from qwak_auto.errors import BuildError, UsageError
from qwak_auto.run import contracts as steps
from qwak_auto.run.contracts import BuildResult, RunContext


def build_automation(
    paths: Sequence[Path], name: str, config: Config, environ: Mapping[str, str]
) -> BuildResult:
    """Fetch and build the model of automation ``name`` (found in ``paths``); the build is
    recorded in the state store like a scheduled one (with no run id)."""
    from qwak_auto.schedule.manual import load_set
    from qwak_auto.secrets.registry import resolver
    from qwak_auto.state import open_store

    automations, problems = load_set(paths, config)
    chosen = next((a for a in automations if a.name == name), None)
    if chosen is None:
        known = ", ".join(sorted(a.name for a in automations)) or "none"
        hint = f"valid automations here: {known}"
        if problems:
            hint += f"; {len(problems)} problem(s) found — run `auto validate` on these files"
        raise UsageError(f"no valid automation named {name!r} in {_shown(paths)}", hint)
    store = open_store(config)
    try:
        ctx = RunContext(
            run_id="",
            automation=chosen,
            config=config,
            store=store,
            secrets=resolver(config, environ),
            trigger_reason="auto build",
            started_at=datetime.now(UTC),
            log_dir=config.home / "runs" / f"build-{uuid.uuid4().hex[:12]}",
            environ=dict(environ),
        )
        source = steps.load(steps.SOURCES, "git", "source")
        checkout = source.fetch(chosen.action.build_spec, ctx)
        builder = steps.load(steps.BUILDERS, config.builder, "builder")
        result: BuildResult = builder.build(checkout, ctx)
        return result
    finally:
        store.close()


def build_log(config: Config, build_id: str) -> Path:
    """The log file of a build (failed builds keep theirs too)."""
    from qwak_auto.state import open_store

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


def _shown(paths: Sequence[Path]) -> str:
    return ", ".join(str(p) for p in paths) or "."
