"""qwak_auto/automation/cronfields.py: which cron field is wrong, and what it allows."""

from __future__ import annotations

import pytest

from qwak_auto.automation.values import cron_problem


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("0 25 * * 0", "hour 25: must be 0-23"),
        ("1-60 * * * *", "minute 60: must be 0-59"),
        ("0 0 * foo *", "month `foo`: must be a number or a name (1-12 or JAN-DEC)"),
        ("0,,5 * * * *", "minute `0,,5`: an empty item in the list"),
        ("*/x * * * *", "minute `*/x`: the step after `/` must be a whole number"),
        ("/5 * * * *", "minute `/5`: nothing before `/`; write `*/5` or `N-M/5`"),
        # an extension croniter refuses: the field is still named
        ("0 0 * * 5L", "day-of-week `5L`: not a valid day-of-week field (0-7 or SUN-SAT)"),
    ],
)
def test_the_field_is_named(expr: str, message: str) -> None:
    found = cron_problem(expr)
    assert found is not None
    code, text, hint = found
    assert (code, text) == ("cron.invalid", f"`{expr}`: {message}")
    assert "minute (0-59)" in hint


@pytest.mark.parametrize(
    "expr",
    ["0 0 * * 5-1", "0 0 * * 7", "0 0 * JAN-MAR *", "0 0 L * *", "0 0 * * 5#3", "*/90 * * * *"],
)
def test_what_croniter_accepts_stays_accepted(expr: str) -> None:
    assert cron_problem(expr) is None
