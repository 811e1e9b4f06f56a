"""Where the CPU goes during a run: CPU seconds of server processes, from /proc (Linux).

On a machine shared with other work, requests/s move with the other load; CPU time per
request of each server process moves much less, and it says what a proxy costs."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")

Groups = Callable[[], Mapping[str, Sequence[int]]]  # {"proxy": [pid], "server": [pids]}


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (0 when it is gone)."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / TICK if fields else 0.0


def alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def descendants(pid: int) -> list[int]:
    """The processes started, directly or not, by ``pid``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def tree(pid: int) -> list[int]:
    return [pid, *descendants(pid)]


@dataclass(frozen=True)
class Usage:
    """CPU milliseconds per request: the server's processes, the proxy; and the busiest
    server process's share of the server's CPU (0.5 = two workers evenly loaded)."""

    server_ms: float
    proxy_ms: float
    busiest: float


class Meter:
    def __init__(self, groups: Groups) -> None:
        self.groups = {name: list(pids) for name, pids in groups().items()}
        self.before = {pid: seconds(pid) for pids in self.groups.values() for pid in pids}

    def usage(self, requests: int) -> Usage:
        used = {pid: seconds(pid) - start for pid, start in self.before.items()}
        server = [used[p] for p in self.groups.get("server", [])]
        proxy = sum(used[p] for p in self.groups.get("proxy", []))
        per = 1000.0 / max(1, requests)
        total = sum(server)
        return Usage(total * per, proxy * per, max(server) / total if total > 0 else 0.0)


# ------------------------------------------------------------------ core layouts


def threads(pid: int) -> list[int]:
    try:
        return [int(entry.name) for entry in Path(f"/proc/{pid}/task").iterdir()]
    except OSError:
        return []


def pin(pids: Sequence[int], cpus: set[int]) -> None:
    """Every thread of ``pids`` on ``cpus`` (threads and children started later inherit it)."""
    for pid in pids:
        for tid in threads(pid):
            with suppress(OSError):  # gone meanwhile
                os.sched_setaffinity(tid, cpus)


@contextmanager
def split(server: Sequence[int], others: Sequence[int]) -> Iterator[None]:
    """The server's processes on the first half of the cores; ``others`` (the proxy) and this
    process with the load client it starts on the other half; everything back on every core
    afterwards. A machine with one core cannot be split: nothing is pinned."""
    every = os.sched_getaffinity(0)
    cores = sorted(every)
    if len(cores) < 2:
        yield
        return
    half = len(cores) // 2
    mine, rest = set(cores[:half]), set(cores[half:])
    pin(server, mine)
    pin(others, rest)
    os.sched_setaffinity(0, rest)
    try:
        yield
    finally:
        os.sched_setaffinity(0, every)
        pin([*server, *others], every)
