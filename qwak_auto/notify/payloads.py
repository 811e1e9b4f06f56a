"""What a notification says: the Slack message and the custom webhook's fields (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from qwak_auto.run.contracts import RunSummary

EVENTS = ("start", "success", "error", "not_deployed", "approval_needed")

_TITLES = {
    "start": ("⏳", "started"),
    "success": ("✅", "deployed a new build"),
    "error": ("❌", "failed"),
    "not_deployed": ("⏸️", "built, but the serving model was kept"),
    "approval_needed": ("✋", "waits for approval to deploy"),
}
_STATUS = {
    "start": "running",
    "success": "succeeded",
    "error": "failed",
    "not_deployed": "not_deployed",
    "approval_needed": "awaiting_approval",
}


def status_of(event: str, summary: RunSummary) -> str:
    if event in _STATUS:
        return _STATUS[event]
    return summary.status or event


def reason_of(event: str, summary: RunSummary) -> str:
    if event == "error":
        return summary.error or "the run failed"
    if event == "start":
        return summary.trigger_reason
    if event == "not_deployed" and summary.error:  # rejected, expired or superseded
        return summary.error
    if summary.decision is not None:
        return summary.decision.reason
    return ""


def duration_seconds(summary: RunSummary) -> float | None:
    if summary.ended_at is None:
        return None
    return max(0.0, (summary.ended_at - summary.started_at).total_seconds())


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m {secs}s"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def metric_line(summary: RunSummary) -> str:
    decision = summary.decision
    if decision is None or decision.metric_name is None:
        return "no deployment condition" if decision is not None else "-"
    value = "no value" if decision.value is None else f"{decision.value:g}"
    threshold = "-" if decision.threshold is None else f"{decision.threshold:g}"
    source = f" ({decision.threshold_source})" if decision.threshold_source else ""
    return f"{decision.metric_name} {value} vs threshold {threshold}{source}"


def verdict_of(event: str, summary: RunSummary) -> str:
    if event == "start":
        return "running"
    if event == "error":
        return "failed"
    if event == "approval_needed":
        return "waiting for approval" + (
            f" until {_iso(summary.waits_until)}" if summary.waits_until else ""
        )
    if event == "success":
        where = ", ".join(
            f"{d.environment}/{d.variation}" for d in summary.deployments if d.status == "serving"
        )
        return f"deployed to {where}" if where else "deployed"
    return "not deployed: " + (reason_of(event, summary) or "the gate kept the serving model")


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def approve_command(run_id: str) -> str:
    """The exact command that approves a waiting run (also in `auto status`)."""
    return f"auto approve {run_id}"


def reject_command(run_id: str) -> str:
    return f'auto reject {run_id} --comment "why"'


def approval_fields(summary: RunSummary) -> dict[str, Any]:
    """What an ``approval_needed`` webhook adds: the commands, the deadline, the metric
    against the threshold, and the older waiting runs this one superseded."""
    d = summary.decision
    return {
        "approve_command": approve_command(summary.run_id),
        "reject_command": reject_command(summary.run_id),
        "expires_at": _iso(summary.waits_until) if summary.waits_until else "",
        "metric": metric_line(summary),
        "metric_name": d.metric_name if d is not None else None,
        "metric_value": d.value if d is not None else None,
        "threshold": d.threshold if d is not None else None,
        "threshold_source": d.threshold_source if d is not None else None,
        "supersedes": list(summary.supersedes),
    }


def webhook_fields(event: str, summary: RunSummary) -> dict[str, Any]:
    """The fields of a custom webhook (JSON body, or query string for GET); an
    ``approval_needed`` event adds :func:`approval_fields`."""
    extra = approval_fields(summary) if event == "approval_needed" else {}
    return {
        "execution_date": _iso(summary.started_at),
        "model_id": summary.model_id,
        "automation": summary.automation,
        "status": status_of(event, summary),
        "build_id": summary.build_id or "",
        "deployed": event == "success",
        "reason": reason_of(event, summary),
        "event": event,
        "run_id": summary.run_id,
        "trigger_reason": summary.trigger_reason,
        "commit": summary.commit or "",
        **extra,
    }


def _escape(text: str) -> str:
    # Slack mrkdwn control characters; escaping also stops `<url|x>` links sneaking in.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(event: str, summary: RunSummary, ui_url: str | None = None) -> dict[str, Any]:
    """A Slack incoming-webhook message: a top-level ``text`` (what the phone notification
    shows) and blocks. Link-free unless a UI address is configured."""
    icon, what = _TITLES.get(event, ("ℹ️", event))
    title = f"{icon} {summary.automation} {what}"
    text = f"{title} (model {summary.model_id})"
    reason = reason_of(event, summary)
    if reason:
        text += f": {reason}"
    text = _escape(text)
    commit = (summary.commit or "")[:12] or "-"
    fields = [
        ("Automation", summary.automation),
        ("Model", summary.model_id),
        ("Trigger", summary.trigger_reason or "-"),
        ("Build", summary.build_id or "-"),
        ("Commit", commit),
        ("Metric", metric_line(summary)),
        ("Verdict", verdict_of(event, summary)),
        ("Duration", format_duration(duration_seconds(summary))),
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": True}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{name}*\n{_escape(value)}"} for name, value in fields
            ],
        },
    ]
    if event == "error" and summary.error:
        blocks.append(
            {"type": "section", "text": {"type": "plain_text", "text": summary.error[:2900]}}
        )
    if event == "approval_needed":
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _commands(summary)}})
    context = f"run {summary.run_id}"
    if ui_url:
        link = f"{ui_url.rstrip('/')}/runs/{summary.run_id}"
        context = f"<{link}|run {summary.run_id}>"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return {"text": text, "blocks": blocks}


def _commands(summary: RunSummary) -> str:
    text = (
        f"Approve: `{approve_command(summary.run_id)}`\n"
        f"Reject: `{_escape(reject_command(summary.run_id))}`"
    )
    if summary.supersedes:
        text += "\nSupersedes the waiting run(s) " + ", ".join(summary.supersedes)
    return text
