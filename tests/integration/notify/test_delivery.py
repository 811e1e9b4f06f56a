"""Slack and custom webhooks against a real HTTP server: payloads, signatures, retries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response
from werkzeug.datastructures import Headers

from qwak_auto import redact
from qwak_auto.automation.notifications import SlackNotification, WebhookNotification
from qwak_auto.notify import RunNotifier
from qwak_auto.notify.http import RetryPolicy
from tests.integration.notify.conftest import make_ctx, make_summary

FAST = RetryPolicy(timeout=2.0, retries=3, backoff=0.01)
SIGNING_SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def verify_standard_webhook(secret: str, headers: Headers, body: bytes) -> None:
    """An independent reading of the Standard Webhooks spec: HMAC-SHA256 over
    ``id.timestamp.body`` keyed with the base64-decoded part after ``whsec_``."""
    key = base64.b64decode(secret[len("whsec_") :])
    msg_id, ts = headers["webhook-id"], headers["webhook-timestamp"]
    assert abs(time.time() - int(ts)) < 300
    expected = base64.b64encode(
        hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    ).decode()
    versions = dict(part.split(",", 1) for part in headers["webhook-signature"].split(" "))
    assert hmac.compare_digest(versions["v1"], expected)


def test_slack_success_message(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_oneshot_request("/services/T1/B2/xyzsecret", method="POST").respond_with_data(
        "ok"
    )
    hook = httpserver.url_for("/services/T1/B2/xyzsecret")
    ctx = make_ctx(
        tmp_path,
        {"AUTO_SECRET_SLACK_HOOK": hook},
        on_success=(SlackNotification(webhook_secret="slack_hook"),),
    )
    detail = RunNotifier(FAST).notify("success", make_summary(), ctx)
    httpserver.check_assertions()
    assert detail["ok"] is True
    assert detail["notifications"][0] == {
        "kind": "slack",
        "target": "secret slack_hook",
        "ok": True,
        "http_status": 200,
        "attempts": 1,
        "error": "",
    }
    request, _ = httpserver.log[0]
    body = json.loads(request.get_data())
    assert body["text"].startswith("✅ churn-retrain deployed a new build (model churn)")
    fields = " ".join(f["text"] for f in body["blocks"][1]["fields"])
    for expected in ("churn-retrain", "schedule", "b-123", "0123456789ab", "f1 0.71", "1m 15s"):
        assert expected in fields
    # the webhook URL is a secret: never in the recorded detail
    assert "xyzsecret" not in json.dumps(detail)


def test_webhook_post_json_and_signature(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_oneshot_request("/hook", method="PUT").respond_with_data("ok")
    ctx = make_ctx(
        tmp_path,
        {"AUTO_SECRET_HOOK_SIGNING": SIGNING_SECRET},
        on_not_deployed=(
            WebhookNotification(
                url=httpserver.url_for("/hook"),
                http_method="PUT",
                headers={"X-Team": "ml"},
                data={"channel": "alerts"},
                signing_secret="hook_signing",
            ),
        ),
    )
    summary = make_summary(status="not_deployed")
    detail = RunNotifier(FAST).notify("not_deployed", summary, ctx)
    httpserver.check_assertions()
    assert detail["ok"] is True, detail
    request, _ = httpserver.log[0]
    raw = request.get_data()
    body = json.loads(raw)
    assert body["execution_date"] == "2026-01-02T03:04:05Z"
    assert body["model_id"] == "churn"
    assert body["automation"] == "churn-retrain"
    assert body["status"] == "not_deployed"
    assert body["build_id"] == "b-123"
    assert body["deployed"] is False
    assert body["reason"] == "f1 0.71 > 0.65"
    assert body["data"] == {"channel": "alerts"}
    assert request.headers["X-Team"] == "ml"
    assert request.headers["Content-Type"] == "application/json"
    verify_standard_webhook(SIGNING_SECRET, request.headers, raw)
    assert SIGNING_SECRET not in json.dumps(detail)


def test_webhook_get_puts_fields_in_query(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_oneshot_request("/hook", method="GET").respond_with_data("ok")
    ctx = make_ctx(
        tmp_path,
        {},
        on_start=(
            WebhookNotification(
                url=httpserver.url_for("/hook") + "?fixed=1",
                http_method="GET",
                data={"team": "ml"},
            ),
        ),
    )
    detail = RunNotifier(FAST).notify("start", make_summary(status="running", ended_at=None), ctx)
    assert detail["ok"] is True, detail
    request, _ = httpserver.log[0]
    args = request.args
    assert args["fixed"] == "1"
    assert args["team"] == "ml"
    assert args["status"] == "running"
    assert args["deployed"] == "false"
    assert args["model_id"] == "churn"
    assert args["automation"] == "churn-retrain"
    assert args["execution_date"] == "2026-01-02T03:04:05Z"
    assert request.get_data() == b""


def test_webhook_secret_headers_are_sent_and_never_shown(
    httpserver: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = "Bearer tok-" + "9f8e7d6c5b4a"
    httpserver.expect_oneshot_request(
        "/hook", method="POST", headers={"Authorization": token, "X-Team": "ml"}
    ).respond_with_data("denied", status=403)
    ctx = make_ctx(
        tmp_path,
        {"AUTO_SECRET_HOOK_TOKEN": token + "\n"},  # a trailing newline, as files often have
        on_error=(
            WebhookNotification(
                url=httpserver.url_for("/hook"),
                headers={"X-Team": "ml"},
                secret_headers={"Authorization": "hook_token"},
            ),
        ),
    )
    detail = RunNotifier(FAST).notify("error", make_summary(status="failed"), ctx)
    httpserver.check_assertions()  # the header arrived with the secret's value
    assert detail["notifications"][0]["http_status"] == 403
    shown = json.dumps(detail) + "".join(capsys.readouterr())
    assert "9f8e7d6c5b4a" not in shown
    # registered with the redactor: no later log line or record can show it either
    assert "9f8e7d6c5b4a" not in redact.redact(f"Authorization: {token}")


def test_webhook_secret_header_that_cannot_be_resolved_is_not_sent(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    ctx = make_ctx(
        tmp_path,
        {"AUTO_SECRET_TWO_LINES": "Bearer abc\nX-Evil: 1"},
        on_error=(
            WebhookNotification(
                url=httpserver.url_for("/hook"), secret_headers={"Authorization": "missing"}
            ),
            WebhookNotification(
                url=httpserver.url_for("/hook"), secret_headers={"Authorization": "two_lines"}
            ),
        ),
    )
    detail = RunNotifier(FAST).notify("error", make_summary(status="failed"), ctx)
    assert httpserver.log == []
    first, second = detail["notifications"]
    assert (first["ok"], first["attempts"]) == (False, 0)
    assert "missing" in first["error"]
    assert "line break" in second["error"]
    assert "X-Evil" not in json.dumps(detail)


def test_webhook_head_puts_fields_in_query(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_oneshot_request("/hook", method="HEAD").respond_with_data("")
    ctx = make_ctx(
        tmp_path,
        {},
        on_success=(WebhookNotification(url=httpserver.url_for("/hook"), http_method="HEAD"),),
    )
    detail = RunNotifier(FAST).notify("success", make_summary(), ctx)
    httpserver.check_assertions()
    assert detail["ok"] is True, detail
    request, _ = httpserver.log[0]
    assert request.args["status"] == "succeeded"
    assert request.get_data() == b""


def test_retries_5xx_then_succeeds(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_ordered_request("/hook", method="POST").respond_with_data("busy", 500)
    httpserver.expect_ordered_request("/hook", method="POST").respond_with_data("ok", 200)
    ctx = make_ctx(tmp_path, {}, on_error=(WebhookNotification(url=httpserver.url_for("/hook")),))
    detail = RunNotifier(FAST).notify("error", make_summary(status="failed", error="x"), ctx)
    httpserver.check_assertions()
    result = detail["notifications"][0]
    assert (result["ok"], result["attempts"], result["http_status"]) == (True, 2, 200)
    assert len(httpserver.log) == 2
    assert all("webhook-signature" not in req.headers for req, _ in httpserver.log)


def test_gives_up_after_three_retries(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/hook").respond_with_data("down", 503)
    ctx = make_ctx(tmp_path, {}, on_error=(WebhookNotification(url=httpserver.url_for("/hook")),))
    detail = RunNotifier(FAST).notify("error", make_summary(status="failed"), ctx)
    result = detail["notifications"][0]
    assert (result["ok"], result["attempts"], result["http_status"]) == (False, 4, 503)
    assert "HTTP 503" in result["error"]
    assert detail == {**detail, "ok": False, "failed": 1, "sent": 0}


def test_no_retry_on_4xx(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/hook").respond_with_data("invalid_token", 403)
    ctx = make_ctx(tmp_path, {}, on_error=(WebhookNotification(url=httpserver.url_for("/hook")),))
    detail = RunNotifier(FAST).notify("error", make_summary(status="failed"), ctx)
    result = detail["notifications"][0]
    assert (result["ok"], result["attempts"], result["http_status"]) == (False, 1, 403)
    assert result["error"] == "HTTP 403 FORBIDDEN: invalid_token"
    assert len(httpserver.log) == 1


def test_hanging_endpoint_times_out(httpserver: HTTPServer, tmp_path: Path) -> None:
    release = threading.Event()

    def hang(request: Request) -> Response:
        release.wait(10)
        return Response("late")

    httpserver.expect_request("/hook").respond_with_handler(hang)
    ctx = make_ctx(tmp_path, {}, on_error=(WebhookNotification(url=httpserver.url_for("/hook")),))
    policy = RetryPolicy(timeout=0.5, retries=1, backoff=0.01)
    try:
        detail = RunNotifier(policy).notify("error", make_summary(status="failed"), ctx)
    finally:
        release.set()
    result = detail["notifications"][0]
    assert (result["ok"], result["attempts"], result["http_status"]) == (False, 2, None)
    assert result["error"] == "timed out"


def test_connection_refused_is_recorded(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, {}, on_error=(WebhookNotification(url="http://127.0.0.1:9/hook"),))
    detail = RunNotifier(FAST).notify("error", make_summary(status="failed"), ctx)
    result = detail["notifications"][0]
    assert (result["ok"], result["attempts"]) == (False, 4)
    assert "refused" in result["error"].lower()


def test_bodies_pass_through_the_redactor(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    redact.register_secret("ghp_leaky_token_123")
    ctx = make_ctx(
        tmp_path,
        {},
        on_error=(
            WebhookNotification(url=httpserver.url_for("/hook"), data={"x": "ghp_leaky_token_123"}),
        ),
    )
    summary = make_summary(status="failed", error="git: https://ghp_leaky_token_123@host failed")
    RunNotifier(FAST).notify("error", summary, ctx)
    request, _ = httpserver.log[0]
    raw = request.get_data().decode()
    assert "ghp_leaky_token_123" not in raw
    assert json.loads(raw)["data"] == {"x": redact.MASK}


@pytest.mark.parametrize("event", ["start", "success", "not_deployed", "error"])
def test_each_event_uses_its_own_list(httpserver: HTTPServer, tmp_path: Path, event: str) -> None:
    httpserver.expect_request(f"/{event}").respond_with_data("ok")
    lists = {
        f"on_{name}": (WebhookNotification(url=httpserver.url_for(f"/{name}")),)
        for name in ("start", "success", "not_deployed", "error")
    }
    ctx = make_ctx(tmp_path, {}, **lists)
    detail = RunNotifier(FAST).notify(event, make_summary(), ctx)
    assert detail["sent"] == 1
    assert [req.path for req, _ in httpserver.log] == [f"/{event}"]


def test_signed_retries_keep_the_message_id(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_ordered_request("/hook").respond_with_data("busy", 502)
    httpserver.expect_ordered_request("/hook").respond_with_data("ok")
    ctx = make_ctx(
        tmp_path,
        {"AUTO_SECRET_SIGN": SIGNING_SECRET},
        on_error=(WebhookNotification(url=httpserver.url_for("/hook"), signing_secret="sign"),),
    )
    detail = RunNotifier(FAST).notify("error", make_summary(status="failed"), ctx)
    assert detail["ok"] is True
    ids = {req.headers["webhook-id"] for req, _ in httpserver.log}
    assert len(ids) == 1
    for req, _ in httpserver.log:
        verify_standard_webhook(SIGNING_SECRET, req.headers, req.get_data())


def test_429_waits_what_retry_after_asks_then_delivers(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """Issue 14: a 429 was not retried and Retry-After was ignored (Slack rate limits)."""
    limited = Response("rate_limited", status=429, headers={"Retry-After": "1"})
    httpserver.expect_ordered_request("/hook", method="POST").respond_with_response(limited)
    httpserver.expect_ordered_request("/hook", method="POST").respond_with_data("ok", 200)
    ctx = make_ctx(tmp_path, {}, on_error=(WebhookNotification(url=httpserver.url_for("/hook")),))
    started = time.monotonic()
    detail = RunNotifier(FAST).notify("error", make_summary(status="failed", error="x"), ctx)
    waited = time.monotonic() - started
    httpserver.check_assertions()
    result = detail["notifications"][0]
    assert (result["ok"], result["attempts"], result["http_status"]) == (True, 2, 200)
    assert waited >= 1.0  # Retry-After, not the 0.01 s back-off


def test_429_without_retry_after_is_retried_with_the_back_off(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_ordered_request("/hook").respond_with_data("slow down", 429)
    httpserver.expect_ordered_request("/hook").respond_with_data("ok", 200)
    ctx = make_ctx(tmp_path, {}, on_error=(WebhookNotification(url=httpserver.url_for("/hook")),))
    detail = RunNotifier(FAST).notify("error", make_summary(status="failed"), ctx)
    result = detail["notifications"][0]
    assert (result["ok"], result["attempts"]) == (True, 2)


def test_retry_after_beyond_the_budget_gives_up_at_once(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    later = Response("rate_limited", status=429, headers={"Retry-After": "120"})
    httpserver.expect_request("/hook").respond_with_response(later)
    ctx = make_ctx(tmp_path, {}, on_error=(WebhookNotification(url=httpserver.url_for("/hook")),))
    policy = RetryPolicy(timeout=2.0, retries=3, backoff=0.01, budget=5.0)
    started = time.monotonic()
    detail = RunNotifier(policy).notify("error", make_summary(status="failed"), ctx)
    assert time.monotonic() - started < 3.0  # no wait that could never be used
    result = detail["notifications"][0]
    assert (result["ok"], result["attempts"], result["http_status"]) == (False, 1, 429)
    assert "Retry-After 120s is beyond the notification budget" in result["error"]
