"""`auto run` and `auto trigger`, and the option helpers the run commands share.

Thin commands: parse options, call one service function (qwak_auto.schedule.manual), render.
JSON shapes (``--format json``) are documented on the service functions:
``TickSummary.as_dict`` (run), ``history.run_detail`` (trigger). What was recorded and what
would run (`auto status`, `auto history`, `auto plan`) is :mod:`qwak_auto.cli.records`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from qwak_auto.cli import app
from qwak_auto.cli.options import FORMAT, NOW_HELP, Format, parse_now, project_config, store_for

if TYPE_CHECKING:
    from qwak_auto.run.control import Stop
    from qwak_auto.run.records import RunOutcome
    from qwak_auto.schedule.summary import TickSummary
    from qwak_auto.state.base import StateStore


@contextmanager
def _signals(stop: Stop) -> Iterator[None]:
    """SIGTERM/SIGINT: the first stops claiming and lets the current step finish, the second
    interrupts the current step (it is recorded as interrupted)."""
    import signal

    from qwak_auto import log

    def handler(signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        log.event(
            "stop requested: finishing the current step"
            if not stop.soft.is_set()
            else "second stop: interrupting the current step",
            signal=name,
        )
        stop.request(name)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _exit_code(ok: bool, stop: Stop) -> int:
    """0 / 1 for a run that ended on its own; 130 (interrupted) when a signal stopped it."""
    if stop.soft.is_set():
        return 130
    return 0 if ok else 1


def _render_tick(summary: TickSummary) -> None:
    from qwak_auto import console
    from qwak_auto.automation.problems import render_text

    if summary.problems:
        files = len({p.file for p in summary.problems})
        console.out(render_text(summary.problems, files).rstrip())
    for error in summary.errors:
        console.out(f"error: {error}")
    for r in summary.runs:
        line = f"{r.automation}: {r.status.value} (run {r.run_id[:12]}, {r.summary.trigger_reason})"
        console.out(line + (f": {r.error}" if r.error else ""))
    for s in summary.skipped:
        console.out(f"{s.automation}: skipped {s.run_key}: {s.reason}")
    for e in summary.evaluations:
        console.out(f"{e.automation}: metric evaluated: {e.reason}")
    for name in summary.gone:
        console.out(f"{name}: gone (no longer in the files; its records are kept)")
    nxt = summary.next_due.isoformat(timespec="seconds") if summary.next_due else "none"
    console.out(
        f"{summary.automations} automation(s), {len(summary.runs)} run(s), "
        f"{len(summary.skipped)} skipped, {summary.already_claimed} already claimed; "
        f"next due {nxt}"
    )


@app.command("run")
def run_command(
    paths: list[Path] = typer.Argument(..., help="Automation files or folders."),
    once: bool = typer.Option(False, "--once", help="Run what is due now, then exit."),
    now: str | None = typer.Option(None, "--now", help=NOW_HELP),
    output: Format = FORMAT,
) -> None:
    """Run the automations that are due: once (`--once`), or as a service until stopped.

    Exit code (with --once): 0 when every run ended succeeded or not_deployed, 1 when a run
    failed or a file was invalid (the valid automations still run), 130 when stopped by
    SIGINT/SIGTERM. As a service it exits 0 on SIGTERM/SIGINT after the current step.
    """
    from qwak_auto import console
    from qwak_auto.run.setup import RunnerSettings
    from qwak_auto.schedule.loop import serve
    from qwak_auto.schedule.tick import run_once

    roots = tuple(paths)
    config = project_config(roots)
    settings = RunnerSettings.from_environ(display=console.step_display)
    stop = settings.stop
    if once:
        with _signals(stop):
            summary = run_once(roots, config, settings, parse_now(now))
        if output == "json":
            console.emit_json(summary.as_dict())
        else:
            _render_tick(summary)
        raise typer.Exit(_exit_code(summary.ok, stop))

    def on_tick(summary: TickSummary) -> None:
        if output == "json":
            import json

            console.out(json.dumps(summary.as_dict(), default=str))
        elif summary.runs or summary.problems or summary.errors or summary.skipped:
            _render_tick(summary)

    with _signals(stop):
        serve(roots, config, settings, on_tick=on_tick)
    raise typer.Exit(0)


def _render_outcome(outcome: RunOutcome, store: StateStore, output: Format) -> None:
    from qwak_auto import console
    from qwak_auto.views import history

    detail = history.run_detail(store, outcome.run_id)
    if output == "json":
        console.emit_json(detail)
        return
    assert detail is not None
    from qwak_auto.cli.records import render_detail

    render_detail(detail)


@app.command("trigger")
def trigger_command(
    name: str = typer.Argument(..., help="The automation to run now."),
    path: Path = typer.Argument(Path(), help="Automation files or folder (default: .)."),
    output: Format = FORMAT,
) -> None:
    """Run one automation now (a manual run, recorded with trigger reason "manual").

    Exit code: 0 when the run succeeded or was not deployed, 1 when it failed, 130 when
    stopped by SIGINT/SIGTERM."""
    from qwak_auto import console
    from qwak_auto.run.setup import RunnerSettings
    from qwak_auto.schedule.manual import trigger

    config = project_config((path,))
    settings = RunnerSettings.from_environ(display=console.step_display)
    stop = settings.stop
    with _signals(stop):
        outcome = trigger(name, (path,), config, settings)
    with store_for(config) as store:
        _render_outcome(outcome, store, output)
    raise typer.Exit(_exit_code(outcome.ok, stop))


# `auto status`, `auto history`, `auto plan` live in their own module; importing it here
# registers them right after `run` and `trigger`, so `auto --help` lists them in that order.
from qwak_auto.cli import records  # noqa: E402, F401
