"""`auto status`, `auto history`, `auto plan`: what was recorded and what would run.

Thin commands: parse options, call one service function (qwak_auto.views.history), render. JSON
shapes (``--format json``) are documented on the service functions: ``history.status``,
``history.run_row``/``run_detail`` and ``history.plan``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from qwak_auto.cli import app
from qwak_auto.cli.options import FORMAT, NOW_HELP, Format, parse_now, project_config, store_for


def _time(value: str | None, zone_name: str = "") -> str:
    """A recorded time, in ``zone_name`` (an automation's time zone) when given."""
    if not value:
        return "-"
    moment = datetime.fromisoformat(value)
    if zone_name and zone_name != "UTC":
        from qwak_auto.schedule.triggers import zone

        moment = moment.astimezone(zone(zone_name))
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


def _recorded_files(config: Any) -> tuple[Path, ...]:
    """The automation files the state store recorded, where they still exist: `auto status`
    without a path shows what `auto status FILES` would (issue 18: one home, one answer)."""
    with store_for(config) as store:
        files = {Path(r.file) for r in store.automations() if r.file}
    return tuple(sorted(f for f in files if f.is_absolute() and f.is_file()))


@app.command("status")
def status_command(
    path: Path | None = typer.Argument(None, help="Automation files or folder."),
    output: Format = FORMAT,
) -> None:
    """Each automation: trigger, enabled, last run and result, next fire, deployed build.

    Without PATH, the automations recorded in the state store are listed, read from the
    files they were recorded from where those still exist."""
    from qwak_auto import console
    from qwak_auto.schedule.automation_set import load_set
    from qwak_auto.views import history

    roots: tuple[Path, ...] = (path,) if path is not None else ()
    config = project_config(roots)
    if path is None:
        roots = _recorded_files(config)
    automations, problems = load_set(roots, config) if roots else ((), ())
    with store_for(config) as store:
        proxy = history.traffic_state(store, config)
        rows = history.status(automations, store, config, datetime.now(UTC))
    if output == "json":
        console.emit_json({"automations": rows, "problems": len(problems), "proxy": proxy})
        return
    if not rows and path is None:
        console.out("no automations recorded yet: give their files (`auto status automations/`)")
        return
    table = []
    for r in rows:
        last = r["last_run"]
        deployed = ", ".join(
            f"{d['environment']}/{d['variation']}: {d['build_id']} {d['address'] or ''}"
            f" ({d['health']}){_rollout(d['rollout'])}"
            for d in r["deployed"]
            if d["build_id"]
        )
        table.append(
            [
                r["name"],
                r["trigger"],
                "yes" if r["enabled"] else "disabled",
                f"{_time(last['started_at'], r['timezone'])} {last['status']}"
                if last
                else _never(r),
                _next(r),
                deployed or "-",
            ]
        )
    console.table(
        "automations",
        ["automation", "trigger", "enabled", "last run", "next fire", "deployed"],
        table,
    )
    _render_waiting(rows)
    if proxy and proxy != "running":
        console.out(f"local proxy: {proxy}")
    if problems:
        where = path if path is not None else " ".join(map(str, roots))
        console.out(f"{len(problems)} problem(s) in the files: run `auto validate {where}`")


def _render_waiting(rows: list[dict[str, Any]]) -> None:
    """Each run that waits for approval, with its age and what approving deploys."""
    from qwak_auto import console
    from qwak_auto.views.approvals import line

    for r in rows:
        for item in r["waiting"]:
            console.out(f"{r['name']}: run {item['run_id']} {line(item)}")


def _rollout(rollout: dict[str, Any] | None) -> str:
    """`; canary 10% -> b-2 (weights 90/10; last window: 52 answers, 0 5xx ...)`"""
    if not rollout:
        return ""
    weights = "/".join(str(w) for w in (rollout.get("weights") or {}).values())
    windows = rollout.get("windows") or []
    last = f"; last window: {windows[-1].get('reason')}" if windows else ""
    return f"; {rollout['phase']} -> {rollout['build_id']} (weights {weights}{last})"


def _never(row: dict[str, Any]) -> str:
    return "never (not registered yet)" if row["state"] == "not registered yet" else "never"


def _next(row: dict[str, Any]) -> str:
    if row["state"] == "disabled":
        return "disabled"
    if row["state"] == "gone":
        return "gone"
    if not row["next_fire_utc"]:
        return "manual only" if row["trigger"] == "manual only" else "-"
    from qwak_auto.schedule.triggers import zone

    utc = datetime.fromisoformat(row["next_fire_utc"])
    local = utc.astimezone(zone(row["timezone"]))
    if local.utcoffset() == utc.utcoffset() and row["timezone"] in ("UTC", ""):
        return f"{utc:%Y-%m-%d %H:%M} UTC"
    return f"{local:%Y-%m-%d %H:%M %Z} ({utc:%H:%M} UTC)"


def render_detail(detail: dict[str, Any]) -> None:
    from qwak_auto import console

    console.out(
        f"run {detail['run_id']} of {detail['automation']}: {detail['status']}"
        f" ({detail['trigger_reason']}, started {_time(detail['started_at'])},"
        f" attempt {detail['attempt']})"
    )
    if detail["error"]:
        console.out(f"error: {detail['error']}")
    approval = detail.get("approval")
    if approval and approval["state"] in ("waiting", "approved"):
        from qwak_auto.views.approvals import line

        console.out(f"approval: {line(approval)}")
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
    output: Format = FORMAT,
) -> None:
    """Runs newest first; `--run RUN_ID` shows each step with status, duration and reason."""
    from qwak_auto import console
    from qwak_auto.errors import UsageError
    from qwak_auto.views import history

    config = project_config(())
    with store_for(config) as store:
        if run_id:
            detail = history.run_detail(store, run_id)
            if detail is None:
                raise UsageError(f"no run {run_id!r}", "list runs with `auto history`")
            if output == "json":
                console.emit_json(detail)
            else:
                render_detail(detail)
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
                r["error"] or _waiting_note(r),
            ]
            for r in rows
        ],
    )


