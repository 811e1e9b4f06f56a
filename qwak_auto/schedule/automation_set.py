"""The automation set: files → valid automations, reconciled with the state store.

Loading validates as `auto validate` does (an invalid document is left out, the others
load). Registering records every valid automation in the store (its first registration
anchors interval triggers); automations in the store but no longer in the files are
"gone": reported, their records kept. The fingerprint tells the service loop that a file
changed, so it reloads without waiting for the next due time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from qwak_auto.automation.model import Automation
from qwak_auto.automation.problems import Problem
from qwak_auto.state.base import AutomationRecord

if TYPE_CHECKING:
    from qwak_auto.config import Config
    from qwak_auto.state.base import StateStore


def load_set(
    paths: Sequence[Path], config: Config
) -> tuple[tuple[Automation, ...], tuple[Problem, ...]]:
    """The valid automations of ``paths`` and the problems of the rest (validated as by
    `auto validate`: an invalid document is left out, the others load)."""
    from qwak_auto.automation.validate import load_automations

    automations, problems = load_automations(tuple(paths), config)
    return tuple(automations), tuple(problems)


def fingerprint(paths: Sequence[Path]) -> str:
    """Changes when any automation file under ``paths`` changes (mtime, size or name)."""
    digest = hashlib.sha256()
    for root in paths:
        files = [root] if root.is_file() else sorted(root.rglob("*.y*ml")) if root.is_dir() else []
        for f in files:
            try:
                st = f.stat()
            except OSError:
                continue
            digest.update(f"{f}:{st.st_mtime_ns}:{st.st_size}\n".encode())
    return digest.hexdigest()


def register(
    store: StateStore, automations: Sequence[Automation], now: datetime
) -> dict[str, AutomationRecord]:
    return {
        a.name: store.upsert_automation(
            name=a.name,
            model_id=a.model_id,
            spec_hash=a.spec_hash,
            file=a.origin.file,
            enabled=a.enabled,
            now=now,
        )
        for a in automations
    }


def gone(store: StateStore, automations: Sequence[Automation]) -> tuple[str, ...]:
    """Automations the store knows that are no longer in the files."""
    known = {a.name for a in automations}
    return tuple(r.name for r in store.automations() if r.name not in known)
