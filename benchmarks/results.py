"""benchmarks/RESULTS.md: each benchmark's ``--write`` replaces its own ``## NAME`` section
(up to the next ``## `` heading) and leaves the other sections as they are."""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).resolve().with_name("RESULTS.md")


def write_section(name: str, text: str) -> None:
    """Replace the ``## name`` section with ``text`` (which starts with that heading), or
    append it when the file has none."""
    current = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    text = text.rstrip("\n") + "\n"
    found = re.search(rf"^## {re.escape(name)}\n", current, re.M)
    if found is None:
        new = current.rstrip("\n") + "\n\n" + text
    else:
        following = re.search(r"^## ", current[found.end() :], re.M)
        rest = current[found.end() + following.start() :] if following else ""
        new = current[: found.start()] + text + ("\n" + rest if rest else "")
    RESULTS.write_text(new.rstrip("\n") + "\n", encoding="utf-8")
