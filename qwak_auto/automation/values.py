"""Pure checks of single values: cron expressions, time zones, git URIs, credentials in URLs.

Each returns None when the value is fine, else ``(code, message, hint)``; the rules in
:mod:`qwak_auto.automation.checks` attach the position. Messages never repeat a credential:
:func:`mask_url` shows it as ``***``.
"""

from __future__ import annotations

import functools
import re

CRON_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_SCP = re.compile(r"(?:[^@/:\s]+@)?[A-Za-z0-9.-]+:(?!//)")
_TRANSPORT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*::")
_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:[/\\]")


@functools.lru_cache(maxsize=512)
def cron_problem(expr: str) -> tuple[str, str, str] | None:
    """(code, message, hint) when a cron expression is unusable, else None."""
    from croniter import CroniterBadDateError, croniter

    text = expr.strip()
    if text.startswith("@"):
        macro = CRON_MACROS.get(text.lower())
        if macro is None:
            known = ", ".join(CRON_MACROS)
            return "cron.invalid", f"`{text}` is not a known cron macro", f"use one of {known}"
        text = macro
    fields = text.split()
    if len(fields) != 5:
        hint = "write minute hour day-of-month month day-of-week, e.g. `0 3 * * *`"
        if len(fields) == 6:
            hint = "drop the seconds field: cron here has 5 fields (minute first)"
        return "cron.fields", f"the cron expression has {len(fields)} fields, not 5", hint
    if not croniter.is_valid(text):
        from qwak_auto.automation.cronfields import HINT, field_problem

        which = field_problem(fields, croniter.is_valid)
        if which is not None:
            return "cron.invalid", f"`{expr}`: {which}", HINT
        return "cron.invalid", f"`{expr}` is not a valid cron expression", HINT
    import datetime

    # Cron has no year field: if nothing matches in 9 years (two leap cycles plus one), it
    # never will. A fixed start keeps the answer the same every day.
    start = datetime.datetime(2001, 1, 1)
    try:
        croniter(text, start, max_years_between_matches=9).get_next(datetime.datetime)
    except CroniterBadDateError:
        return (
            "cron.never-fires",
            f"the cron expression `{expr}` never fires",
            "check day-of-month against month (February has no 30th or 31st)",
        )
    except (ValueError, KeyError, IndexError):
        return "cron.invalid", f"`{expr}` is not a valid cron expression", ""
    return None


@functools.lru_cache(maxsize=64)
def known_timezone(name: str) -> bool:
    import zoneinfo

    if not name or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def mask_url(url: str) -> str:
    """The URL with any user-info (and a Slack webhook's token path) replaced by ``***``."""
    match = _SCHEME.match(url)
    if match:
        rest = url[match.end() :]
        host_end = len(rest)
        for sep in "/?#":
            pos = rest.find(sep)
            if pos != -1:
                host_end = min(host_end, pos)
        netloc, tail = rest[:host_end], rest[host_end:]
        if "@" in netloc:
            netloc = "***@" + netloc.rsplit("@", 1)[1]
        if "hooks.slack.com" in netloc.lower():
            tail = "/services/***" if tail.startswith("/services") else ("/***" if tail else "")
        return f"{match.group(0)}{netloc}{tail}"
    if "@" in url:
        return "***@" + url.rsplit("@", 1)[1]
    return "***"


def userinfo(url: str) -> str | None:
    match = _SCHEME.match(url)
    if not match:
        return None
    rest = url[match.end() :]
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
    return netloc.rsplit("@", 1)[0] if "@" in netloc else None


def git_uri_problem(uri: str) -> tuple[str, str, str] | None:
    """(code, message, hint) for a git_uri that is not allowed (never repeating a credential)."""
    text = uri.strip()
    repo = text.split("#", 1)[0]
    if text.startswith("-"):
        return (
            "git-uri.option",
            "git_uri starts with `-`, which git would read as an option",
            "write the repository URL, e.g. https://github.com/org/repo.git",
        )
    scheme = _SCHEME.match(repo)
    if scheme:
        kind = scheme.group(1).lower()
        if kind not in ("http", "https", "ssh", "file"):
            return (
                "git-uri.transport",
                f"the `{kind}://` transport is not allowed for git_uri",
                "use https://, ssh (git@host:org/repo.git or ssh://) or a local path / file://",
            )
        info = userinfo(repo)
        if info is not None and (kind in ("http", "https") or ":" in info):
            return (
                "git-uri.credentials",
                f"git_uri embeds a credential: {mask_url(repo)}",
                "remove it from the URL and name a secret in git_access_token_secret "
                "(or git_ssh_key_secret for ssh)",
            )
        return None
    if _TRANSPORT.match(repo):
        return (
            "git-uri.transport",
            "git remote-helper transports (`name::address`) are not allowed for git_uri",
            "use https://, ssh (git@host:org/repo.git or ssh://) or a local path / file://",
        )
    if ":" in repo and not _SCP.match(repo) and not _WINDOWS_DRIVE.match(repo):
        return (
            "git-uri.transport",
            "git_uri is neither an https/ssh URL nor a local path",
            "use https://host/org/repo.git, git@host:org/repo.git or a local path",
        )
    return None


# AWS's IAM role ARN (IAM API reference: the Role data type's Arn, role paths and names):
# a partition (aws, aws-cn, aws-us-gov, aws-iso-b ...), a 12-digit account, an optional
# path (``/`` ... ``/``, printable ASCII) and a name of at most 64 of ``[A-Za-z0-9+=,.@_-]``.
ROLE_ARN = re.compile(
    r"arn:aws(?:-[a-z]+)*:iam::\d{12}:role/(?:[\x21-\x7e]{1,510}/)?[\w+=,.@-]{1,64}\Z",
    re.ASCII,
)


def role_arn_problem(arn: str, field: str) -> tuple[str, str, str] | None:
    """(code, message, hint) for a role field that is not an IAM role ARN ('' means none)."""
    if not arn or ROLE_ARN.match(arn):
        return None
    return (
        "iam.role-arn",
        f"{field} `{arn}` is not an IAM role ARN",
        "write arn:aws:iam::<12-digit account id>:role/<name> (a path may come before the "
        "name: role/service-role/<name>)",
    )


# A branch, tag or commit as git_branch: it is used in refspecs and ref file paths.
_BRANCH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/+-]*\Z")


def branch_problem(branch: str) -> tuple[str, str, str] | None:
    """(code, message, hint) for a git_branch that is not a plain branch, tag or commit."""
    if branch.startswith("-"):
        return (
            "git-branch.option",
            f"git_branch `{branch}` is not a valid branch name: it starts with `-`, which "
            "git would read as an option",
            "write the branch name, e.g. main or release/2026-03",
        )
    bad = ".." in branch or branch.endswith((".", "/", ".lock")) or "//" in branch
    if not _BRANCH.match(branch) or bad:
        return (
            "git-branch.invalid",
            f"git_branch `{branch}` is not a valid branch, tag or commit name",
            "use a plain branch name such as main or release/2026-03",
        )
    return None


# C0 control characters and DEL: a newline in a value would end it early in a Dockerfile
# ENV line, a .env file or a Kubernetes manifest, and could add variables of its own.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_NAMES = {"\n": "a newline (\\n)", "\r": "a carriage return (\\r)", "\t": "a tab (\\t)"}


def control_character(text: str) -> str | None:
    """How to name the first control character of ``text``, or None when it has none."""
    found = _CONTROL.search(text)
    if found is None:
        return None
    char = found.group()
    return _CONTROL_NAMES.get(char, f"the control character U+{ord(char):04X}")
