from __future__ import annotations

from qwak_auto import redact
from qwak_auto.automation.units import memory_bytes, normalise_memory, parse_duration


def test_units():
    assert parse_duration("6h") == 21600
    assert parse_duration("Daily") == 86400
    assert parse_duration("1x") is None
    assert normalise_memory("512Mib") == "512Mi"
    assert normalise_memory("2") is None
    assert memory_bytes("2Gi") == 2 * 1024**3


def test_redact():
    redact.register("s3cr3t-value")
    assert redact.redact("token=s3cr3t-value!") == "token=***!"
    assert redact.redact_obj({"a": ["s3cr3t-value"]}) == {"a": ["***"]}
