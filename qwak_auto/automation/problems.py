"""One Problem type, many renderers.

Validation collects every problem first; a renderer prints them last, sorted, so the output
is deterministic. ``RENDERERS`` keys are exactly the ``--format`` choices.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    file: str
    line: int = 0  # 1-based; 0 when unknown (e.g. the file could not be read)
    column: int = 0  # 1-based
    path: str = ""  # dotted field path: action.build_deploy.build_spec.git_uri
    code: str  # a stable rule code, e.g. "schema.type", "cron.never-fires"
    message: str
    hint: str = ""
    severity: Severity = Severity.ERROR

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.line, self.column, self.path, self.code)

    @property
    def location(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file


def counts(problems: Sequence[Problem], strict: bool = False) -> tuple[int, int]:
    """(errors, warnings); with ``strict`` warnings count as errors."""
    errors = sum(1 for p in problems if p.severity is Severity.ERROR)
    warnings = len(problems) - errors
    if strict:
        return errors + warnings, 0
    return errors, warnings


def render_text(problems: Sequence[Problem], files_checked: int) -> str:
    lines: list[str] = []
    for p in sorted(problems, key=Problem.sort_key):
        where = f" {p.path}:" if p.path else ""
        lines.append(f"{p.location}: {p.severity.value}:{where} {p.message} [{p.code}]")
        if p.hint:
            lines.append(f"    hint: {p.hint}")
    errors = sum(1 for p in problems if p.severity is Severity.ERROR)
    warnings = len(problems) - errors
    noun = "file" if files_checked == 1 else "files"
    if problems:
        lines.append(f"{files_checked} {noun} checked: {errors} error(s), {warnings} warning(s)")
    else:
        lines.append(f"{files_checked} {noun} checked: no problems")
    return "\n".join(lines) + "\n"


def problem_dict(p: Problem) -> dict[str, Any]:
    """A problem in JSON (`auto validate`, `auto plan`, `auto run --once`)."""
    return {**asdict(p), "severity": p.severity.value}


def render_json(problems: Sequence[Problem], files_checked: int) -> str:
    """The stable JSON shape: {"version": 1, "files_checked": N, "errors": E,
    "warnings": W, "problems": [{file, line, column, path, code, severity, message, hint}]}."""
    ordered = sorted(problems, key=Problem.sort_key)
    errors = sum(1 for p in ordered if p.severity is Severity.ERROR)
    doc = {
        "version": 1,
        "files_checked": files_checked,
        "errors": errors,
        "warnings": len(ordered) - errors,
        "problems": [problem_dict(p) for p in ordered],
    }
    return json.dumps(doc, indent=2) + "\n"


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render_github(problems: Sequence[Problem], files_checked: int) -> str:
    """GitHub Actions workflow commands: ``::error file=F,line=L,col=C,title=T::message``."""
    lines: list[str] = []
    for p in sorted(problems, key=Problem.sort_key):
        props = [f"file={_gh_escape(p.file, True)}"]
        if p.line:
            props += [f"line={p.line}", f"col={p.column}"]
        props.append(f"title={_gh_escape(p.code, True)}")
        body = f"{p.path}: {p.message}" if p.path else p.message
        if p.hint:
            body += f" (hint: {p.hint})"
        lines.append(f"::{p.severity.value} {','.join(props)}::{_gh_escape(body)}")
    noun = "file" if files_checked == 1 else "files"
    lines.append(f"{files_checked} {noun} checked, {len(problems)} problem(s)")
    return "\n".join(lines) + "\n"


RENDERERS: dict[str, Callable[[Sequence[Problem], int], str]] = {
    "text": render_text,
    "json": render_json,
    "github": render_github,
}
