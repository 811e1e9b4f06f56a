"""HTML of the dashboard's overview page and the frame every page shares. Everything shown is
escaped and passed through the redactor; times are in each automation's own time zone."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from html import escape

from qwak_auto.redact import redact
from qwak_auto.state.base import ApprovalRecord, ApprovalState, DeploymentRecord, RunRecord
from qwak_auto.ui.chart import THRESHOLD_COLOUR, sparkline, svg
from qwak_auto.ui.data import Overview
from qwak_auto.ui.timefmt import when
from qwak_auto.ui.traffic import BINS, Traffic

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d2330;background:#fafbfc}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:28px 0 8px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e3e6ea;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f0f2f5;font-weight:600} td.num{text-align:right;font-variant-numeric:tabular-nums}
.status{font-weight:600;padding:1px 6px;border-radius:3px}
.succeeded,.serving,.ok{background:#dcf5e3;color:#14632f}
.failed,.abandoned,.rolled_back{background:#fde2e1;color:#8a1c14}
.not_deployed,.skipped,.interrupted,.retired,.rejected,.expired,.superseded{background:#fff1d6;color:#7a4b00}
.awaiting_approval,.waiting,.approved{background:#efe3fb;color:#5b2391}
.running,.starting{background:#dde9fb;color:#123f80} .muted{color:#6b7480}
.chart .metric{fill:none;stroke:#2f6fdb;stroke-width:2.5}
.chart .threshold{fill:none;stroke:THRESHOLD;stroke-dasharray:8 4;stroke-width:2.5}
.chart .threshold-label{font-size:11px;fill:THRESHOLD}
.chart circle.build{fill:#fff;stroke:#2f6fdb;stroke-width:2} .chart circle.deployed{fill:#2f6fdb}
.chart .grid{stroke:#e3e6ea;stroke-width:1} .chart .axis-line,.chart .tick-mark{stroke:#6b7480}
.chart .tick{font-size:11px;fill:#4b5563} .chart .axis-title{font-size:11px;fill:#6b7480}
.spark polyline{fill:none;stroke:#2f6fdb;stroke-width:1.5}
.card{background:#fff;padding:8px 12px;margin:8px 0;border:1px solid #e3e6ea}
a{color:#2f6fdb} pre{background:#fff;border:1px solid #e3e6ea;padding:8px;overflow:auto}
dl.kv{display:grid;grid-template-columns:max-content auto;gap:2px 16px} dl.kv dt{color:#6b7480}
""".replace("THRESHOLD", THRESHOLD_COLOUR)


def t(value: object) -> str:
    return escape(redact("" if value is None else str(value)))


def status(value: str) -> str:
    return f'<span class="status {t(value)}">{t(value)}</span>'


def table(
    cls: str, head: Sequence[str], rows: Iterable[Sequence[str]], attrs: Sequence[str] = ()
) -> str:
    """A table; ``attrs`` (one per row, optional) go into each ``<tr>``."""
    header = "".join(f"<th>{t(h)}</th>" for h in head)
    extra = list(attrs)
    body = "".join(
        f"<tr{extra[i] if i < len(extra) else ''}>"
        + "".join(f"<td>{c}</td>" for c in row)
        + "</tr>"
        for i, row in enumerate(rows)
    )
    if not body:
        body = f'<tr><td colspan="{len(head)}" class="muted">nothing yet</td></tr>'
    return f'<table class="{cls}"><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>'


def page(title: str, body: str, script: bool = False) -> str:
    js = '<script src="/static/dashboard.js" defer></script>' if script else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{t(title)}</title><style>{STYLE}</style>{js}</head><body>{body}</body></html>"
    )


def run_link(run_id: str) -> str:
    return f'<a href="/runs/{t(run_id)}">{t(run_id[:12])}</a>' if run_id else "—"


def build_link(build_id: str) -> str:
    return f'<a href="/builds/{t(build_id)}">{t(build_id)}</a>' if build_id else "—"


def deployment_link(deployment_id: str) -> str:
    return f'<a href="/deployments/{t(deployment_id)}">{t(deployment_id)}</a>'


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f} %"


def millis(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} ms"


def traffic_cells(traffic: Traffic | None, state: str) -> list[str]:
    """requests, 5xx share, p99, requests per minute: the cells the page script refreshes."""
    if traffic is None:
        return [
            '<span class="requests">—</span>',
            '<span class="errors">—</span>',
            '<span class="p99">—</span>',
            f'<span class="spark-cell">{sparkline([0] * BINS)}</span>'
            f'<div class="traffic-state muted">{t(state)}</div>',
        ]
    return [
        f'<span class="requests">{traffic.requests}</span>',
        f'<span class="errors">{percent(traffic.error_share)}</span>',
        f'<span class="p99">{millis(traffic.p99_ms)}</span>',
        f'<span class="spark-cell">{sparkline(traffic.per_minute)}</span>'
        f'<div class="traffic-state muted">{t(state if state != "ok" else "")}</div>',
    ]


