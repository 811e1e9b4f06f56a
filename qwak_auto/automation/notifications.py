"""The notifications of the automation model (``on_success``, ``on_error`` ...)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qwak_auto.automation.resources import str_map


@dataclass(frozen=True, slots=True, kw_only=True)
class SlackNotification:
    webhook_secret: str
    kind: str = "slack"


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookNotification:
    url: str
    http_method: str = "POST"
    headers: Mapping[str, str] = field(default_factory=dict)
    secret_headers: Mapping[str, str] = field(default_factory=dict)  # header -> secret NAME
    data: Mapping[str, str] = field(default_factory=dict)
    signing_secret: str | None = None
    kind: str = "webhook"


Notification = SlackNotification | WebhookNotification


def notifications_of(doc: Mapping[str, Any] | None) -> tuple[Notification, ...]:
    out: list[Notification] = []
    for key, value in (doc or {}).items():
        if key == "slack":
            out.append(SlackNotification(webhook_secret=value["webhook_secret"]))
        elif key == "webhook":
            out.append(
                WebhookNotification(
                    url=value["url"],
                    http_method=str(value.get("http_method", "POST")).upper(),
                    headers=str_map(value.get("headers")),
                    secret_headers=str_map(value.get("secret_headers")),
                    data=str_map(value.get("data")),
                    signing_secret=value.get("signing_secret"),
                )
            )
    return tuple(out)
