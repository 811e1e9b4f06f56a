"""Durations and Kubernetes-style memory quantities, as the automation format writes them."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Qwak's named intervals (any case) mean these durations.
NAMED_INTERVALS = {"hourly": "1h", "daily": "1d", "weekly": "1w"}

_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|K|M|G|T|Mib|Gib|Kib|MiB|GiB|KiB)?\s*$")
_MEMORY_FACTOR = {
    None: 1,
    "K": 1000,
    "M": 1000**2,
    "G": 1000**3,
    "T": 1000**4,
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
}
# Qwak's legacy spellings ("512Mib") normalise to the Kubernetes unit ("512Mi").
LEGACY_MEMORY_UNITS = {"Kib": "Ki", "Mib": "Mi", "Gib": "Gi", "KiB": "Ki", "MiB": "Mi", "GiB": "Gi"}


def parse_duration(text: str) -> int | None:
    """Seconds for ``<n>(s|m|h|d|w)`` or a Qwak named interval; None when it does not parse."""
    text = NAMED_INTERVALS.get(text.strip().lower(), text)
    match = _DURATION.match(text)
    if match is None:
        return None
    return int(match.group(1)) * _DURATION_SECONDS[match.group(2)]


def format_duration(seconds: int) -> str:
    for unit in ("w", "d", "h", "m"):
        size = _DURATION_SECONDS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def normalise_memory(text: str) -> str | None:
    """The Kubernetes spelling of a memory quantity, or None when it does not parse.

    A unit is required: a bare number is ambiguous (bytes? MiB?) and Qwak never meant bytes.
    """
    match = _MEMORY.match(text)
    if match is None or match.group(2) is None:
        return None
    unit = LEGACY_MEMORY_UNITS.get(match.group(2), match.group(2))
    return f"{match.group(1)}{unit}"


def memory_bytes(text: str) -> int | None:
    norm = normalise_memory(text)
    if norm is None:
        return None
    match = _MEMORY.match(norm)
    assert match is not None
    return int(float(match.group(1)) * _MEMORY_FACTOR[match.group(2)])


def is_legacy_memory(text: str) -> bool:
    match = _MEMORY.match(text)
    return match is not None and match.group(2) in LEGACY_MEMORY_UNITS