def deployments_table(
    deployments: Sequence[DeploymentRecord],
    zones: Mapping[str, str],
    traffic: Mapping[str, tuple[Traffic | None, str]],
    model_zones: Mapping[str, str] | None = None,
) -> str:
    rows, attrs = [], []
    for d in deployments:
        # a deployment made by hand (`auto deploy`) names no automation: its model's zone
        zone = zones.get(d.automation) or (model_zones or {}).get(d.model_id, "UTC")
        found, state = traffic.get(d.deployment_id, (None, "waiting for the first sample"))
        rows.append(
            [
                t(d.model_id),
                t(d.environment or "default"),
                t(d.variation),
                build_link(d.build_id),
                deployment_link(d.deployment_id),
                t(d.address),
                when(d.created_at, zone),
                *traffic_cells(found, state),
            ]
        )
        attrs.append(f' data-deployment="{t(d.deployment_id)}"')
    return table(
        "deployments",
        (
            "model", "environment", "variation", "build", "deployment", "address", "since",
            "requests (1 h)", "5xx share", "p99", "requests / minute",
        ),
        rows,
        attrs,
    )  # fmt: skip


def overview_page(view: Overview, traffic: Mapping[str, tuple[Traffic | None, str]]) -> str:
    parts = [
        "<h1>auto</h1>",
        f'<p class="muted">read-only view, generated {when(view.generated_at, "UTC")}</p>',
    ]
    if view.problems:
        items = "".join(f"<li>{t(p)}</li>" for p in view.problems)
        parts.append(
            f'<div class="card"><b>Automation files with problems</b><ul>{items}</ul></div>'
        )
    parts.append("<h2>Automations</h2>")
    parts.append(
        table(
            "automations",
            ("automation", "model", "trigger", "enabled", "next fire", "last run", "result"),
            (
                (
                    t(a.name),
                    t(a.model_id),
                    t(a.trigger),
                    "yes" if a.enabled else "disabled",
                    when(a.next_fire, a.zone),
                    run_link(a.last_run_id),
                    status(a.last_status),
                )
                for a in view.automations
            ),
        )
    )
    if view.waiting:
        parts.append("<h2>Waiting for approval</h2>")
        parts.append(waiting_table(view.waiting, view.zones, view.generated_at))
    parts.append("<h2>Deployed builds</h2>")
    parts.append(
        '<p class="muted">Traffic of the last hour, from each model server\'s /metrics; '
        'refreshed every 10 s <span id="traffic-updated"></span></p>'
    )
    parts.append(deployments_table(view.deployments, view.zones, traffic, view.model_zones))
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
            f'<div class="card metric-card" data-automation="{t(s.automation)}">'
            f"<b>{t(s.automation)}</b> — {t(s.metric)} {t(s.direction)} {t(threshold)}"
            f"<br>{svg(s, view.zones.get(s.automation, 'UTC'))}</div>"
        )
    parts.append("<h2>Run history</h2>")
    parts.append(runs_table(view.runs, view.zones))
    return page("auto", "".join(parts), script=True)


def waiting_table(
    waiting: Sequence[ApprovalRecord], zones: Mapping[str, str], now: datetime
) -> str:
    """Each waiting run: how long it has waited, until when, what approving deploys, how."""
    from qwak_auto.views.approvals import row

    rows = []
    for record in waiting:
        item, zone = row(record, now), zones.get(record.automation, "UTC")
        state = "waiting" if record.state == ApprovalState.WAITING else "approved: next tick"
        rows.append(
            [
                run_link(record.run_id),
                t(record.automation),
                f"{status(record.state.value)} <span class=muted>{t(state)}</span>",
                t(item["age"]),
                when(record.expires_at, zone),
                t(item["would_deploy"]),
                t(item["metric"]),
                f"<code>{t(item['approve_command'])}</code>",
            ]
        )
    return table(
        "waiting",
        ("run", "automation", "state", "waiting for", "expires", "approving deploys", "gate",
         "command"),
        rows,
    )  # fmt: skip


def runs_table(runs: Sequence[RunRecord], zones: Mapping[str, str]) -> str:
    return table(
        "runs",
        ("run", "automation", "trigger", "started", "ended", "result", "reason"),
        (
            (
                run_link(r.run_id),
                t(r.automation),
                t(r.trigger_reason),
                when(r.started_at, zones.get(r.automation, "UTC")),
                when(r.ended_at, zones.get(r.automation, "UTC")),
                status(r.status.value),
                t(r.error),
            )
            for r in runs
        ),
    )


def not_found(what: str) -> str:
    return page("not found", f'<p><a href="/">← back</a></p><h1>{t(what)} not found</h1>')
