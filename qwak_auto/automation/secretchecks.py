"""Semantic rules of secret names: a value where a name belongs is refused without repeating
it, and the names a run resolves are listed for ``auto validate --check-secrets``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from qwak_auto.automation.load import JsonPath
from qwak_auto.automation.rulebase import (
    BUILD_SPEC,
    DEPLOY_SPEC,
    NOTIFY_KEYS,
    SECRET_NAME,
    Context,
    _Out,
    get,
)
from qwak_auto.automation.values import mask_url, userinfo

_TOKEN_PREFIXES = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xox")


def _secret_fields(data: Mapping[str, Any]) -> Iterator[tuple[JsonPath, Any]]:
    paths: list[JsonPath] = [
        (*BUILD_SPEC, "git_access_token_secret"),
        (*BUILD_SPEC, "git_ssh_key_secret"),
        (*BUILD_SPEC, "git_ssh_token_secret"),
        (*BUILD_SPEC, "service_account_key_secret_name"),
        (*DEPLOY_SPEC, "service_account_key_secret_name"),
        (*DEPLOY_SPEC, "api_keys_secret"),
    ]
    for event in NOTIFY_KEYS:
        paths += [(event, "slack", "webhook_secret"), (event, "webhook", "signing_secret")]
        headers = get(data, (event, "webhook", "secret_headers"))
        if isinstance(headers, dict):
            paths += [(event, "webhook", "secret_headers", str(name)) for name in headers]
    for path in paths:
        yield path, get(data, path)


def secret_names(data: Mapping[str, Any]) -> list[tuple[JsonPath, str]]:
    """Every valid secret name the document refers to and a run resolves, with its path. A
    value that is not a name (a URL, a token) is left out: it is reported as such, never
    looked up or echoed. Qwak's service-account keys are left out too: nothing here reads
    them (a `qwak.no-effect` warning says so)."""
    return [
        (p, v)
        for p, v in _secret_fields(data)
        if isinstance(v, str)
        and SECRET_NAME.match(v)
        and not _looks_like_value(v)
        and p[-1] != "service_account_key_secret_name"
    ]


def _looks_like_value(value: str) -> bool:
    lower = value.lower()
    return "://" in value or "hooks.slack.com" in lower or value.startswith(_TOKEN_PREFIXES)


def check_secrets(out: _Out, data: Mapping[str, Any], _ctx: Context) -> None:
    for path, value in _secret_fields(data):
        if isinstance(value, str) and _looks_like_value(value):
            shown = mask_url(value) if "://" in value else "***"
            out.add(
                path,
                "secret.plaintext",
                f"{path[-1]} holds a secret value ({shown}), not a secret name",
                "store the value in a secret backend (e.g. the environment variable "
                "AUTO_SECRET_<NAME>) and write its NAME here",
            )
    for event in NOTIFY_KEYS:
        path = (event, "webhook", "url")
        url = get(data, path)
        if not isinstance(url, str):
            continue
        slack = "hooks.slack.com/services/" in url.lower()
        if slack or userinfo(url) is not None:
            hint = "name a secret instead: `slack: {webhook_secret: NAME}`"
            if not slack:
                hint = "remove the credential from the URL; the receiver can verify "
                hint += "`signing_secret` signatures instead"
            out.add(
                path,
                "secret.plaintext",
                f"the webhook URL embeds a credential: {mask_url(url)}",
                hint,
            )


RULES: tuple[Callable[[_Out, Mapping[str, Any], Context], None], ...] = (check_secrets,)
