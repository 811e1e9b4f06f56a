"""Notification payloads, signatures and the notifier's bookkeeping (no network)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from qwak_auto.automation.model import Automation, BuildDeploy, BuildSpec, NoneTrigger
from qwak_auto.automation.notifications import SlackNotification, WebhookNotification
from qwak_auto.config import load_config
from qwak_auto.errors import BackendError, NotifyError
from qwak_auto.notify import RunNotifier, signing
from qwak_auto.notify.http import Delivery, Request, RetryPolicy, check_url, send
from qwak_auto.notify.payloads import slack_message, webhook_fields
from qwak_auto.run.contracts import Decision, DeployOutcome, RunContext, RunSummary

START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def summary(**changes: Any) -> RunSummary:
    base = RunSummary(
        run_id="run-1",
        automation="churn-retrain",
        model_id="churn",
        status="succeeded",
        trigger_reason="schedule",
        started_at=START,
        ended_at=START + timedelta(minutes=3, seconds=7),
        build_id="b-123",
        commit="0123456789abcdef0123",
        decision=Decision(
            deploy=True,
            reason="f1 0.71 > 0.65 (static threshold)",
            metric_name="f1",
            value=0.71,
            threshold=0.65,
            threshold_source="static",
        ),
        deployments=(
            DeployOutcome(
                environment="dev",
                variation="default",
                deployment_id="d1",
                address="http://127.0.0.1:1",
                status="serving",
            ),
        ),
    )
    return replace(base, **changes)


def test_slack_message_has_text_and_the_blocks() -> None:
    message = slack_message("success", summary())
    assert message["text"].startswith("✅ churn-retrain deployed a new build (model churn)")
    fields = message["blocks"][1]["fields"]
    names = [f["text"].split("\n")[0] for f in fields]
    assert names == [
        "*Automation*", "*Model*", "*Trigger*", "*Build*",
        "*Commit*", "*Metric*", "*Verdict*", "*Duration*",
    ]  # fmt: skip
    texts = {f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in fields}
    assert texts["*Metric*"] == "f1 0.71 vs threshold 0.65 (static)"
    assert texts["*Verdict*"] == "deployed to dev/default"
    assert texts["*Duration*"] == "3m 7s"
    assert texts["*Commit*"] == "0123456789ab"


def test_slack_message_is_link_free_without_ui_url() -> None:
    message = slack_message("error", summary(status="failed", error="build: <boom> & more"))
    assert "http" not in repr(message)
    assert message["text"].endswith(": build: &lt;boom&gt; &amp; more")  # mrkdwn: escaped
    assert message["blocks"][2]["text"] == {"type": "plain_text", "text": "build: <boom> & more"}
    with_ui = slack_message("success", summary(), ui_url="https://auto.example/")
    assert "<https://auto.example/runs/run-1|run run-1>" in repr(with_ui)


def test_not_deployed_is_not_success() -> None:
    fields = webhook_fields("not_deployed", summary(status="not_deployed"))
    assert fields["deployed"] is False
    assert fields["status"] == "not_deployed"
    assert webhook_fields("success", summary())["deployed"] is True
    message = slack_message("not_deployed", summary(status="not_deployed"))
    assert "serving model was kept" in message["text"]


def test_webhook_fields() -> None:
    fields = webhook_fields("error", summary(status="failed", error="build failed: exit 1"))
    assert fields["execution_date"] == "2026-01-02T03:04:05Z"
    assert {k: fields[k] for k in ("model_id", "automation", "status", "build_id", "reason")} == {
        "model_id": "churn",
        "automation": "churn-retrain",
        "status": "failed",
        "build_id": "b-123",
        "reason": "build failed: exit 1",
    }


def _independent_signature(secret: str, msg_id: str, ts: str, body: bytes) -> str:
    key = base64.b64decode(secret.split("_", 1)[1])
    mac = hmac.new(key, msg_id.encode() + b"." + ts.encode() + b"." + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def test_signature_matches_the_spec() -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    body = b'{"a": 1}'
    headers = signing.headers(secret, "msg_1", 1700000000, body)
    assert headers["webhook-signature"] == _independent_signature(
        secret, "msg_1", "1700000000", body
    )


def test_bad_signing_secret_is_explained_without_the_secret() -> None:
    with pytest.raises(NotifyError) as info:
        signing.secret_bytes("not base64 !!")
    assert "not base64" not in info.value.message


def test_retry_policy_from_environ() -> None:
    policy = RetryPolicy.from_environ({"AUTO_NOTIFY_TIMEOUT": "2", "AUTO_NOTIFY_RETRIES": "x"})
    assert policy.timeout == 2
    assert policy.retries == 3


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://x/y", "not a url"])
def test_only_http_urls(url: str) -> None:
    assert check_url(url)
    delivery = send(Request(method="POST", url=url), RetryPolicy(retries=0))
    assert delivery == Delivery(ok=False, attempts=0, error=check_url(url) or "")


def _ctx(tmp_path: Path, automation: Automation, secrets: Any) -> RunContext:
    return RunContext(
        run_id="run-1",
        automation=automation,
        config=load_config(env={"AUTO_HOME": str(tmp_path)}, cwd=tmp_path),
        store=cast(Any, None),
        secrets=secrets,
        trigger_reason="schedule",
        started_at=START,
        log_dir=tmp_path,
    )


def _automation(**changes: Any) -> Automation:
    base = Automation(
        name="churn-retrain",
        model_id="churn",
        trigger=NoneTrigger(),
        action=BuildDeploy(build_spec=BuildSpec(git_uri="https://example.invalid/r.git")),
    )
    return replace(base, **changes)


def test_unresolved_slack_secret_is_recorded_not_raised(tmp_path: Path) -> None:
    def secrets(name: str) -> str:
        raise BackendError(f"secret {name!r} was not found; backends tried: env")

    automation = _automation(on_error=(SlackNotification(webhook_secret="slack_hook"),))
    detail = RunNotifier().notify("error", summary(), _ctx(tmp_path, automation, secrets))
    assert detail["ok"] is False
    assert detail["failed"] == 1
    assert detail["notifications"][0]["kind"] == "slack"
    assert "slack_hook" in detail["notifications"][0]["error"]


def test_event_without_notifications_sends_nothing(tmp_path: Path) -> None:
    automation = _automation(on_error=(WebhookNotification(url="http://127.0.0.1:9/x"),))
    detail = RunNotifier().notify("success", summary(), _ctx(tmp_path, automation, None))
    assert detail == {"event": "success", "sent": 0, "failed": 0, "ok": True, "notifications": []}


def test_unknown_event_never_raises(tmp_path: Path) -> None:
    detail = RunNotifier().notify("bogus", summary(), _ctx(tmp_path, _automation(), None))
    assert detail["ok"] is True
    assert "unknown event" in detail["error"]


def test_notifier_importable_from_registry() -> None:
    from qwak_auto.registry import NOTIFIERS

    assert isinstance(NOTIFIERS.get("automation").factory(), RunNotifier)


def test_budget_stops_retries_before_the_runner_timeout() -> None:
    import time

    slept: list[float] = []
    policy = RetryPolicy(timeout=1.0, retries=3, backoff=5.0, budget=2.0)
    started = time.monotonic()
    delivery = send(
        Request(method="POST", url="http://127.0.0.1:9/x"),
        policy,
        deadline=started + 2.0,
        sleep=slept.append,
    )
    assert delivery.ok is False
    assert delivery.attempts == 1
    assert slept == []
    assert "budget" in delivery.error


def test_approval_needed_carries_the_commands_and_the_metric() -> None:
    waiting = summary(
        status="awaiting_approval",
        ended_at=None,
        deployments=(),
        waits_until=START + timedelta(hours=24),
        supersedes=("run-0",),
    )
    fields = webhook_fields("approval_needed", waiting)
    assert fields["status"] == "awaiting_approval"
    assert fields["deployed"] is False
    assert fields["approve_command"] == "auto approve run-1"
    assert fields["reject_command"] == 'auto reject run-1 --comment "why"'
    assert fields["expires_at"] == "2026-01-03T03:04:05Z"
    assert fields["metric"] == "f1 0.71 vs threshold 0.65 (static)"
    assert (fields["metric_value"], fields["threshold"]) == (0.71, 0.65)
    assert fields["supersedes"] == ["run-0"]
    assert "approve_command" not in webhook_fields("success", summary())
    message = slack_message("approval_needed", waiting)
    assert message["text"].startswith("✋ churn-retrain waits for approval to deploy")
    texts = repr(message["blocks"])
    assert "Approve: `auto approve run-1`" in texts
    assert "waiting for approval until 2026-01-03T03:04:05Z" in texts
    assert "f1 0.71 vs threshold 0.65 (static)" in texts
    assert "Supersedes the waiting run(s) run-0" in texts


def test_a_rejection_says_who_and_why() -> None:
    rejected = summary(status="rejected", error="rejected by bob: metrics look odd")
    fields = webhook_fields("not_deployed", rejected)
    assert fields["reason"] == "rejected by bob: metrics look odd"
    assert "not deployed: rejected by bob" in repr(slack_message("not_deployed", rejected))


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    from qwak_auto.notify.http import retry_after

    assert retry_after("30") == 30.0
    assert retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412480.0) == 30.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480.0 + 60) == 0.0
    assert retry_after(None) is None
    assert retry_after("soon") is None
