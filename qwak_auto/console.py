"""Output: rich on a terminal; plain text when piped, under CI or with NO_COLOR."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO, cast

from qwak_auto import log, streams
from qwak_auto.redact import redact, redact_obj


def is_plain(stream: TextIO | None = None, env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    stream = stream or sys.stdout
    if env.get("NO_COLOR") or env.get("CI") or env.get("TERM") == "dumb":
        return True
    return not (hasattr(stream, "isatty") and stream.isatty())


def out(text: str = "", *, err: bool = False) -> None:
    # A reader that went away (`auto history | head -3`) stops the echo, not the command.
    streams.write(
        sys.stderr if err else sys.stdout, redact(text) + ("" if text.endswith("\n") else "\n")
    )


def emit_json(data: Any) -> None:
    out(json.dumps(redact_obj(data), indent=2, default=str))


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A table: rich on a terminal, aligned plain text otherwise."""
    cells = [[redact("" if c is None else str(c)) for c in row] for row in rows]
    if not is_plain():
        from rich.console import Console
        from rich.table import Table

        t = Table(title=title or None)
        for index, col in enumerate(columns):
            # Never cut with "…", and keep the first column (the id or name a user copies into
            # the next command) on one line; the others fold when the terminal is narrow.
            t.add_column(col, overflow="fold", no_wrap=index == 0)
        for row in cells:
            t.add_row(*row)
        Console(file=rich_file(sys.stdout)).print(t)
        return
    widths = [len(c) for c in columns]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=False)]
    lines = []
    if title:
        lines.append(title)
    lines.append("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=False)).rstrip())
    for row in cells:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip())
    out("\n".join(lines))


def error(message: str, hint: str = "") -> None:
    if is_plain(sys.stderr):
        out(f"error: {message}", err=True)
        if hint:
            out(f"  hint: {hint}", err=True)
        return
    from rich.console import Console
    from rich.markup import escape

    console = Console(file=rich_file(sys.stderr))
    console.print(f"[bold red]error:[/] {escape(redact(message))}")
    if hint:
        console.print(f"  [yellow]hint:[/] {escape(redact(hint))}")


def rich_file(stream: TextIO) -> TextIO:
    """``stream`` for a rich Console, echo stopping (not raising) when its reader goes away."""
    return cast(TextIO, streams.Guarded(stream))


class StepDisplay:
    """A long step's output while it runs (:class:`qwak_auto.run.contracts.Display`): on a
    terminal a rich status line with the current phase (``==> ...`` lines are kept); in CI
    and when piped every line plainly on stderr; with ``--log-format json`` each line as a
    JSON log line. A reader that went away stops the echo, never the step."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.json = log.is_json()
        self._status: Any = None
        if not self.json and not is_plain(sys.stderr):
            from rich.console import Console

            self._console = Console(file=rich_file(sys.stderr))
            self._status = self._console.status(f"[bold]{title}[/]: starting")
            self._status.start()

    def line(self, text: str) -> None:
        if self.json:
            # A log collector reading stderr gets one JSON object per line, build lines too.
            if text.strip():
                log.event(text, build=self.title)
            return
        if self._status is None:
            streams.write(sys.stderr, f"{text}\n")
            return
        from rich.markup import escape

        if text.startswith("==> "):
            self._status.update(f"[bold]{self.title}[/]: {escape(text[4:])}")
            self._console.print(f"[cyan]{escape(text)}[/]")
        elif text.startswith(("warning:", "metric ", "build failed")):
            self._console.print(escape(text))
        elif text.strip():
            shown = escape(text.strip()[:100])
            self._status.update(f"[bold]{self.title}[/]: [dim]{shown}[/]")

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


def step_display(title: str) -> StepDisplay:
    return StepDisplay(title)
