"""Semantic rules of the rollout, traffic and approval fields (extensions)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any

from qwak_auto.automation.checks import _check_duration
from qwak_auto.automation.rulebase import DEPLOY_SPEC, Context, _Out, environments_of, get

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


def check_traffic(out: _Out, data: Mapping[str, Any], ctx: Context) -> None:
    _check_traffic_on_kubernetes(out, data, ctx)
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


def _check_traffic_on_kubernetes(out: _Out, data: Mapping[str, Any], ctx: Context) -> None:
    """Plain Services split a model's requests by ready pods and copy none: on Kubernetes
    ``traffic_weight`` is approximate and ``shadow`` gets no copies (docs/kubernetes.md)."""
    if not ctx.deployers:
        return
    where = [
        name
        for _path, name in environments_of(data, ctx)
        if ctx.deployers.get(name or ctx.default_environment) == "kubernetes"
    ]
    if not where:
        return
    envs = ", ".join(f"`{name or ctx.default_environment}`" for name in where)
    shadow = get(data, (*DEPLOY_SPEC, "shadow")) is True
    if get(data, (*DEPLOY_SPEC, "traffic_weight")) is not None and not shadow:
        out.add(
            (*DEPLOY_SPEC, "traffic_weight"),
            "traffic.kubernetes-pods",
            f"on Kubernetes ({envs}) the model's Service splits its requests by ready pods, not "
            "by traffic_weight",
            "size number_of_pods to the share, or route by weight with a Gateway API HTTPRoute "
            "or a service mesh in front of the variation Services (docs/kubernetes.md)",
            warning=True,
            at_key=True,
        )
    if shadow:
        out.add(
            (*DEPLOY_SPEC, "shadow"),
            "traffic.kubernetes-shadow",
            f"on Kubernetes ({envs}) a shadow variation's pods get no copies of the model's "
            "requests from the Services auto renders",
            "mirror requests to its Service with a Gateway API RequestMirror filter or a service "
            "mesh (docs/kubernetes.md)",
            warning=True,
            at_key=True,
        )


RULES: tuple[Callable[[_Out, Mapping[str, Any], Context], None], ...] = (
    check_rollout,
    check_traffic,
)
