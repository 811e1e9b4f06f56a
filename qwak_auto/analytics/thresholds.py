"""Thresholds and the comparison shared by the gate and metric triggers.

A threshold is a number, or SQL that yields exactly one row with one finite numeric column
(run read-only and bounded by :mod:`qwak_auto.analytics`). ABOVE means strictly greater,
BELOW strictly less: a value equal to the threshold never passes, and neither does NaN/inf.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qwak_auto.automation.model import Direction

if TYPE_CHECKING:
    from qwak_auto.config import Config

_WORD = {Direction.ABOVE: ("above", ">"), Direction.BELOW: ("below", "<")}


def fmt(value: float | None) -> str:
    return "none" if value is None else f"{value:.6g}"


def passes(value: float, direction: Direction, threshold: float) -> bool:
    """Strict comparison; anything non-finite never passes."""
    if not (math.isfinite(value) and math.isfinite(threshold)):
        return False
    return value > threshold if direction == Direction.ABOVE else value < threshold


def compared(value: float, direction: Direction, threshold: float, ok: bool) -> str:
    word, sign = _WORD[direction]
    if ok:
        return f"{fmt(value)} {sign} {fmt(threshold)}"
    return f"{fmt(value)} is not {word} {fmt(threshold)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Threshold:
    raw: str
    value: float | None
    source: str  # static | sql
    sql: str | None = None
    reason: str = ""  # why it cannot be used ('' when value is usable)
    no_data: bool = False


def resolve_threshold(raw: str, config: Config) -> Threshold:
    """A number as written, else the value of the SQL it holds."""
    from qwak_auto.analytics.query import evaluate_scalar

    text = str(raw).strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(number):
            return Threshold(
                raw=text, value=None, source="static", reason=f"threshold {text} is not finite"
            )
        return Threshold(raw=text, value=number, source="static")
    outcome = evaluate_scalar(config, text)
    if outcome.ok:
        return Threshold(raw=text, value=outcome.value, source="sql", sql=outcome.sql)
    return Threshold(
        raw=text,
        value=outcome.value,
        source="sql",
        sql=text,
        reason=f"threshold query: {outcome.reason}",
        no_data=outcome.no_data,
    )
