"""Weights without reloads: each stable address's ``reverse_proxy`` has :data:`SLOTS` fixed
upstreams whose dial address Caddy reads, per request, from a file (``{file.PATH}``, a
placeholder of Caddy's own). A swap, a canary step or a change of a variation's share
rewrites those files, each by an atomic rename, and Caddy's configuration stays the same.

Why: any change to Caddy's configuration reloads all of it, and a reload closes every idle
kept-alive client connection of every stable address; a request already on its way on one
of them fails with a connection reset, which HTTP clients do not resend for a POST. Files
under ``AUTO_HOME/proxy`` (0700) are the owner's only, like the admin socket.

The slots of a route are shared out by the largest remainder of its weights and interleaved
(smooth weighted round robin), so Caddy's round robin over them gives each upstream its
share within every ``SLOTS`` requests: 100 slots, whole percent.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qwak_auto.errors import DeployError

if TYPE_CHECKING:
    from qwak_auto.deploy.traffic import Route, Upstream

SLOTS = 100


def folder(home: Path) -> Path:
    return home / "proxy" / "slots"


def placeholder(home: Path, route: str, slot: int) -> str:
    """The dial address of a slot, as Caddy reads it: the file's contents."""
    path = str(folder(home) / route / str(slot))
    if "{" in path or "}" in path:
        raise DeployError(
            f"the auto home {home} has a brace in its path, which the local proxy (Caddy) "
            "cannot read its slot files through",
            "set AUTO_HOME (or `home:` in auto.yaml) to a path without { or }",
        )
    return "{file." + path + "}"


def share(upstreams: Sequence[Upstream], slots: int = SLOTS) -> list[str]:
    """The dial address of each slot: every upstream its share of ``slots`` (largest
    remainder of the weights), in an order that spreads each one evenly."""
    live = [u for u in upstreams if u.weight > 0]
    if not live:
        return []
    total = sum(u.weight for u in live)
    exact = [u.weight * slots / total for u in live]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(live)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[: slots - sum(counts)]:
        counts[i] += 1
    current = [0] * len(live)
    order = []
    for _ in range(slots):
        for i, count in enumerate(counts):
            current[i] += count
        pick = max(range(len(live)), key=lambda i: current[i])
        current[pick] -= slots
        order.append(live[pick].dial)
    return order


def write(home: Path, routes: Sequence[Route]) -> None:
    """Each route's slot files, changed ones only, each by a rename (never half written)."""
    for route in routes:
        dials = share(route.upstreams)
        if not dials:
            continue
        directory = folder(home) / route.name
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        for slot, dial in enumerate(dials):
            path = directory / str(slot)
            try:
                if path.read_text(encoding="utf-8") == dial:
                    continue
            except OSError:
                pass
            tmp = directory / f".{slot}.{os.getpid()}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(dial)
            tmp.replace(path)


def prune(home: Path, routes: Sequence[Route]) -> None:
    """Remove the slot files of routes that are gone (after Caddy stopped reading them)."""
    keep = {r.name for r in routes if r.upstreams}
    if folder(home).is_dir():
        for directory in folder(home).iterdir():
            if directory.name not in keep:
                shutil.rmtree(directory, ignore_errors=True)
