"""`auto ingest predictions FILE` and `auto query "SQL"` (the analytics store)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from qwak_auto.cli import app, command_group
from qwak_auto.cli.options import CONFIG, FORMAT, Format, project_config

if TYPE_CHECKING:
    from qwak_auto.analytics.ingest import IngestReport
    from qwak_auto.analytics.query import QueryResult, ScalarResult

ingest_app = command_group("ingest", "Load data into the analytics store.")

SHOWN_ROWS = 20


@ingest_app.command("predictions")
def ingest_predictions_command(
    file: Path = typer.Argument(..., help="A .jsonl, .csv or .parquet file of predictions."),
    model_id: str | None = typer.Option(
        None, "--model-id", help="Set model_id on every row (the file may then omit it)."
    ),
    file_format: str | None = typer.Option(
        None, "--format-in", help="The file's format (jsonl, csv, parquet); default: its suffix."
    ),
    config_file: Path | None = CONFIG,
    output_format: Format = FORMAT,
) -> None:
    """Load predictions: every row is checked first; any bad row and nothing is loaded."""
    from qwak_auto.run.sink import AnalyticsSink

    sink = AnalyticsSink(project_config(config_file=config_file))
    report = sink.ingest(file, model_id=model_id, fmt=file_format)
    _render_ingest(report, output_format)
    if not report.ok:
        raise typer.Exit(1)


def _render_ingest(report: IngestReport, output_format: Format) -> None:
    from qwak_auto import console

    if output_format == "json":
        console.emit_json(
            {
                "file": report.file,
                "loaded": report.rows,
                "columns_added": list(report.columns_added),
                "error_count": report.error_count,
                "errors": list(report.errors),
            }
        )
        return
    if report.ok:
        added = f" (new columns: {', '.join(report.columns_added)})" if report.columns_added else ""
        console.out(f"loaded {report.rows} predictions from {report.file}{added}")
        return
    for line in report.errors:
        console.out(f"{report.file}: {line}", err=True)
    more = report.error_count - len(report.errors)
    if more > 0:
        console.out(f"... and {more} more bad rows", err=True)
    console.error(
        f"{report.file}: {report.error_count} bad row(s); nothing was loaded",
        "fix the rows listed above and run the command again",
    )


@app.command("query")
def query_command(
    sql: str = typer.Argument(..., help="One SELECT, as in a threshold or a metric trigger."),
    config_file: Path | None = CONFIG,
    output_format: Format = FORMAT,
) -> None:
    """Run SQL exactly as a gate or metric trigger would: read-only, one SELECT, bounded.

    Shows the first rows, then the value, or why it would not count as a threshold.

    Exit 0 when it would count (one row, one finite number), 1 otherwise."""
    from qwak_auto.analytics.query import judge, run_query
    from qwak_auto.errors import ConditionError

    config = project_config(config_file=config_file)
    try:
        result = run_query(config, sql)
    except ConditionError as exc:
        _render_refused(sql, exc, output_format)
        raise typer.Exit(1) from None
    outcome = judge(result)
    _render_query(result, outcome, output_format)
    if not outcome.ok:
        raise typer.Exit(1)


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _render_refused(sql: str, exc: Any, output_format: Format) -> None:
    from qwak_auto import console

    if output_format == "json":
        console.emit_json(
            {"sql": sql, "counts": False, "value": None, "reason": exc.message, "hint": exc.hint}
        )
        return
    console.error(f"would not count as a threshold: {exc.message}", exc.hint)


def _render_query(result: QueryResult, outcome: ScalarResult, output_format: Format) -> None:
    from qwak_auto import console

    shown = [[_cell(v) for v in row] for row in result.rows[:SHOWN_ROWS]]
    if output_format == "json":
        console.emit_json(
            {
                "sql": result.sql,
                "counts": outcome.ok,
                "value": outcome.value,
                "reason": outcome.reason,
                "no_data": outcome.no_data,
                "columns": list(result.columns),
                "types": list(result.types),
                "rows": shown,
                "row_count": len(result.rows),
                "seconds": round(result.seconds, 4),
            }
        )
        return
    if result.columns:
        console.table("", list(result.columns), shown)
        if len(result.rows) > SHOWN_ROWS:
            console.out(f"({len(result.rows)} rows, first {SHOWN_ROWS} shown)")
    if outcome.ok:
        console.out(f"value: {outcome.value:.10g} (counts as a threshold)")
    else:
        console.out(f"would not count as a threshold: {outcome.reason}")
