"""The dashboard's pages for one run, one build and one deployment, linked to each other: a
run links to its build, its logs and its deployment; a build to its run, log and
deployments; a deployment to its build, run, server log and traffic."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from qwak_auto.state.base import ApprovalRecord, BuildRecord, DeploymentRecord, RunRecord
from qwak_auto.ui.data import RunView
from qwak_auto.ui.pages import (
    build_link,
    deployment_link,
    page,
    run_link,
    status,
    t,
    table,
    traffic_cells,
)
from qwak_auto.ui.timefmt import when
from qwak_auto.ui.traffic import Traffic

BACK = '<p><a href="/">← all automations</a></p>'


def _kv(pairs: Sequence[tuple[str, str]]) -> str:
    return '<dl class="kv">' + "".join(f"<dt>{t(k)}</dt><dd>{v}</dd>" for k, v in pairs) + "</dl>"


def _duration(started: Any, ended: Any) -> str:
    if ended is None:
        return "—"
    return f"{(ended - started).total_seconds():.1f} s"


def _deployments(deployments: Sequence[DeploymentRecord], zone: str) -> str:
    return table(
        "deployments",
        ("deployment", "build", "environment", "variation", "status", "address", "since"),
        (
            (
                deployment_link(d.deployment_id),
                build_link(d.build_id),
                t(d.environment or "default"),
                t(d.variation),
                status(d.status),
                t(d.address),
                when(d.created_at, zone),
            )
            for d in deployments
        ),
    )


def _approval(record: ApprovalRecord, zone: str) -> str:
    """What the run waits for (or what a person decided), and what approving deploys."""
    from datetime import UTC, datetime

    from qwak_auto.views.approvals import row

    item = row(record, datetime.now(UTC))
    pairs = [
        ("approval", status(record.state.value)),
        ("asked", when(record.requested_at, zone)),
        ("waited", t(item["age"])),
        ("expires", when(record.expires_at, zone)),
        ("approving deploys", t(item["would_deploy"])),
        ("gate", t(item["metric"])),
    ]
    if record.decided_by:
        why = f": {record.comment}" if record.comment else ""
        pairs.append(("decided by", t(record.decided_by + why)))
    if record.superseded_by:
        pairs.append(("superseded by", run_link(record.superseded_by)))
    if record.state.value == "waiting":
        pairs.append(("approve with", f"<code>{t(item['approve_command'])}</code>"))
    return '<div class="card">' + _kv(pairs) + "</div>"


def run_page(view: RunView) -> str:
    run: RunRecord = view.run
    body = [
        BACK,
        f"<h1>Run {t(run.run_id)}</h1>",
        f"<p>{t(run.automation)} · {t(run.trigger_reason)} · {status(run.status.value)}"
        f" · attempt {run.attempt} · started {when(run.started_at, view.zone)}"
        f" · ended {when(run.ended_at, view.zone)}</p>",
    ]
    if run.error:
        body.append(f'<div class="card">{t(run.error)}</div>')
    if view.approval is not None:
        body.append(_approval(view.approval, view.zone))
    body.append("<h2>Steps</h2>")
    body.append(
        table(
            "steps",
            ("step", "status", "started", "duration", "reason"),
            (
                (
                    t(s.name),
                    status(s.status.value),
                    when(s.started_at, view.zone),
                    _duration(s.started_at, s.ended_at),
                    t(s.reason),
                )
                for s in view.steps
            ),
        )
    )
    body.append("<h2>Build</h2>")
    body.append(
        table(
            "builds",
            ("build", "status", "commit", "metrics", "log"),
            (
                (
                    build_link(b.build_id),
                    status(b.status),
                    t(b.commit[:12]),
                    t(", ".join(f"{k}={v:.4g}" for k, v in sorted(b.metrics.items()))),
                    f'<a href="/builds/{t(b.build_id)}/log">build log</a>',
                )
                for b in view.builds
            ),
        )
    )
    body.append("<h2>Deployment</h2>")
    body.append(_deployments(view.deployments, view.zone))
    body.append("<h2>Logs</h2>")
    links = [f'<li><a href="/runs/{t(run.run_id)}/logs/{t(n)}">{t(n)}</a></li>' for n in view.logs]
    links += [
        f'<li><a href="/builds/{t(b.build_id)}/log">build {t(b.build_id)}</a></li>'
        for b in view.builds
    ]
    body.append(f'<ul class="logs">{"".join(links)}</ul>' if links else '<p class="muted">none</p>')
    return page(f"run {run.run_id}", "".join(body))


def build_page(build: BuildRecord, deployments: Sequence[DeploymentRecord], zone: str) -> str:
    pairs = [
        ("model", t(build.model_id)),
        ("automation", t(build.automation or "—")),
        ("run", run_link(build.run_id)),
        ("status", status(build.status)),
        ("reason", t(build.reason or "—")),
        ("commit", t(build.commit or "—")),
        ("builder", t(build.builder or "—")),
        ("image", t(build.image or "—")),
        ("started", when(build.started_at, zone)),
        ("ended", when(build.ended_at, zone)),
        ("log", f'<a href="/builds/{t(build.build_id)}/log">build log</a>'),
    ]
    metrics = table(
        "metrics",
        ("metric", "value"),
        ((t(k), f"{v:.6g}") for k, v in sorted(build.metrics.items())),
    )
    params = table(
        "params", ("parameter", "value"), ((t(k), t(v)) for k, v in sorted(build.params.items()))
    )
    provenance = json.dumps(dict(build.provenance), indent=2, default=str, sort_keys=True)
    body = [
        BACK,
        f"<h1>Build {t(build.build_id)}</h1>",
        _kv(pairs),
        "<h2>Metrics</h2>",
        metrics,
        "<h2>Parameters</h2>",
        params,
        "<h2>Deployments of this build</h2>",
        _deployments(deployments, zone),
        "<h2>Provenance</h2>",
        f"<pre>{t(provenance)}</pre>",
    ]
    return page(f"build {build.build_id}", "".join(body))


def _windows(windows: Any) -> list[str]:
    """The rollout's watched windows: phase, verdict and the figures it was judged on."""
    if not isinstance(windows, list) or not windows:
        return []
    rows = [
        [
            t(str(w.get("phase", ""))),
            t({True: "passed", False: "breach", None: "no verdict"}.get(w.get("verdict"), "?")),
            t(str(w.get("requests", ""))),
            t(str(w.get("errors", ""))),
            t("—" if w.get("p99_ms") is None else f"{w['p99_ms']} ms"),
            t(str(w.get("reason", ""))),
        ]
        for w in windows
        if isinstance(w, dict)
    ]
    return [
        "<h2>Rollout</h2>",
        table("windows", ("phase", "verdict", "answers", "5xx", "p99", "why"), rows),
    ]


