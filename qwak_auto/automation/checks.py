"""The rules a JSON Schema cannot say (SPEC-REFERENCE "semantic checks" and "Details").

Each rule reads one :class:`~qwak_auto.automation.load.Document` and returns Problems with the
line:column and field path of the offending value. Rules only look at values of the type
they expect; a value of the wrong type is the schema's problem, reported once there.
Messages never repeat a credential (see :mod:`qwak_auto.automation.values`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from qwak_auto.automation.load import Document, JsonPath
from qwak_auto.automation.problems import Problem
from qwak_auto.automation.rulebase import (
    BUILD_METRIC,
    BUILD_SPEC,
    DEPLOY_SPEC,
    Context,
    _Out,
    _strings,
    get,
)
from qwak_auto.automation.secretchecks import secret_names
from qwak_auto.automation.sqlcheck import sql_problem
from qwak_auto.automation.units import (
    LEGACY_MEMORY_UNITS,
    format_duration,
    is_legacy_memory,
    normalise_memory,
    parse_duration,
)
from qwak_auto.automation.values import (
    cron_problem,
    git_uri_problem,
    known_timezone,
    mask_url,
)

__all__ = [
    "BUILD_METRIC",
    "BUILD_SPEC",
    "DEPLOY_SPEC",
    "Context",
    "_Out",
    "_strings",
    "check_document",
    "cron_problem",
    "get",
    "git_uri_problem",
    "mask_url",
    "secret_names",
]

_NUMBER = re.compile(r"\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*\Z")
_NOT_FINITE = re.compile(r"\s*[-+]?(?:nan|inf|infinity)\s*\Z", re.IGNORECASE)


# ------------------------------------------------------------------ schedule


def _check_cron(out: _Out, path: JsonPath, value: Any) -> None:
    if isinstance(value, str):
        found = cron_problem(value)
        if found is not None:
            out.add(path, *found)


def _check_timezone(out: _Out, path: JsonPath, value: Any) -> None:
    if isinstance(value, str) and not known_timezone(value):
        out.add(
            path,
            "timezone.unknown",
            f"`{value}` is not a known IANA time zone",
            "use a name such as `UTC`, `Europe/Berlin` or `America/New_York`",
        )


def _check_duration(out: _Out, path: JsonPath, value: Any, minimum: int = 0) -> None:
    if not isinstance(value, str):
        return
    seconds = parse_duration(value)
    if seconds is None:
        out.add(
            path,
            "duration.invalid",
            f"`{value}` is not a duration",
            "write a number and a unit: `30m`, `6h`, `1d`, `2w` (or Hourly, Daily, Weekly)",
        )
    elif seconds < minimum:
        out.add(
            path,
            "interval.too-short",
            f"the interval {value} is shorter than {format_duration(minimum)}",
            f"use at least `{format_duration(minimum)}`",
        )


def check_trigger(out: _Out, data: Mapping[str, Any], _ctx: Context) -> None:
    scheduled = ("trigger", "scheduled")
    _check_cron(out, (*scheduled, "cron"), get(data, (*scheduled, "cron")))
    _check_duration(out, (*scheduled, "interval"), get(data, (*scheduled, "interval")), 60)
    _check_timezone(out, (*scheduled, "timezone"), get(data, (*scheduled, "timezone")))
    deadline = (*scheduled, "starting_deadline")
    _check_duration(out, deadline, get(data, deadline))
    metric = ("trigger", "metric_based")
    _check_cron(out, (*metric, "override_cron"), get(data, (*metric, "override_cron")))
    _check_timezone(out, (*metric, "timezone"), get(data, (*metric, "timezone")))
    _check_duration(out, (*metric, "cool_down"), get(data, (*metric, "cool_down")))
    _check_threshold(out, (*metric, "threshold"), get(data, (*metric, "threshold")))
    query = get(data, (*metric, "sql_query"))
    if isinstance(query, str):
        found = sql_problem(query)
        if found is not None:
            out.add((*metric, "sql_query"), *found)


# ------------------------------------------------------------------ thresholds


def _number_problem(value: str, what: str) -> tuple[str, str, str] | None:
    """None when ``value`` is a finite number; a problem for nan/inf/overflow."""
    if _NOT_FINITE.match(value) or (_NUMBER.match(value) and not math.isfinite(float(value))):
        return (
            "threshold.not-finite",
            f"the {what} `{value.strip()}` is not a finite number",
            'write an ordinary number such as "0.65"',
        )
    return None


def _check_threshold(out: _Out, path: JsonPath, value: Any) -> None:
    if not isinstance(value, str):
        return
    found = _number_problem(value, "threshold")
    if found is None and not _NUMBER.match(value):
        found = sql_problem(value, threshold=True)
    if found is not None:
        out.add(path, *found)


def check_condition(out: _Out, data: Mapping[str, Any], _ctx: Context) -> None:
    metric = get(data, BUILD_METRIC)
    if not isinstance(metric, dict):
        return
    _check_threshold(out, (*BUILD_METRIC, "threshold"), metric.get("threshold"))
    given = [key for key in ("min_delta", "min_relative_delta") if key in metric]
    for key in given:
        value = metric[key]
        if not isinstance(value, str):
            continue
        found = _number_problem(value, key)
        if found is None and not _NUMBER.match(value):
            found = (
                "delta.invalid",
                f"{key} `{value}` is not a number",
                f'write a number as a string, e.g. {key}: "0.01"',
            )
        if found is not None:
            out.add((*BUILD_METRIC, key), *found)
    if len(given) == 2:
        out.add(
            (*BUILD_METRIC, "min_relative_delta"),
            "delta.both",
            "min_delta and min_relative_delta are both given",
            "keep one: an absolute margin (min_delta) or a relative one (min_relative_delta)",
            at_key=True,
        )
    if metric.get("compare_to") == "deployed" and metric.get("direction") == "EQUALS":
        out.add(
            (*BUILD_METRIC, "compare_to"),
            "compare-to.equals",
            "compare_to: deployed needs a better side, and EQUALS has none",
            "use ABOVE_OR_EQUALS or BELOW_OR_EQUALS to let a tie with the serving build pass, "
            "or remove compare_to",
        )
    if given and metric.get("compare_to") is None:
        out.add(
            (*BUILD_METRIC, given[0]),
            "delta.without-compare-to",
            f"{given[0]} only has a meaning when the build is compared to the deployed one",
            "add `compare_to: deployed`, or remove the margin",
            at_key=True,
        )


# ------------------------------------------------------------------ sources and secrets


def _check_relative(out: _Out, path: JsonPath, value: str, what: str) -> None:
    parts = re.split(r"[/\\]", value)
    if value.startswith(("/", "\\")) or re.match(r"[A-Za-z]:[/\\]", value):
        out.add(
            path,
            "path.absolute",
            f"`{value}` ({what}) is an absolute path",
            "write a path relative to the repository, e.g. `models/churn`",
        )
    elif ".." in parts:
        out.add(
            path,
            "path.parent",
            f"`{value}` ({what}) leaves the repository with `..`",
            "write a path inside the repository, without `..`",
        )


def check_source(out: _Out, data: Mapping[str, Any], _ctx: Context) -> None:
    uri = get(data, (*BUILD_SPEC, "git_uri"))
    if isinstance(uri, str):
        found = git_uri_problem(uri)
        if found is not None:
            out.add((*BUILD_SPEC, "git_uri"), *found)
        elif "#" in uri:
            sub = uri.split("#", 1)[1]
            _check_relative(out, (*BUILD_SPEC, "git_uri"), sub, "the path after `#`")
    for key, what in (("main_dir", "main_dir"), ("dependency_file_path", "dependency_file_path")):
        value = get(data, (*BUILD_SPEC, key))
        if isinstance(value, str) and value:
            _check_relative(out, (*BUILD_SPEC, key), value, what)


# ------------------------------------------------------------------ build and deploy


def _check_memory(out: _Out, path: JsonPath, value: Any) -> None:
    if not isinstance(value, str):
        return
    if normalise_memory(value) is None:
        out.add(
            path,
            "memory.invalid",
            f"`{value}` is not a memory quantity with a unit",
            "write a number and a unit, e.g. `512Mi` or `2Gi`",
        )
    elif is_legacy_memory(value):
        fixed = normalise_memory(value)
        units = ", ".join(sorted(set(LEGACY_MEMORY_UNITS.values())))
        out.add(
            path,
            "memory.legacy-unit",
            f"`{value}` uses Qwak's legacy unit spelling; it is read as `{fixed}`",
            f"write `{fixed}` (units: {units})",
            warning=True,
        )


def check_resources(out: _Out, data: Mapping[str, Any], _ctx: Context) -> None:
    cpu_memory = (*BUILD_SPEC, "resources", "cpu", "memory")
    _check_memory(out, cpu_memory, get(data, cpu_memory))
    _check_memory(out, (*DEPLOY_SPEC, "memory"), get(data, (*DEPLOY_SPEC, "memory")))
    for path in (
        (*DEPLOY_SPEC, "number_of_pods"),
        (*BUILD_SPEC, "resources", "gpu", "gpu_amount"),
        (*DEPLOY_SPEC, "gpu_resources", "gpu_amount"),
    ):
        value = get(data, path)
        if type(value) is int and value < 1:
            out.add(path, "range.minimum", f"{path[-1]} must be at least 1, not {value}", "")
    scale = get(data, (*DEPLOY_SPEC, "auto_scale_config"))
    if isinstance(scale, dict):
        low, high = scale.get("min_replica_count"), scale.get("max_replica_count")
        if type(low) is int and type(high) is int and low > high:
            out.add(
                (*DEPLOY_SPEC, "auto_scale_config", "min_replica_count"),
                "replicas.range",
                f"min_replica_count ({low}) is greater than max_replica_count ({high})",
                "make min_replica_count at most max_replica_count",
            )


def check_environments(out: _Out, data: Mapping[str, Any], ctx: Context) -> None:
    if ctx.environments is None:
        return
    known = ctx.environments
    hint = "environments in the project config: " + (", ".join(known) or "(none)")
    candidates: list[tuple[JsonPath, Any]] = [(("environment",), data.get("environment"))]
    candidates += list(_strings(data, (*DEPLOY_SPEC, "environments")))
    for path, name in candidates:
        if isinstance(name, str) and name not in known:
            out.add(
                path,
                "environment.unknown",
                f"the environment `{name}` is not in the project config",
                hint,
            )


RULES: tuple[Callable[[_Out, Mapping[str, Any], Context], None], ...] = (
    check_trigger,
    check_condition,
    check_source,
    check_resources,
    check_environments,
)


def check_document(doc: Document, ctx: Context | None = None) -> list[Problem]:
    """Every semantic problem of one document."""
    from qwak_auto.automation import (
        buildchecks,
        imagechecks,
        qwakchecks,
        rolloutchecks,
        secretchecks,
    )

    out = _Out(doc)
    ctx = ctx or Context()
    extra = (*secretchecks.RULES, *buildchecks.RULES, *qwakchecks.RULES, *rolloutchecks.RULES)
    for rule in (*RULES, *extra, *imagechecks.RULES):
        rule(out, doc.data, ctx)
    return out.problems
