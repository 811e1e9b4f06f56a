"""HTTP plumbing of the model server: status lines, JSON replies (with MLflow's error
fields on ``/invocations``), request bodies within their limit, and refusals."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any

from qwak_auto.serve.io import BadRequest

StartResponse = Callable[..., Any]
JSON = "application/json"


class Refused(Exception):
    def __init__(
        self, code: int, message: str, reason: str, headers: Sequence[tuple[str, str]] = ()
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.headers = tuple(headers)


# MLflow's error codes, for the `/invocations` error bodies its clients read.
MLFLOW_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    404: "ENDPOINT_NOT_FOUND",
    413: "BAD_REQUEST",
    503: "TEMPORARILY_UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def status_line(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} Error"


def raw(start_response: StartResponse, code: int, data: bytes, content_type: str) -> list[bytes]:
    start_response(
        status_line(code), [("Content-Type", content_type), ("Content-Length", str(len(data)))]
    )
    return [data]


def reply(
    start_response: StartResponse,
    code: int,
    body: dict[str, Any],
    headers: Sequence[tuple[str, str]] = (),
    *,
    route: str = "",
) -> list[bytes]:
    if route == "invocations" and "error" in body:
        body = {
            "error_code": MLFLOW_CODES.get(code, "INTERNAL_ERROR"),
            "message": body["error"],
            **body,
        }
    data = json.dumps(body).encode()
    start_response(
        status_line(code),
        [("Content-Type", JSON), ("Content-Length", str(len(data))), *headers],
    )
    return [data]


def read_body(environ: dict[str, Any], limit: int) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH") or ""
    if length.strip():
        try:
            size = int(length)
        except ValueError:
            raise BadRequest(f"bad Content-Length {length!r}") from None
        if size > limit:
            raise Refused(413, f"request body of {size} bytes exceeds {limit} bytes", "too_big")
        data: bytes = stream.read(size)
        return data
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise Refused(413, f"request body exceeds {limit} bytes", "too_big")
    return data
