"""HTML pages of the dashboard. Everything shown is escaped and passed through the redactor."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape

from qwak_auto.redact import redact
from qwak_auto.state.base import RunRecord, StepRecord
from qwak_auto.ui.chart import svg
from qwak_auto.ui.data import Overview

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d2330;background:#fafbfc}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:28px 0 8px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e3e6ea;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f0f2f5;font-weight:600}
.status{font-weight:600;padding:1px 6px;border-radius:3px}
.succeeded{background:#dcf5e3;color:#14632f} .failed,.abandoned{background:#fde2e1;color:#8a1c14}
.not_deployed,.skipped,.interrupted{background:#fff1d6;color:#7a4b00}
.running{background:#dde9fb;color:#123f80} .muted{color:#6b7480}
.chart .metric{fill:none;stroke:#2f6fdb;stroke-width:2}
.chart .threshold{fill:none;stroke:#d2452d;stroke-dasharray:5 4;stroke-width:1.5}
.chart circle.build{fill:#fff;stroke:#2f6fdb;stroke-width:2} .chart circle.deployed{fill:#2f6fdb}
.chart .axis{font-size:11px;fill:#6b7480} .card{background:#fff;padding:8px 12px;margin:8px 0;
border:1px solid #e3e6ea} a{color:#2f6fdb}
"""


def _t(value: object) -> str:
    return escape(redact("" if value is None else str(value)))


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else "—"


def _status(value: str) -> str:
    return f'<span class="status {_t(value)}">{_t(value)}</span>'


def _table(cls: str, head: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    header = "".join(f"<th>{_t(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    if not body:
        body = f'<tr><td colspan="{len(head)}" class="muted">nothing yet</td></tr>'
    return f'<table class="{cls}"><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>'


def page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{_t(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )


def _run_link(run_id: str) -> str:
    return f'<a href="/runs/{_t(run_id)}">{_t(run_id[:12])}</a>' if run_id else "—"


def overview_page(view: Overview) -> str:
    parts = [
        "<h1>auto</h1>",
        f'<p class="muted">read-only view, generated {_when(view.generated_at)}</p>',
    ]
    if view.problems:
        items = "".join(f"<li>{_t(p)}</li>" for p in view.problems)
        parts.append(
            f'<div class="card"><b>Automation files with problems</b><ul>{items}</ul></div>'
        )
    parts.append("<h2>Automations</h2>")
    parts.append(
        _table(
            "automations",
            ("automation", "model", "trigger", "enabled", "next fire", "last run", "result"),
            (
                (
                    _t(a.name),
                    _t(a.model_id),
                    _t(a.trigger),
                    "yes" if a.enabled else "disabled",
                    _when(a.next_fire),
                    _run_link(a.last_run_id),
                    _status(a.last_status),
                )
                for a in view.automations
            ),
        )
    )
    parts.append("<h2>Deployed builds</h2>")
    parts.append(
        _table(
            "deployments",
            ("model", "environment", "variation", "build", "address", "since"),
            (
                (
                    _t(d.model_id),
                    _t(d.environment or "default"),
                    _t(d.variation),
                    _t(d.build_id),
                    _t(d.address),
                    _when(d.created_at),
                )
                for d in view.deployments
            ),
        )
    )
    parts.append("<h2>Gated metrics</h2>")
    if not view.series:
        parts.append('<p class="muted">no automation has a deployment condition</p>')
    for s in view.series:
        threshold = (
            f"threshold {s.static_threshold:g}"
            if s.static_threshold is not None
            else "SQL threshold"
        )
        parts.append(
            f'<div class="card metric-card" data-automation="{_t(s.automation)}">'
            f"<b>{_t(s.automation)}</b> — {_t(s.metric)} {_t(s.direction)} {_t(threshold)}"
            f"<br>{svg(s)}</div>"
        )
    parts.append("<h2>Run history</h2>")
    parts.append(runs_table(view.runs))
    return page("auto", "".join(parts))


def runs_table(runs: Sequence[RunRecord]) -> str:
    return _table(
        "runs",
        ("run", "automation", "trigger", "started", "ended", "result", "reason"),
        (
            (
                _run_link(r.run_id),
                _t(r.automation),
                _t(r.trigger_reason),
                _when(r.started_at),
                _when(r.ended_at),
                _status(r.status.value),
                _t(r.error),
            )
            for r in runs
        ),
    )


def run_page(run: RunRecord, steps: Sequence[StepRecord]) -> str:
    def duration(step: StepRecord) -> str:
        if step.ended_at is None:
            return "—"
        return f"{(step.ended_at - step.started_at).total_seconds():.1f}s"

    body = [
        '<p><a href="/">← all automations</a></p>',
        f"<h1>Run {_t(run.run_id)}</h1>",
        f"<p>{_t(run.automation)} · {_t(run.trigger_reason)} · {_status(run.status.value)}"
        f" · attempt {run.attempt}</p>",
    ]
    if run.error:
        body.append(f'<div class="card">{_t(run.error)}</div>')
    body.append("<h2>Steps</h2>")
    body.append(
        _table(
            "steps",
            ("step", "status", "started", "duration", "reason"),
            (
                (
                    _t(s.name),
                    _status(s.status.value),
                    _when(s.started_at),
                    duration(s),
                    _t(s.reason),
                )
                for s in steps
            ),
        )
    )
    return page(f"run {run.run_id}", "".join(body))


def not_found(what: str) -> str:
    return page("not found", f'<p><a href="/">← back</a></p><h1>{_t(what)} not found</h1>')