def deployment_page(
    record: DeploymentRecord, zone: str, traffic: tuple[Traffic | None, str]
) -> str:
    detail: Mapping[str, Any] = record.detail
    pairs = [
        ("model", t(record.model_id)),
        ("environment / variation", t(f"{record.environment or 'default'} / {record.variation}")),
        ("build", build_link(record.build_id)),
        ("run", run_link(record.run_id)),
        ("status", status(record.status)),
        ("deployer", t(record.deployer)),
        ("address", t(record.address or "—")),
        ("since", when(record.created_at, zone)),
        ("retired", when(record.retired_at, zone)),
        ("reason", t(record.reason or "—")),
    ]
    if isinstance(detail.get("log"), str):
        pairs.append(
            ("server log", f'<a href="/deployments/{t(record.deployment_id)}/log">serve.log</a>')
        )
    if isinstance(detail.get("phase"), str):
        weights = detail.get("weights") or {}
        shown = ", ".join(f"{k}: {v}" for k, v in weights.items()) if weights else "—"
        pairs += [("rollout phase", t(detail["phase"])), ("weights", t(shown))]
    cells = traffic_cells(*traffic)
    body = [
        BACK,
        f"<h1>Deployment {t(record.deployment_id)}</h1>",
        _kv(pairs),
        *_windows(detail.get("windows")),
        "<h2>Last hour</h2>",
        table(
            "deployments",
            ("requests (1 h)", "5xx share", "p99", "requests / minute"),
            [cells],
            [f' data-deployment="{t(record.deployment_id)}"'],
        ),
        "<h2>Detail</h2>",
        f"<pre>{t(json.dumps(dict(detail), indent=2, default=str, sort_keys=True))}</pre>",
    ]
    return page(f"deployment {record.deployment_id}", "".join(body), script=True)
