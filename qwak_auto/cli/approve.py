"""`auto approve` and `auto reject`: a person's yes or no for a run that waits (issue 16).

Thin commands: parse options, call one service function (qwak_auto.schedule.approvals),
render. JSON (``--format json``): {run_id, automation, verdict, by, comment, would_deploy,
later, notes, run}; ``run`` is ``history.run_detail`` of the run after the command (its
steps, the deploy's among them when this command deployed it).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from qwak_auto.cli import app
from qwak_auto.cli.options import CONFIG, FORMAT, Format, project_config, store_for

if TYPE_CHECKING:
    from qwak_auto.schedule.approvals import Decision
    from qwak_auto.state.base import StateStore

RUN_HELP = "The waiting run's id (a unique prefix of at least 6 characters works)."
BY_HELP = "Who decides (default: the OS user)."


def _render(decision: Decision, store: StateStore, output: Format) -> None:
    from qwak_auto import console
    from qwak_auto.views import history

    detail = history.run_detail(store, decision.run_id)
    data: dict[str, Any] = {
        "run_id": decision.run_id,
        "automation": decision.automation,
        "verdict": decision.verdict,
        "by": decision.by,
        "comment": decision.comment,
        "would_deploy": decision.would_deploy,
        "later": decision.later,
        "notes": list(decision.notes),
        "run": detail,
    }
    if output == "json":
        console.emit_json(data)
        return
    why = f": {decision.comment}" if decision.comment else ""
    console.out(
        f"{decision.verdict} run {decision.run_id} of {decision.automation} by {decision.by}{why}"
    )
    for note in decision.notes:
        console.out(f"note: {note}")
    if decision.verdict == "rejected":
        console.out(f"not deployed: {decision.would_deploy}")
    elif decision.later:
        console.out(f"the next `auto run` tick deploys {decision.would_deploy}")
    if decision.outcome is not None and detail is not None:
        from qwak_auto.cli.records import render_detail

        render_detail(detail)


@app.command("approve")
def approve_command(
    run_id: str = typer.Argument(..., help=RUN_HELP),
    comment: str = typer.Option("", "--comment", help="Why (recorded with the approval)."),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
    later: bool = typer.Option(
        False, "--later", help="Only record the approval: the next `auto run` tick deploys it."
    ),
    config_file: Path | None = CONFIG,
    output: Format = FORMAT,
) -> None:
    """Approve a run that waits for approval, and deploy its build now (exactly once).

    The deploy and notify steps run here and are recorded on the same run; with --later any
    runner's next tick does them. Exit code: 0 deployed (or recorded, with --later); 1 the
    deploy failed, or the run does not wait (its state is named); 2 no such run."""
    from qwak_auto import console
    from qwak_auto.cli.run import _exit_code, _signals
    from qwak_auto.run.setup import RunnerSettings
    from qwak_auto.schedule.approvals import approve

    config = project_config(config_file=config_file)
    settings = RunnerSettings.from_environ(display=console.step_display)
    with store_for(config) as store:
        with _signals(settings.stop):
            decision = approve(run_id, config, store, settings, by=by, comment=comment, later=later)
        _render(decision, store, output)
    ok = decision.outcome.ok if decision.outcome is not None else True
    raise typer.Exit(_exit_code(ok, settings.stop))


@app.command("reject")
def reject_command(
    run_id: str = typer.Argument(..., help=RUN_HELP),
    comment: str = typer.Option("", "--comment", help="Why (recorded with the rejection)."),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
    config_file: Path | None = CONFIG,
    output: Format = FORMAT,
) -> None:
    """Reject a run that waits for approval: it ends `rejected` and nothing is deployed.

    Exit code: 0 rejected; 1 the run does not wait (its state is named); 2 no such run."""
    from qwak_auto.run.setup import RunnerSettings
    from qwak_auto.schedule.approvals import reject

    config = project_config(config_file=config_file)
    settings = RunnerSettings.from_environ()
    with store_for(config) as store:
        decision = reject(run_id, config, store, settings, by=by, comment=comment)
        _render(decision, store, output)