def _waiting_note(row: dict[str, Any]) -> str:
    approval = row.get("approval")
    if not approval or approval["state"] not in ("waiting", "approved"):
        return ""
    from qwak_auto.views.approvals import line

    return line(approval)


@app.command("plan")
def plan_command(
    paths: list[Path] = typer.Argument(..., help="Automation files or folders."),
    count: int = typer.Option(5, "--count", min=1, max=1000, help="Fire times to show."),
    now: str | None = typer.Option(None, "--now", help=NOW_HELP),
    output: Format = FORMAT,
) -> None:
    """Per automation: the next fire times (with DST notes), the missed slots a run would
    catch up now, where its execute_immediately run stands, and what a run would do. Changes
    nothing.

    Exit code: 0, or 1 when a file is invalid (its problems are listed; the valid
    automations are still planned)."""
    from qwak_auto import console
    from qwak_auto.automation.problems import Severity, problem_dict, render_text
    from qwak_auto.schedule.automation_set import load_set
    from qwak_auto.views import history

    roots = tuple(paths)
    config = project_config(roots)
    automations, problems = load_set(roots, config)
    with store_for(config) as store:
        plans = history.plan(automations, store, config, parse_now(now), count)
    failed = any(p.severity is Severity.ERROR for p in problems)
    if output == "json":
        console.emit_json({"automations": plans, "problems": [problem_dict(p) for p in problems]})
        raise typer.Exit(1 if failed else 0)
    for p in plans:
        _render_plan(p)
    if problems:
        files = len({p.file for p in problems})
        console.out(render_text(problems, files).rstrip())
    raise typer.Exit(1 if failed else 0)


def _render_plan(p: dict[str, Any]) -> None:
    from qwak_auto import console
    from qwak_auto.schedule.triggers import zone

    console.out(f"{p['name']}: {p['trigger']}" + ("" if p["enabled"] else " [disabled]"))
    tz = zone(p["timezone"])
    for f in p["next"]:
        utc = datetime.fromisoformat(f["utc"])
        local = utc.astimezone(tz)
        note = f"  ({f['note']})" if f["note"] else ""
        console.out(f"  next {local:%a %Y-%m-%d %H:%M %Z}  = {utc:%H:%M} UTC{note}")
    if p["once"] is not None and p["enabled"]:
        console.out(f"  {_once_line(p['once'], tz)}")
    missed = p["missed"]
    if missed["count"]:
        catch = missed["catch_up"]
        console.out(
            f"  missed {missed['count']} slot(s) since the last run"
            + (f"; a run now catches up {catch} once" if catch else "")
        )
    once_reason = p["once"]["reason"] if p["once"] else None
    for d in p["due_now"]:
        if d["reason"] != once_reason:  # the once line above says it
            console.out(f"  due now: {d['slot']} ({d['reason']})")
    a = p["action"]
    envs = ", ".join(f"{e['name']} ({e['deployer']})" for e in a["environments"])
    where = f"{a['source']}" + (f"#{a['path']}" if a["path"] else "")
    console.out(f"  does: build {where} @ {a['branch']} with {a['builder']}")
    console.out(f"        gate {a['gate']}; deploy to {envs} as {a['variation']}")
    if a["approval"]["required"]:
        from qwak_auto.views.approvals import age

        console.out(
            "        then waits for approval (`auto approve RUN_ID`) before it deploys;"
            f" expires after {age(a['approval']['timeout_s'])}"
        )


def _once_line(once: dict[str, Any], tz: Any) -> str:
    """``execute_immediately: pending, due now`` / ``…: done (run 5fdd90988d41)`` / …"""
    head = f"{once['reason']}: {once['state']}"
    if once["state"] == "done":
        return head + (f" (run {once['done_run'][:12]})" if once["done_run"] else "")
    if once["state"] == "not run":
        return head + " (the automation was first seen over an hour before it had the flag)"
    if once["attempts"] == 0:
        return head + (", due now" if once["due_now"] else ", runs at the first `auto run --once`")
    last = f"attempt {once['attempts']} {once['last_status']}"
    if once["last_error"]:
        last += f": {once['last_error']}"
    if once["next_attempt"] is None:
        return f"{head}; {last}"
    at = datetime.fromisoformat(once["next_attempt"]).astimezone(tz)
    when = "due now" if once["due_now"] else f"at {at:%Y-%m-%d %H:%M %Z}"
    return f"{head}; {last}; attempt {once['attempts'] + 1} {when}"
