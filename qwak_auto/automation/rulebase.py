"""What every semantic rule module shares: where the fields are, the rule context, the
collector of Problems and how to read a value at a path (checks.py, buildchecks.py,
secretchecks.py, qwakchecks.py, rolloutchecks.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from qwak_auto.automation.load import Document, JsonPath
from qwak_auto.automation.problems import Problem, Severity

BUILD = ("action", "build_deploy")
BUILD_SPEC = (*BUILD, "build_spec")
DEPLOY_SPEC = (*BUILD, "deployment_spec")
BUILD_METRIC = (*BUILD, "deployment_condition", "build_metric")
NOTIFY_KEYS = ("on_success", "on_error", "on_not_deployed", "on_start", "on_approval_needed")
SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,127}\Z")


@dataclass(frozen=True, slots=True)
class Context:
    """What the rules need beyond the document."""

    environments: tuple[str, ...] | None = None  # None: the project config lists none
    builder: str = "local"
    deployers: Mapping[str, str] | None = None  # environment -> its deployer (when listed)
    default_environment: str = ""


class _Out:
    """Collects the Problems of one document."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.problems: list[Problem] = []

    def add(
        self,
        path: JsonPath,
        code: str,
        message: str,
        hint: str = "",
        *,
        warning: bool = False,
        at_key: bool = False,
    ) -> None:
        at = self.doc.positions.key(path) if at_key else None
        severity = Severity.WARNING if warning else Severity.ERROR
        self.problems.append(self.doc.problem(path, code, message, hint, at=at, severity=severity))


def get(data: Any, path: JsonPath) -> Any:
    """The value at ``path``, or None where any step is missing or of another type."""
    for part in path:
        if isinstance(part, int):
            if not isinstance(data, list) or part >= len(data):
                return None
        elif not isinstance(data, dict):
            return None
        data = data[part] if isinstance(part, int) else data.get(part)
    return data


def _strings(data: Any, path: JsonPath) -> Iterator[tuple[JsonPath, str]]:
    value = get(data, path)
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str):
                yield (*path, index), item


def environments_of(data: Mapping[str, Any], ctx: Context) -> list[tuple[JsonPath, str]]:
    """Where the automation deploys, with the place in the file that says so."""
    listed = get(data, (*DEPLOY_SPEC, "environments"))
    if isinstance(listed, list) and listed:
        return [
            ((*DEPLOY_SPEC, "environments", i), name)
            for i, name in enumerate(listed)
            if isinstance(name, str)
        ]
    own = data.get("environment")
    if isinstance(own, str) and own:
        return [(("environment",), own)]
    return [(("name",), ctx.default_environment)]
