"""Which field of a 5-field cron expression is wrong, and its allowed range.

croniter only says "not valid"; a user needs `hour 25: must be 0-23` (issue 18). Each field
is a comma-separated list of items ``*``, ``N``, ``N-M``, each optionally ``/STEP``; months
and weekdays may be names. Items with croniter's extensions (``L``, ``W``, ``#``, ``H``, ``?``)
are left to croniter, which then names the field through :func:`field_problem`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names[i] stands for low + i

    @property
    def allowed(self) -> str:
        text = f"{self.low}-{self.high}"
        if self.names:
            text += f" or {self.names[0].upper()}-{self.names[-1].upper()}"
        return text


MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
FIELDS = (
    Field("minute", 0, 59),
    Field("hour", 0, 23),
    Field("day-of-month", 1, 31),
    Field("month", 1, 12, MONTHS),
    Field("day-of-week", 0, 7, DAYS),  # 0 and 7 are both Sunday
)
HINT = (
    "the five fields are minute (0-59), hour (0-23), day-of-month (1-31), "
    "month (1-12 or JAN-DEC) and day-of-week (0-7 or SUN-SAT; 0 and 7 are Sunday), "
    "e.g. `0 3 * * 1-5`"
)
_EXTENSIONS = re.compile(r"[LW#H?]", re.IGNORECASE)


def _value(field: Field, token: str) -> int | str:
    """The number a token stands for, or the problem with it."""
    lowered = token.lower()
    if field.names and lowered in field.names:
        return field.low + field.names.index(lowered)
    if not token.isdigit():
        what = "a number" + (" or a name" if field.names else "")
        return f"{field.name} `{token}`: must be {what} ({field.allowed})"
    number = int(token)
    if not field.low <= number <= field.high:
        return f"{field.name} {number}: must be {field.allowed}"
    return number


def _item(field: Field, item: str) -> str | None:
    base, slash, step = item.partition("/")
    if slash:
        if not step.isdigit():
            return f"{field.name} `{item}`: the step after `/` must be a whole number"
        if int(step) == 0:
            return f"{field.name} `{item}`: the step after `/` must be at least 1"
    if base == "*":
        return None
    if not base:
        return f"{field.name} `{item}`: nothing before `/`; write `*/{step}` or `N-M/{step}`"
    for token in base.split("-", 1):  # croniter reads a backwards range as wrapping round
        found = _value(field, token)
        if isinstance(found, str):
            return found
    return None


def field_problem(fields: list[str], valid: Callable[[str], bool]) -> str | None:
    """The first field that is wrong, as `hour 25: must be 0-23`, or None, for an expression
    croniter refused. ``valid`` asks croniter about a whole expression: it names the field
    of an item this module leaves to croniter."""
    for field, text in zip(FIELDS, fields, strict=True):
        if not text or text.startswith(",") or text.endswith(",") or ",," in text:
            return f"{field.name} `{text}`: an empty item in the list"
        for item in text.split(","):
            if _EXTENSIONS.search(item):
                continue
            found = _item(field, item)
            if found is not None:
                return found
    for index, (field, text) in enumerate(zip(FIELDS, fields, strict=True)):
        alone = ["*"] * 5
        alone[index] = text
        if not valid(" ".join(alone)):
            return f"{field.name} `{text}`: not a valid {field.name} field ({field.allowed})"
    return None
