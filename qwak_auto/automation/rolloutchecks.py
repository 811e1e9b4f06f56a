"""Semantic rules of the rollout, traffic and approval fields (extensions)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any

from qwak_auto.automation.checks import _check_duration
from qwak_auto.automation.rulebase import DEPLOY_SPEC, Context, _Out, get

BUILD_DEPLOY = ("action", "build_deploy")
ROLLOUT = (*DEPLOY_SPEC, "rollout")


def check_rollout(out: _Out, data: Mapping[str, Any], _ctx: Context) -> None:
    for key in ("step_time", "bake_time"):
        _check_duration(out, (*ROLLOUT, key), get(data, (*ROLLOUT, key)))
    _check_duration(
        out, (*BUILD_DEPLOY, "approval_timeout"), get(data, (*BUILD_DEPLOY, "approval_timeout"))
    )
    steps = get(data, (*ROLLOUT, "canary_steps"))
    numbers = isinstance(steps, list) and all(isinstance(s, int) for s in steps)
    if numbers and any(b <= a for a, b in itertools.pairwise(steps)):
        out.add(
            (*ROLLOUT, "canary_steps"),
            "rollout.steps-order",
            f"canary_steps {steps} do not increase",
            "list each step's percent once, smallest first, e.g. [10, 50]",
        )
    for key, problem in (
        ("max_error_rate", _error_rate_problem),
        ("smoke_request_file", _smoke_file_problem),
    ):
        value = get(data, (*ROLLOUT, key))
        found = problem(value) if isinstance(value, str) else None
        if found is not None:
            out.add((*ROLLOUT, key), *found)


def _error_rate_problem(rate: str) -> tuple[str, str, str] | None:
    """(code, message, hint) when max_error_rate is not a share between 0 and 1."""
    try:
        value = float(rate)
    except ValueError:
        value = math.nan
    if math.isfinite(value) and 0.0 <= value <= 1.0:
        return None
    return (
        "rollout.error-rate",
        f"max_error_rate `{rate}` is not a share between 0 and 1",
        'write a fraction as a string, e.g. "0.05" for 5 %',
    )


def _smoke_file_problem(smoke: str) -> tuple[str, str, str] | None:
    """(code, message, hint) when smoke_request_file is not a path inside the repository."""
    path = PurePosixPath(smoke)
    if not path.is_absolute() and ".." not in path.parts:
        return None
    return (
        "path.parent" if ".." in path.parts else "path.absolute",
        f"smoke_request_file `{smoke}` is not a path inside the repository",
        "give it relative to the git_uri path, e.g. main/sample_request.json",
    )


def check_traffic(out: _Out, data: Mapping[str, Any], _ctx: Context) -> None:
    if get(data, (*DEPLOY_SPEC, "shadow")) is True:
        if get(data, (*DEPLOY_SPEC, "traffic_weight")) is not None:
            out.add(
                (*DEPLOY_SPEC, "traffic_weight"),
                "traffic.shadow-weight",
                "a shadow variation answers none of the model's requests, so it takes no "
                "traffic_weight",
                "remove traffic_weight, or set shadow: false",
                at_key=True,
            )
        if get(data, (*DEPLOY_SPEC, "variation_name")) in (None, "default"):
            out.add(
                (*DEPLOY_SPEC, "shadow"),
                "traffic.shadow-default",
                "the default variation cannot be a shadow: it would leave the model with no "
                "variation that answers",
                "name the shadow variation, e.g. `variation_name: candidate`",
            )


RULES: tuple[Callable[[_Out, Mapping[str, Any], Context], None], ...] = (
    check_rollout,
    check_traffic,
)
