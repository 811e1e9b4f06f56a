"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

The signed content is ``<webhook-id>.<webhook-timestamp>.<body>``; the signature is
HMAC-SHA256 with the secret's bytes (the base64 text after ``whsec_``), sent as
``webhook-signature: v1,<base64 signature>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from qwak_auto.errors import NotifyError

PREFIX = "whsec_"


def secret_bytes(secret: str) -> bytes:
    """The key of a ``whsec_<base64>`` secret (the prefix is optional, as in the reference
    libraries). The message never shows the secret."""
    encoded = secret.strip().removeprefix(PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not key:
        raise NotifyError(
            "the webhook signing secret is not `whsec_<base64>`",
            'generate one with: python -c "import base64,os; '
            "print('whsec_' + base64.b64encode(os.urandom(32)).decode())\"",
        )
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value: ``v1,<base64 hmac-sha256>``."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }
