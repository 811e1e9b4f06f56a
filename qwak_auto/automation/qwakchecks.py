"""Semantic checks of the fields that came with Qwak's SDK (SPEC-REFERENCE "More of Qwak's
SDK"): the fields a builder or deployer cannot honour (a warning naming each, never a silent
drop), Qwak's second spelling of the ssh key secret, ``dependencies_as_of`` and webhook
headers that hold credentials.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

from qwak_auto.automation.load import JsonPath
from qwak_auto.automation.rulebase import BUILD_SPEC, DEPLOY_SPEC, NOTIFY_KEYS, Context, _Out, get

# Qwak build_spec fields -> the builders that honour them. Any other builder gets a
# `qwak.no-effect` warning naming the field when a file sets it.
BUILD_FIELDS_HONOURED: Mapping[tuple[str, ...], tuple[str, ...]] = {
    ("purchase_option",): (),
    ("gpu_compatible",): (),
    ("service_account_key_secret_name",): (),
    ("provision_instance_timeout",): (),
    ("resources", "instance"): (),
    ("dependencies_as_of",): ("local", "docker", "kubernetes"),
}
# Qwak deployment_spec fields that neither the local nor the kubernetes deployer honours.
DEPLOY_FIELDS_IGNORED = ("purchase_option", "instance", "service_account_key_secret_name")
# Header names that carry credentials (Authorization, X-Api-Key, X-Auth-Token, ...).
CREDENTIAL_HEADER = re.compile(r"authorization|token|api[-_]?key|secret|password|cookie", re.I)


def _is_set(value: Any) -> bool:
    """A value that asks for something: present, and not `false` (Qwak's default)."""
    return value is not None and value is not False


def check_no_effect(out: _Out, data: Mapping[str, Any], ctx: Context) -> None:
    for field, builders in BUILD_FIELDS_HONOURED.items():
        path: JsonPath = (*BUILD_SPEC, *field)
        if ctx.builder in builders or not _is_set(get(data, path)):
            continue
        name = ".".join(field)
        hint = f"remove `{field[-1]}` or keep it for reference"
        if field == ("resources", "instance"):
            hint += "; the build gets the default CPU resources (or write `cpu:` / `gpu:`)"
        out.add(
            path,
            "qwak.no-effect",
            f"{name} is accepted (Qwak) but has no effect with the {ctx.builder} builder",
            hint,
            warning=True,
            at_key=True,
        )
    for key in DEPLOY_FIELDS_IGNORED:
        path = (*DEPLOY_SPEC, key)
        if _is_set(get(data, path)):
            out.add(
                path,
                "qwak.no-effect",
                f"{key} is accepted (Qwak) but has no effect with the local and kubernetes "
                "deployers",
                f"remove `{key}` or keep it for reference",
                warning=True,
                at_key=True,
            )


def check_ssh_spellings(out: _Out, data: Mapping[str, Any], _ctx: Context) -> None:
    both = [get(data, (*BUILD_SPEC, key)) for key in ("git_ssh_key_secret", "git_ssh_token_secret")]
    if all(value is not None for value in both):
        out.add(
            (*BUILD_SPEC, "git_ssh_token_secret"),
            "secret.both-spellings",
            "git_ssh_key_secret and git_ssh_token_secret (Qwak's spelling of it) are both given",
            "keep one of them",
            at_key=True,
        )


def check_dependencies_as_of(
    out: _Out, data: Mapping[str, Any], _ctx: Context, *, today: dt.date | None = None
) -> None:
    path = (*BUILD_SPEC, "dependencies_as_of")
    value = get(data, path)
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return  # absent, or the schema's problem
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        out.add(path, "date.invalid", f"`{value}` is not a calendar date", "write YYYY-MM-DD")
        return
    today = today or dt.datetime.now(dt.UTC).date()
    if day > today:
        out.add(
            path,
            "date.future",
            f"dependencies_as_of {value} is in the future, so it excludes nothing yet",
            "give the day the repository's dependencies last resolved as intended",
            warning=True,
        )


def check_webhook_headers(out: _Out, data: Mapping[str, Any], _ctx: Context) -> None:
    for event in NOTIFY_KEYS:
        base = (event, "webhook")
        headers = get(data, (*base, "headers"))
        secret = get(data, (*base, "secret_headers"))
        plain = {str(k).lower(): str(k) for k in headers} if isinstance(headers, dict) else {}
        if isinstance(secret, dict):
            for name in secret:
                if str(name).lower() in plain:
                    out.add(
                        (*base, "secret_headers", str(name)),
                        "webhook.header-twice",
                        f"the header `{name}` is in both headers and secret_headers",
                        "keep it in secret_headers only",
                        at_key=True,
                    )
        for name in plain.values():
            if CREDENTIAL_HEADER.search(name) and str(name).lower() not in _lower(secret):
                # The value is never repeated: it is likely the credential itself.
                out.add(
                    (*base, "headers", name),
                    "secret.header-plaintext",
                    f"the header `{name}` looks like a credential written in the file",
                    f"store the value in a secret and write `secret_headers: {{{name}: NAME}}`",
                    warning=True,
                    at_key=True,
                )


def _lower(value: Any) -> set[str]:
    return {str(k).lower() for k in value} if isinstance(value, dict) else set()


RULES: tuple[Callable[[_Out, Mapping[str, Any], Context], None], ...] = (
    check_no_effect,
    check_ssh_spellings,
    check_dependencies_as_of,
    check_webhook_headers,
)
