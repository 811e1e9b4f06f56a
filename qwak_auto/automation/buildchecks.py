"""Semantic rules of the values a build or a deployment hands to other programs: the branch
git fetches, the environment variables, the IAM roles. Each is refused by ``auto validate``
with the rule the run applies, so a file that validates does not fail at run time on them
(issue 14: `git_branch: "--upload-pack=..."`, an env_vars value with a newline and a
malformed role ARN all passed `auto validate`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from qwak_auto.automation.rulebase import BUILD_SPEC, DEPLOY_SPEC, Context, _Out, _strings, get
from qwak_auto.automation.values import branch_problem, control_character, role_arn_problem

ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def check_branch(out: _Out, data: Mapping[str, Any], _ctx: Context) -> None:
    path = (*BUILD_SPEC, "git_branch")
    branch = get(data, path)
    if isinstance(branch, str):
        found = branch_problem(branch)
        if found is not None:
            out.add(path, *found)


def check_env_vars(out: _Out, data: Mapping[str, Any], _ctx: Context) -> None:
    for base in (BUILD_SPEC, DEPLOY_SPEC):
        for path, entry in _strings(data, (*base, "env_vars")):
            key, sep, value = entry.partition("=")
            control = control_character(value)
            if not sep:
                out.add(
                    path,
                    "env.format",
                    f"`{entry}` is not KEY=VALUE",
                    f'write it as "{entry.strip() or "KEY"}=value"',
                )
            elif not ENV_KEY.match(key):
                out.add(
                    path,
                    "env.key",
                    f"`{key}` is not a valid environment variable name",
                    "start with a letter or `_`, then letters, digits or `_`",
                )
            elif control is not None:
                out.add(
                    path,
                    "env.control-character",
                    f"the value of `{key}` contains {control}",
                    "a value is one line of text; pass structured or multi-line data as a "
                    "file in the repository, or encode it (e.g. base64)",
                )


def check_roles(out: _Out, data: Mapping[str, Any], _ctx: Context) -> None:
    for path in ((*BUILD_SPEC, "assumed_iam_role"), (*DEPLOY_SPEC, "custom_iam_role_arn")):
        role = get(data, path)
        if isinstance(role, str):
            found = role_arn_problem(role.strip(), str(path[-1]))
            if found is not None:
                out.add(path, *found)


RULES: tuple[Callable[[_Out, Mapping[str, Any], Context], None], ...] = (
    check_branch,
    check_env_vars,
    check_roles,
)
