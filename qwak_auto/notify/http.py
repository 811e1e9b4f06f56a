"""Delivering one HTTP notification: timeouts, retries with back-off, no retry on 4xx.

Retried: connection errors, 5xx and 429 (Too Many Requests, what Slack answers when a
webhook is rate-limited). A ``Retry-After`` (seconds or an HTTP date) on a 429 or 503 is
waited for instead of the back-off, when it fits in the notification budget; otherwise the
delivery gives up at once and says so. Other 4xx are not retried.

stdlib urllib only (no runtime dependency on requests). Every error text is redacted: the
Slack webhook URL is itself a secret.
"""

from __future__ import annotations

import email.utils
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from qwak_auto.notify import signing
from qwak_auto.redact import redact

_BODY_TAIL = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    timeout: float = 10.0  # seconds per attempt
    retries: int = 3  # further attempts after the first, on 5xx and connection errors
    backoff: float = 1.0  # seconds before the first retry; doubled each time
    max_backoff: float = 30.0
    # All notifications of one event share this many seconds, so that they end before the
    # runner's notify-step timeout (60 s by default) however many endpoints hang.
    budget: float = 50.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> RetryPolicy:
        """``AUTO_NOTIFY_TIMEOUT``, ``AUTO_NOTIFY_RETRIES``, ``AUTO_NOTIFY_BACKOFF`` (bad values
        fall back to the defaults: a notification setting must never fail a run)."""
        default = cls()

        def number(key: str, fallback: float) -> float:
            try:
                value = float(environ.get(key, ""))
            except ValueError:
                return fallback
            return value if value >= 0 else fallback

        return cls(
            timeout=number("AUTO_NOTIFY_TIMEOUT", default.timeout) or default.timeout,
            retries=int(number("AUTO_NOTIFY_RETRIES", default.retries)),
            backoff=number("AUTO_NOTIFY_BACKOFF", default.backoff),
            budget=number("AUTO_NOTIFY_BUDGET", default.budget) or default.budget,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    ok: bool
    attempts: int
    status: int | None = None  # the last HTTP status, None without a response
    error: str = ""  # redacted


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    method: str
    url: str
    body: bytes | None = None
    headers: Mapping[str, str] | None = None
    signing_secret: str | None = None


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, TimeoutError | socket.timeout):
            return "timed out"
        return str(reason)
    return f"{type(exc).__name__}: {exc}"


def check_url(url: str) -> str | None:
    """Why ``url`` cannot be a notification target, or None when it can."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "the notification URL must be an http(s) URL"
    return None


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int | None  # None without a response
    error: str = ""
    retry_after: float | None = None  # seconds the server asked us to wait


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """A ``Retry-After`` header in seconds (``120`` or an HTTP date); None when absent or
    unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _attempt(req: Request, msg_id: str, timeout: float) -> _Answer:
    """One try."""
    headers = {"User-Agent": "qwak-auto", **(req.headers or {})}
    body = req.body
    if req.signing_secret is not None:
        headers.update(signing.headers(req.signing_secret, msg_id, int(time.time()), body or b""))
    request = urllib.request.Request(req.url, data=body, headers=headers, method=req.method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(65536)
            return _Answer(int(response.status))
    except urllib.error.HTTPError as exc:
        try:
            detail = exc.read(_BODY_TAIL).decode("utf-8", "replace").strip()
        except OSError:
            detail = ""
        text = f"HTTP {exc.code} {exc.reason}" + (f": {detail}" if detail else "")
        wait = retry_after(exc.headers.get("Retry-After")) if exc.headers else None
        return _Answer(int(exc.code), text, wait)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return _Answer(None, _error_text(exc))


def _retried(status: int | None) -> bool:
    return status is None or status >= 500 or status == 429


def send(
    req: Request,
    policy: RetryPolicy,
    *,
    deadline: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Send with retries on 5xx, 429 and connection errors (the same ``webhook-id`` every
    attempt, so a receiver can drop duplicates), waiting what ``Retry-After`` asks for, giving
    up at ``deadline`` (``time.monotonic()``). Never raises."""
    problem = check_url(req.url)
    if problem:
        return Delivery(ok=False, attempts=0, error=problem)
    if deadline is None:
        deadline = time.monotonic() + policy.budget
    msg_id = f"msg_{uuid.uuid4().hex}"
    delay = policy.backoff
    answer = _Answer(None)
    error = ""
    attempts = 0
    for attempt in range(policy.retries + 1):
        if attempt:
            asked = answer.retry_after
            pause = asked if asked is not None else min(delay, policy.max_backoff)
            if time.monotonic() + pause >= deadline:
                if asked is not None:
                    error += f" (gave up: Retry-After {asked:g}s is beyond the notification budget)"
                else:
                    error += f" (gave up: the {policy.budget:g}s notification budget is spent)"
                break
            sleep(pause)
            delay *= 2
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            error = error or f"not sent: the {policy.budget:g}s notification budget is spent"
            break
        attempts += 1
        try:
            answer = _attempt(req, msg_id, min(policy.timeout, remaining))
        except Exception as exc:  # noqa: BLE001 - a notification never fails the run
            return Delivery(ok=False, attempts=attempts, error=redact(_error_text(exc)))
        error = answer.error
        if answer.status is not None and 200 <= answer.status < 300:
            return Delivery(ok=True, attempts=attempts, status=answer.status)
        if not _retried(answer.status):
            break  # 3xx/4xx: the request is wrong; repeating it would not help
    return Delivery(ok=False, attempts=attempts, status=answer.status, error=redact(error))
