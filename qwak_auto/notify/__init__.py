"""Run notifications: Slack incoming webhooks and custom webhooks.

``on_start``, ``on_success`` (a new build is serving), ``on_not_deployed`` (built fine, the
gate kept the serving model, or a person rejected it or let it expire), ``on_error`` and
``on_approval_needed`` (the run waits for `auto approve`; the payload carries the command).
A notification that cannot be delivered is recorded in the returned detail (the runner
stores it as the notify step's detail) and logged; it never raises and never fails the run.
Every body passes through the redactor. A webhook's ``secret_headers`` are resolved at send
time and registered with the redactor, so their values reach the receiver and nothing else.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from qwak_auto import log, redact
from qwak_auto.errors import AutoError
from qwak_auto.notify.http import Delivery, Request, RetryPolicy, send
from qwak_auto.notify.payloads import EVENTS, slack_message, webhook_fields

if TYPE_CHECKING:
    from qwak_auto.automation.model import Automation
    from qwak_auto.automation.notifications import Notification, WebhookNotification
    from qwak_auto.run.contracts import RunContext, RunSummary

__all__ = ["EVENTS", "RunNotifier", "notifications_for"]


def notifications_for(automation: Automation, event: str) -> tuple[Notification, ...]:
    return {
        "start": automation.on_start,
        "success": automation.on_success,
        "error": automation.on_error,
        "not_deployed": automation.on_not_deployed,
        "approval_needed": automation.on_approval_needed,
    }.get(event, ())


def _target(url: str) -> str:
    """What a log line may say about a webhook URL: scheme and host only (the path or query
    may carry a token)."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}" if parts.netloc else "?"


def _json_body(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(redact.redact_obj(payload), sort_keys=True, default=str).encode()


class RunNotifier:
    """The ``default`` notifier of :data:`qwak_auto.run.contracts.NOTIFIERS`."""

    def __init__(self, policy: RetryPolicy | None = None) -> None:
        self.policy = policy

    def notify(self, event: str, summary: RunSummary, ctx: RunContext) -> Mapping[str, Any]:
        try:
            return self._notify(event, summary, ctx)
        except Exception as exc:  # noqa: BLE001 - a notification never fails the run
            error = redact.redact(f"{type(exc).__name__}: {exc}")
            log.event("notification failed", level="warning", event=event, error=error)
            return {"event": event, "sent": 0, "failed": 1, "ok": False, "error": error}

    def _notify(self, event: str, summary: RunSummary, ctx: RunContext) -> Mapping[str, Any]:
        if event not in EVENTS:
            return {
                "event": event,
                "sent": 0,
                "failed": 0,
                "ok": True,
                "error": f"unknown event {event!r}",
                "notifications": [],
            }
        policy = self.policy or RetryPolicy.from_environ(ctx.environ)
        deadline = time.monotonic() + policy.budget
        results = []
        for notification in notifications_for(ctx.automation, event):
            result = self._one(notification, event, summary, ctx, policy, deadline)
            log.event(
                "notification sent" if result["ok"] else "notification failed",
                level="info" if result["ok"] else "warning",
                automation=summary.automation,
                run=summary.run_id,
                event=event,
                kind=result["kind"],
                target=result["target"],
                attempts=result["attempts"],
                **({"error": result["error"]} if result["error"] else {}),
            )
            results.append(result)
        failed = sum(1 for r in results if not r["ok"])
        detail: dict[str, Any] = {
            "event": event,
            "sent": len(results) - failed,
            "failed": failed,
            "ok": failed == 0,
            "notifications": results,
        }
        if failed:
            # The runner lists the events whose detail has an `error` in the step's reason.
            detail["error"] = "; ".join(
                f"{r['kind']} {r['target']}: {r['error'] or 'failed'}"
                for r in results
                if not r["ok"]
            )
        return dict(redact.redact_obj(detail))

    def _one(
        self,
        notification: Notification,
        event: str,
        summary: RunSummary,
        ctx: RunContext,
        policy: RetryPolicy,
        deadline: float,
    ) -> dict[str, Any]:
        from qwak_auto.automation.notifications import SlackNotification

        kind = notification.kind
        # A slack target is named by its secret (never the URL it resolves to).
        target = (
            f"secret {notification.webhook_secret}"
            if isinstance(notification, SlackNotification)
            else "?"
        )
        try:
            if isinstance(notification, SlackNotification):
                url = ctx.secrets(notification.webhook_secret)
                body = _json_body(slack_message(event, summary, ctx.config.ui_url))
                request = Request(
                    method="POST",
                    url=url,
                    body=body,
                    headers={"Content-Type": "application/json"},
                )
            else:
                target = _target(notification.url)
                request = self._webhook_request(notification, event, summary, ctx)
        except AutoError as exc:
            delivery = Delivery(ok=False, attempts=0, error=redact.redact(exc.message))
        else:
            delivery = send(request, policy, deadline=deadline)
        return {
            "kind": kind,
            "target": target,
            "ok": delivery.ok,
            "http_status": delivery.status,
            "attempts": delivery.attempts,
            "error": delivery.error,
        }

    def _webhook_request(
        self,
        notification: WebhookNotification,
        event: str,
        summary: RunSummary,
        ctx: RunContext,
    ) -> Request:
        from qwak_auto.notify import signing

        secret = None
        if notification.signing_secret:
            secret = ctx.secrets(notification.signing_secret)
            key = signing.secret_bytes(secret)  # fails early, with a message, on a bad secret
            redact.register(secret.strip().removeprefix(signing.PREFIX))
            del key
        fields = webhook_fields(event, summary)
        method = notification.http_method.upper()
        headers = {**notification.headers, **_secret_headers(notification, ctx)}
        if method in ("GET", "HEAD"):
            # Qwak's behaviour: the fields and `data` go in the query string, core fields win.
            query = {**{k: str(v) for k, v in notification.data.items()}}
            query.update(
                {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in fields.items()}
            )
            clean = {k: redact.redact(v) for k, v in query.items()}
            parts = urllib.parse.urlsplit(notification.url)
            joined = "&".join(p for p in (parts.query, urllib.parse.urlencode(clean)) if p)
            url = urllib.parse.urlunsplit(parts._replace(query=joined))
            return Request(method=method, url=url, headers=headers, signing_secret=secret)
        payload = {**fields, "data": dict(notification.data)}
        headers.setdefault("Content-Type", "application/json")
        return Request(
            method=method,
            url=notification.url,
            body=_json_body(payload),
            headers=headers,
            signing_secret=secret,
        )


def _secret_headers(notification: WebhookNotification, ctx: RunContext) -> dict[str, str]:
    """``secret_headers``: each value resolved now, registered with the redactor (so no log,
    error or record can show it) and refused when it would break the request."""
    out: dict[str, str] = {}
    for header, name in notification.secret_headers.items():
        value = ctx.secrets(name).strip()
        redact.register_secret(value)
        if not value or any(c in value for c in "\r\n\0"):
            raise AutoError(
                f"the secret `{name}` for the header {header} is empty or holds a line break",
                "store the header's value on one line, e.g. `Bearer <token>`",
            )
        out[header] = value
    return out
