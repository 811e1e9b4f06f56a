"""Derived forms of secrets are masked too."""

from __future__ import annotations

import base64
import urllib.parse

from qwak_auto import redact


def test_register_secret_masks_quoted_and_base64_forms() -> None:
    value = "p@ss/word+with:chars"
    redact.register_secret(value)
    quoted = urllib.parse.quote(value, safe="")
    b64 = base64.b64encode(value.encode()).decode()
    text = f"a {value} b {quoted} c {b64}"
    assert redact.redact(text) == f"a {redact.MASK} b {redact.MASK} c {redact.MASK}"


def test_multiline_secret_masks_each_line() -> None:
    key = "-----BEGIN KEY-----\nAAAAB3NzaC1yc2EAAAADAQAB\nQyZ9p2Lk8Jr4mQ7vN1xT\n-----END KEY-----\n"
    redact.register_secret(key)
    assert "AAAAB3NzaC1yc2EAAAADAQAB" not in redact.redact("oops: AAAAB3NzaC1yc2EAAAADAQAB")


def test_basic_auth_header_is_registered() -> None:
    header = redact.basic_auth("x-access-token", "ghp_abcdef123456")
    encoded = header.removeprefix("Basic ")
    assert base64.b64decode(encoded) == b"x-access-token:ghp_abcdef123456"
    assert redact.redact(f"Authorization: {header}") == f"Authorization: Basic {redact.MASK}"


def test_register_derived_masks_value_and_its_base64() -> None:
    derived = "x-access-token:tok_12345678"
    redact.register_derived(derived)
    b64 = base64.b64encode(derived.encode()).decode()
    assert redact.redact(b64) == redact.MASK
    assert redact.redact(derived) == redact.MASK
