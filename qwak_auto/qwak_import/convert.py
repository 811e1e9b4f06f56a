"""Map evaluated Qwak SDK objects to an automation document of our format.

Every value the Qwak file states is written, a default included (``git_branch="main"`` stays
``git_branch: main``): a port reads line by line. Where our default differs from Qwak's, the
value the Qwak file meant is written explicitly (a webhook's method defaults to GET in Qwak
and to POST here). A stated field with no counterpart is a warning naming it; a class with
none (``BatchExecution``) is a problem. Plaintext credentials (a Slack webhook URL, a
credential header) never reach the YAML: they become secret names, and a notice says where
to store the value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from qwak_auto.qwak_import.convert_action import ActionConverter
from qwak_auto.qwak_import.convert_base import (
    MISSING,
    Conversion,
    Issue,
    SecretNotice,
    secret_name,
    text,
)
from qwak_auto.qwak_import.evaluate import SdkCall
from qwak_auto.qwak_import.sdk import AUTOMATION_NOT_WRITTEN, QWAK_DIRECTION, QWAK_WEBHOOK_METHOD

__all__ = ["Conversion", "Issue", "SecretNotice", "convert", "mask_credentials", "secret_name"]

# Header names that carry credentials (Authorization, X-Api-Key, X-Auth-Token, ...).
CREDENTIAL_HEADER = re.compile(r"authorization|token|api[-_]?key|secret|password|cookie", re.I)
_TRIGGERS = ("ScheduledTrigger", "MetricBasedTrigger", "NoneTrigger", "OnBoardingTrigger")


class Converter(ActionConverter):
    def convert(self) -> Conversion:
        call = self.root
        for problem in call.problems:
            self.unknown(problem, "")
        doc = self.result.doc
        name = self.take(call, "name", "")
        if isinstance(name, str) and name:
            self.automation_name = name
        for key, value in (("name", name), ("model_id", self.take(call, "model_id", ""))):
            if value is MISSING:
                self.issue(
                    call.line, call.column, key, f"Automation(...) has no {key}", f'add {key}="..."'
                )
            doc[key] = None if value is MISSING else value
        self.put(doc, "description", self.take(call, "description", ""))
        self.put(doc, "environment", self.take(call, "environment", "") or None)
        self.put(doc, "enabled", self.take(call, "is_enabled", ""))
        self.put(doc, "execute_immediately", self.take(call, "execute_immediately", ""))
        self._not_written(call)
        doc["trigger"] = self._trigger(call)
        doc["action"] = {"build_deploy": self.action(call)}
        for key in ("on_success", "on_error"):
            notification = self._notification(call, key)
            if notification:
                doc[key] = notification
        self.done(call, "")
        return self.result

    def _not_written(self, call: SdkCall) -> None:
        # An empty value ("", False, None: Qwak's defaults) carries nothing to lose.
        for key, why in AUTOMATION_NOT_WRITTEN.items():
            if self.take_raw(call, key) not in (MISSING, "", False, None):
                self.warn(call, key, f"Automation({key}=...) is not written: {why}", "")
        if self.take(call, "is_deleted", "") not in (MISSING, False, None):
            self.issue(
                call.line,
                call.column,
                "is_deleted",
                "Automation(is_deleted=True) is an automation Qwak deleted",
                "remove the Automation(...) rather than port it, or drop is_deleted",
            )

    # ------------------------------------------------------------ triggers

    def _trigger(self, parent: SdkCall) -> dict[str, Any]:
        raw = self.take_raw(parent, "trigger")
        if raw is MISSING:
            # Qwak's default trigger is the abstract base: nothing fires but a manual run.
            return {"none": {}}
        call = self.call(raw, "trigger", _TRIGGERS, parent)
        if call is None:
            return {"none": {}}
        if call.name in ("NoneTrigger", "OnBoardingTrigger"):
            self.done(call, "trigger")
            return {"none" if call.name == "NoneTrigger" else "on_boarding": {}}
        if call.name == "ScheduledTrigger":
            return {"scheduled": self._scheduled(call)}
        path = "trigger.metric_based"
        out: dict[str, Any] = {"name": self.take(call, "name", path)}
        raw_metric = self.take_raw(call, "metric")
        metric = self.call(raw_metric, f"{path}.metric", ("SqlMetric",), call)
        if metric is not None:
            out["sql_query"] = self.take(metric, "sql_query", f"{path}.metric")
            self.done(metric, f"{path}.metric")
        elif raw_metric is MISSING:
            self.issue(
                call.line,
                call.column,
                path,
                "MetricBasedTrigger has no metric",
                'add metric=SqlMetric(sql_query="...")',
            )
        direction = self.take(call, "direction", path)
        out["direction"] = QWAK_DIRECTION if direction is MISSING else direction
        out["threshold"] = text(self.take(call, "threshold", path))
        self.put(out, "override_cron", self.take(call, "override_cron", path) or None)
        self.done(call, path)
        return {"metric_based": {k: v for k, v in out.items() if v is not MISSING}}

    def _scheduled(self, call: SdkCall) -> dict[str, Any]:
        path = "trigger.scheduled"
        cron = self.take(call, "cron", path)
        interval = self.take(call, "interval", path)
        self.done(call, path)
        if interval not in (MISSING, None, ""):
            if cron not in (MISSING, None, ""):
                self.warn(
                    call,
                    f"{path}.cron",
                    "ScheduledTrigger(cron=...) is not written: with an interval, Qwak uses "
                    "the interval",
                    "remove cron, or remove interval to keep the cron",
                )
            return {"interval": str(interval)}
        if cron in (MISSING, None, ""):
            self.issue(
                call.line,
                call.column,
                path,
                "ScheduledTrigger has neither cron nor interval",
                'add cron="..." or interval="..."',
            )
            return {"cron": ""}
        return {"cron": cron}

    # ------------------------------------------------------------ notifications

    def _notification(self, parent: SdkCall, key: str) -> dict[str, Any] | None:
        expected = ("SlackNotification", "CustomWebhook")
        call = self.take_call(parent, key, key, expected)
        if call is None:
            return None
        if call.name == "SlackNotification":
            self.take_raw(call, "webhook")  # a credential: deliberately not read into the output
            self.done(call, f"{key}.slack")
            name = secret_name(self.automation_name, f"{key}_slack_webhook")
            self.result.secrets.append(
                SecretNotice(
                    name, f"{key}.slack.webhook_secret", call.line, "Slack incoming-webhook URL"
                )
            )
            return {"slack": {"webhook_secret": name}}
        path = f"{key}.webhook"
        out: dict[str, Any] = {"url": self.take(call, "url", path)}
        method = self.take(call, "http_method", path)
        # Qwak's default is GET, ours POST: the method the Qwak file meant is written.
        out["http_method"] = str(QWAK_WEBHOOK_METHOD if method is MISSING else method).upper()
        headers = self.take_raw(call, "headers")
        if isinstance(headers, dict):
            self._headers(out, headers, key, call)
        elif headers is not MISSING:
            self.plain(headers, f"{path}.headers")  # reports what cannot be known
        data = self.take(call, "data", path)
        if isinstance(data, dict) and data:
            out["data"] = {str(k): text(v) for k, v in data.items()}
        self.done(call, path)
        return {"webhook": {k: v for k, v in out.items() if v is not MISSING}}

    def _headers(
        self, out: dict[str, Any], headers: dict[Any, Any], key: str, call: SdkCall
    ) -> None:
        """A credential header (Authorization, X-Api-Key, ...) becomes a secret header; its
        value is never read, so it may even be one computed at run time."""
        plain: dict[str, Any] = {}
        secret: dict[str, str] = {}
        for raw_header, raw_value in headers.items():
            header = str(raw_header)
            if not CREDENTIAL_HEADER.search(header):
                value = self.plain(raw_value, f"{key}.webhook.headers.{header}")
                if value is not None:
                    plain[header] = text(value)
                continue
            name = secret_name(self.automation_name, f"{key}_header_{header}").lower()
            secret[header] = name
            self.result.secrets.append(
                SecretNotice(
                    name,
                    f"{key}.webhook.secret_headers.{header}",
                    call.line,
                    f"the {header} header's value (all of it, e.g. `Bearer <token>`)",
                )
            )
        if plain:
            out["headers"] = plain
        if secret:
            out["secret_headers"] = secret


def convert(call: SdkCall) -> Conversion:
    return Converter(call).convert()


def mask_credentials(doc: Mapping[str, Any]) -> list[str]:
    """Paths whose values look like plaintext credentials (for the caller to rewrite)."""
    found: list[str] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{path}[{i}]")
        elif isinstance(value, str) and re.search(r"hooks\.slack\.com/services/", value):
            found.append(path)

    walk(doc, "")
    return found
