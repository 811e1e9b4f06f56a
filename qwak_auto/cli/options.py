"""What the commands share: output formats as choices, the project config, the state store."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from qwak_auto.errors import UsageError

if TYPE_CHECKING:
    from qwak_auto.config import Config
    from qwak_auto.state.base import StateStore


class Format(StrEnum):
    """Output of the commands that report data."""

    text = "text"
    json = "json"


class ProblemFormat(StrEnum):
    """Output of the commands that report problems: the keys of
    :data:`qwak_auto.automation.problems.RENDERERS`."""

    text = "text"
    json = "json"
    github = "github"


FORMAT = typer.Option(Format.text, "--format", help="Output as text or json.")
PROBLEM_FORMAT = typer.Option(
    ProblemFormat.text, "--format", help="Problems as text, json or github (annotations)."
)
CONFIG = typer.Option(
    None,
    "--config",
    help="Project config (auto.yaml); default: beside or above the files, or here.",
)
NOW_HELP = "Evaluate the schedule as of this ISO-8601 time instead of now (testing, replays)."


def project_config(paths: tuple[Path, ...] = (), config_file: Path | None = None) -> Config:
    """The project config beside ``paths`` (or ``--config``, ``AUTO_CONFIG``), with the
    environment's ``AUTO_*`` settings; paths that do not exist are a usage error."""
    from qwak_auto.config import load_config

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(
            "no such file or folder: " + ", ".join(missing), "give automation files or folders"
        )
    config = load_config(paths, env=os.environ, config_file=config_file)
    private_home(config.home)
    return config


_warned: set[Path] = set()


def private_home(home: Path) -> None:
    """The home made 0700 when it is new; a warning with the fix when others may read it."""
    from qwak_auto import console
    from qwak_auto.platform.private import ensure_home

    warning = ensure_home(home)
    if warning and home not in _warned:
        _warned.add(home)
        console.out(f"warning: {warning}", err=True)


@contextmanager
def store_for(config: Config) -> Iterator[StateStore]:
    from qwak_auto.state import open_store

    store = open_store(config)
    try:
        yield store
    finally:
        store.close()


def parse_now(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"--now: {value!r} is not an ISO-8601 time", "e.g. --now 2026-03-29T01:00:00Z"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
