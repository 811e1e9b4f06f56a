"""`auto run`, `auto trigger`, `auto status`, `auto history`, `auto plan`.

Thin commands: parse options, call one service function (qwak_auto.scheduler / history),
render. JSON shapes (``--format json``) are documented on the service functions:
``TickSummary.as_dict`` (run), ``history.run_row``/``run_detail`` (trigger, history),
``history.status`` and ``history.plan``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from qwak_auto.cli import app

if TYPE_CHECKING:
    from qwak_auto.config import Config
    from qwak_auto.runner import RunOutcome, Stop
    from qwak_auto.scheduler import TickSummary
    from qwak_auto.state.base import StateStore

FORMATS = ("text", "json")
FORMAT_HELP = "Output as `text` or `json`."
NOW_HELP = "Evaluate the schedule as of this ISO-8601 time instead of now (testing, replays)."


def _format(value: str) -> str:
    if value not in FORMATS:
        from qwak_auto.errors import UsageError

        raise UsageError(f"--format: {value!r} is not a format", "use `text` or `json`")
    return value


def _now(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    from qwak_auto.errors import UsageError

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"--now: {value!r} is not an ISO-8601 time", "e.g. --now 2026-03-29T01:00:00Z"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _config(paths: tuple[Path, ...]) -> Config:
    from qwak_auto.config import load_config
    from qwak_auto.errors import UsageError

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(
            "no such file or folder: " + ", ".join(missing), "give automation files or folders"
        )
    return load_config(paths, env=os.environ)


@contextmanager
def _store(config: Config) -> Iterator[StateStore]:
    from qwak_auto.state import open_store

    store = open_store(config)
    try:
        yield store
    finally:
        store.close()


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


def _time(value: str | None) -> str:
    if not value:
        return "-"
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M %Z").strip()


def _render_tick(summary: TickSummary) -> None:
    from qwak_auto import console
    from qwak_auto.spec.problems import render_text

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
    output: str = typer.Option("text", "--format", help=FORMAT_HELP),
) -> None:
    """Run the automations that are due: once (`--once`), or as a service until stopped.

    Exit code (with --once): 0 when every run ended succeeded or not_deployed, 1 when a run
    failed or a file was invalid (the valid automations still run), 130 when stopped by
    SIGINT/SIGTERM. As a service it exits 0 on SIGTERM/SIGINT after the current step.
    """
    from qwak_auto import console, scheduler
    from qwak_auto.runner import Stop

    _format(output)
    roots = tuple(paths)
    config = _config(roots)
    stop = Stop()
    if once:
        with _signals(stop):
            summary = scheduler.run_once(roots, config, _now(now), stop=stop)
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
        scheduler.serve(roots, config, stop, on_tick=on_tick)
    raise typer.Exit(0)


def _render_outcome(outcome: RunOutcome, store: StateStore, output: str) -> None:
    from qwak_auto import console, history

    detail = history.run_detail(store, outcome.run_id)
    if output == "json":
        console.emit_json(detail)
        return
    assert detail is not None
    _render_detail(detail)


@app.command("trigger")
def trigger_command(
    name: str = typer.Argument(..., help="The automation to run now."),
    path: Path = typer.Argument(Path(), help="Automation files or folder (default: .)."),
    output: str = typer.Option("text", "--format", help=FORMAT_HELP),
) -> None:
    """Run one automation now (a manual run, recorded with trigger reason "manual").

    Exit code: 0 when the run succeeded or was not deployed, 1 when it failed, 130 when
    stopped by SIGINT/SIGTERM."""
    from qwak_auto import scheduler
    from qwak_auto.runner import Stop

    _format(output)
    config = _config((path,))
    stop = Stop()
    with _signals(stop):
        outcome = scheduler.trigger(name, (path,), config, stop=stop)
    with _store(config) as store:
        _render_outcome(outcome, store, output)
    raise typer.Exit(_exit_code(outcome.ok, stop))


@app.command("status")
def status_command(
    path: Path | None = typer.Argument(None, help="Automation files or folder."),
    output: str = typer.Option("text", "--format", help=FORMAT_HELP),
) -> None:
    """Each automation: trigger, enabled, last run and result, next fire, deployed build.

    Without PATH, the automations recorded in the state store are listed."""
    from qwak_auto import console, history, scheduler

    _format(output)
    roots = (path,) if path is not None else ()
    config = _config(roots)
    automations, problems = scheduler.load_set(roots, config) if roots else ((), ())
    with _store(config) as store:
        rows = history.status(automations, store, config, datetime.now(UTC))
    if output == "json":
        console.emit_json({"automations": rows, "problems": len(problems)})
        return
    if not rows and path is None:
        console.out("no automations recorded yet: give their files (`auto status automations/`)")
        return
    table = []
    for r in rows:
        last = r["last_run"]
        deployed = ", ".join(
            f"{d['environment']}/{d['variation']}: {d['build_id']} {d['address'] or ''}"
            f" ({d['health']})"
            for d in r["deployed"]
            if d["build_id"]
        )
        table.append(
            [
                r["name"],
                r["trigger"],
                "yes" if r["enabled"] else "disabled",
                f"{_time(last['started_at'])} {last['status']}" if last else _never(r),
                _next(r),
                deployed or "-",
            ]
        )
    console.table(
        "automations",
        ["automation", "trigger", "enabled", "last run", "next fire", "deployed"],
        table,
    )
    if problems:
        console.out(f"{len(problems)} problem(s) in the files: run `auto validate {path}`")


def _never(row: dict[str, Any]) -> str:
    return "never (not registered yet)" if row["state"] == "not registered yet" else "never"


def _next(row: dict[str, Any]) -> str:
    if row["state"] == "disabled":
        return "disabled"
    if row["state"] == "gone":
        return "gone"
    if not row["next_fire_utc"]:
        return "manual only" if row["trigger"] == "manual only" else "-"
    from qwak_auto.schedule import zone

    utc = datetime.fromisoformat(row["next_fire_utc"])
    local = utc.astimezone(zone(row["timezone"]))
    if local.utcoffset() == utc.utcoffset() and row["timezone"] in ("UTC", ""):
        return f"{utc:%Y-%m-%d %H:%M} UTC"
    return f"{local:%Y-%m-%d %H:%M %Z} ({utc:%H:%M} UTC)"


def _render_detail(detail: dict[str, Any]) -> None:
    from qwak_auto import console

    console.out(
        f"run {detail['run_id']} of {detail['automation']}: {detail['status']}"
        f" ({detail['trigger_reason']}, started {_time(detail['started_at'])},"
        f" attempt {detail['attempt']})"
    )
    if detail["error"]:
        console.out(f"error: {detail['error']}")
    rows = [
        [
            s["name"],
            s["status"],
            f"{s['duration_s']:.1f} s" if s["duration_s"] is not None else "-",
            s["reason"],
        ]
        for s in detail["steps"]
    ]
    console.table("steps", ["step", "status", "duration", "reason"], rows)


@app.command("history")
def history_command(
    name: str | None = typer.Argument(None, help="Only this automation's runs."),
    limit: int = typer.Option(20, "--limit", min=1, help="How many runs, newest first."),
    run_id: str | None = typer.Option(None, "--run", help="Show one run with its steps."),
    output: str = typer.Option("text", "--format", help=FORMAT_HELP),
) -> None:
    """Runs newest first; `--run RUN_ID` shows each step with status, duration and reason."""
    from qwak_auto import console, history
    from qwak_auto.errors import UsageError

    _format(output)
    config = _config(())
    with _store(config) as store:
        if run_id:
            detail = history.run_detail(store, run_id)
            if detail is None:
                raise UsageError(f"no run {run_id!r}", "list runs with `auto history`")
            if output == "json":
                console.emit_json(detail)
            else:
                _render_detail(detail)
            return
        rows = history.history(store, name, limit)
        known = sorted(r.name for r in store.automations()) if name and not rows else []
    if name and not rows and name not in known:
        # A typo would otherwise look like "no runs yet".
        raise UsageError(
            f"no automation named {name!r} is recorded",
            "recorded automations: " + ", ".join(known)
            if known
            else "nothing is recorded yet: run `auto run --once PATH` or `auto trigger NAME PATH`",
        )
    if output == "json":
        console.emit_json({"runs": rows})
        return
    if not rows:
        console.out("no runs recorded yet")
        return
    console.table(
        "runs",
        ["run", "automation", "started", "status", "trigger", "error"],
        [
            [
                r["run_id"][:12],
                r["automation"],
                _time(r["started_at"]),
                r["status"],
                r["trigger_reason"],
                r["error"],
            ]
            for r in rows
        ],
    )


@app.command("plan")
def plan_command(
    path: Path = typer.Argument(..., help="Automation files or folder."),
    count: int = typer.Option(5, "--count", min=1, max=1000, help="Fire times to show."),
    now: str | None = typer.Option(None, "--now", help=NOW_HELP),
    output: str = typer.Option("text", "--format", help=FORMAT_HELP),
) -> None:
    """Per automation: the next fire times (with DST notes), the missed slots a run would
    catch up now, and what a run would do. Changes nothing."""
    from qwak_auto import console, history, scheduler
    from qwak_auto.schedule import zone

    _format(output)
    config = _config((path,))
    automations, problems = scheduler.load_set((path,), config)
    with _store(config) as store:
        plans = history.plan(automations, store, config, _now(now), count)
    if output == "json":
        console.emit_json({"automations": plans, "problems": len(problems)})
        return
    for p in plans:
        console.out(f"{p['name']}: {p['trigger']}" + ("" if p["enabled"] else " [disabled]"))
        tz = zone(p["timezone"])
        for f in p["next"]:
            utc = datetime.fromisoformat(f["utc"])
            local = utc.astimezone(tz)
            note = f"  ({f['note']})" if f["note"] else ""
            console.out(f"  next {local:%a %Y-%m-%d %H:%M %Z}  = {utc:%H:%M} UTC{note}")
        missed = p["missed"]
        if missed["count"]:
            catch = missed["catch_up"]
            console.out(
                f"  missed {missed['count']} slot(s) since the last run"
                + (f"; a run now catches up {catch} once" if catch else "")
            )
        for d in p["due_now"]:
            console.out(f"  due now: {d['slot']} ({d['reason']})")
        a = p["action"]
        envs = ", ".join(f"{e['name']} ({e['deployer']})" for e in a["environments"])
        where = f"{a['source']}" + (f"#{a['path']}" if a["path"] else "")
        console.out(f"  does: build {where} @ {a['branch']} with {a['builder']}")
        console.out(f"        gate {a['gate']}; deploy to {envs} as {a['variation']}")
    if problems:
        console.out(f"{len(problems)} problem(s) in the files: run `auto validate {path}`")
