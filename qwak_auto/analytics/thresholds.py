"""Thresholds and the comparison shared by the gate and metric triggers.

A threshold is a number, or SQL that yields exactly one row with one finite numeric column
(run read-only and bounded by :mod:`qwak_auto.analytics`). The directions are Qwak's: ABOVE
means strictly greater, BELOW strictly less (a value equal to the threshold does not pass);
EQUALS means equal up to floating-point rounding (a relative difference of at most 1e-9, so
``avg()`` of 0.1 + 0.2 equals "0.3"); ABOVE_OR_EQUALS and BELOW_OR_EQUALS are ABOVE / BELOW
or EQUALS. NaN and inf never pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qwak_auto.automation.model import Direction

if TYPE_CHECKING:
    from qwak_auto.config import Config

_WORD = {
    Direction.ABOVE: ("above", ">"),
    Direction.BELOW: ("below", "<"),
    Direction.EQUALS: ("equal to", "=="),
    Direction.ABOVE_OR_EQUALS: ("above or equal to", ">="),
    Direction.BELOW_OR_EQUALS: ("below or equal to", "<="),
}
# EQUALS tolerates the rounding of a decimal threshold or of a SQL aggregate, nothing more.
EQUAL_REL_TOL = 1e-9


def fmt(value: float | None) -> str:
    return "none" if value is None else f"{value:.6g}"


def equal(value: float, other: float) -> bool:
    return math.isclose(value, other, rel_tol=EQUAL_REL_TOL, abs_tol=0.0)


def passes(value: float, direction: Direction, threshold: float) -> bool:
    """``value`` compared with ``threshold`` in ``direction``; anything non-finite never passes."""
    if not (math.isfinite(value) and math.isfinite(threshold)):
        return False
    if direction is Direction.ABOVE:
        return value > threshold
    if direction is Direction.BELOW:
        return value < threshold
    if direction is Direction.ABOVE_OR_EQUALS:
        return value > threshold or equal(value, threshold)
    if direction is Direction.BELOW_OR_EQUALS:
        return value < threshold or equal(value, threshold)
    return equal(value, threshold)


def better_sign(direction: Direction) -> int:
    """+1 where a higher value is better (ABOVE...), -1 where lower is, 0 for EQUALS."""
    if direction in (Direction.ABOVE, Direction.ABOVE_OR_EQUALS):
        return 1
    if direction in (Direction.BELOW, Direction.BELOW_OR_EQUALS):
        return -1
    return 0


def inclusive(direction: Direction) -> bool:
    """Does a tie pass? (the *_OR_EQUALS directions and EQUALS)"""
    return direction not in (Direction.ABOVE, Direction.BELOW)


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
