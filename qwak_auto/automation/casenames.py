"""Names accepted in any case (Qwak's autoscaling enums: ``MetricType[value.lower()]``).

JSON Schema has no case-insensitive ``enum``, and ECMA-262 patterns (what editors run) have
no ``(?i)`` flag, so such a field is a ``pattern`` of bracketed letters,
``^(?:[Cc][Pp][Uu]|[Pp]50)$``. :func:`names_of` reads the names back, so that error messages
and the generated reference can say "one of cpu, p50 (any case)".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_LETTER = re.compile(r"\[([A-Z])([a-z])\]")
_WRAPPED = re.compile(r"\^\(\?:(.*)\)\$\Z")
_PLAIN = re.compile(r"[a-z0-9_]+\Z")


def any_case_pattern(names: Iterable[str]) -> str:
    """The pattern that matches each of ``names`` (lower-case ``[a-z0-9_]``) in any case."""
    parts = []
    for name in names:
        if not _PLAIN.match(name):
            raise ValueError(f"{name!r}: only lower-case letters, digits and _")
        parts.append("".join(f"[{c.upper()}{c}]" if c.isalpha() else c for c in name))
    return "^(?:" + "|".join(parts) + ")$"


def names_of(pattern: str) -> list[str] | None:
    """The names of an :func:`any_case_pattern`, or None for any other pattern."""
    match = _WRAPPED.match(pattern)
    if match is None:
        return None
    names = [_LETTER.sub(lambda m: m.group(2), part) for part in match.group(1).split("|")]
    if not all(_PLAIN.match(name) for name in names):
        return None
    return names if any_case_pattern(names) == pattern else None
