"""The automation set: files → valid automations, reconciled with the state store.

Loading validates as `auto validate` does (an invalid document is left out, the others
load). Registering records every valid automation in the store (its first registration
anchors interval triggers); automations in the store but no longer in the files are
"gone": reported, their records kept. The fingerprint tells the service loop that a file
changed, so it reloads without waiting for the next due time.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from qwak_auto.automation.model import Automation
from qwak_auto.automation.problems import Problem, Severity
from qwak_auto.errors import UsageError
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


def find(name: str, paths: Sequence[Path], config: Config) -> Automation:
    """The automation named ``name`` in the set; a UsageError that suggests the closest name
    (or says the name is written twice) otherwise."""
    automations, problems = load_set(paths, config)
    _refuse_duplicate(name, problems)
    by_name = {a.name: a for a in automations}
    automation = by_name.get(name)
    if automation is not None:
        return automation
    close = difflib.get_close_matches(name, list(by_name), n=1)
    if close:
        hint = f"did you mean `{close[0]}`?"
    elif by_name:
        hint = "valid automations here: " + ", ".join(sorted(by_name))
    else:
        hint = "no valid automations found"
    bad = [p for p in problems if p.severity is Severity.ERROR]
    if bad:
        hint += f" ({len(bad)} problem(s) in the files: run `auto validate`)"
    raise UsageError(f"no automation named {name!r} in {', '.join(map(str, paths))}", hint)


def _refuse_duplicate(name: str, problems: Sequence[Problem]) -> None:
    """A name written twice is ambiguous: say where, rather than use whichever came first."""
    tail = re.compile(rf"^the name `{re.escape(name)}` is already used in (.+)$")
    places: list[str] = []
    for p in problems:
        match = tail.match(p.message) if p.code == "name.duplicate" else None
        if match:
            if not places:
                places.append(match.group(1))
            places.append(f"{p.file}:{p.line}")
    if places:
        raise UsageError(
            f"automation {name!r} is defined more than once: " + ", ".join(places),
            "names are unique within an automation set: rename or remove all but one "
            "(`auto validate` lists this too)",
        )
