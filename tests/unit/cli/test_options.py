"""The CLI's shared options."""

from __future__ import annotations

from qwak_auto.automation.problems import RENDERERS
from qwak_auto.cli.options import ProblemFormat


def test_problem_formats_are_the_renderers() -> None:
    assert [f.value for f in ProblemFormat] == list(RENDERERS)
