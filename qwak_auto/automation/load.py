"""Read automation files into plain data with positions, refusing YAML hazards as Problems.

Files and folders (recursively: ``*.yaml``, ``*.yml``; hidden folders and the project config
``auto.yaml`` skipped) or ``-`` for stdin. A file over 1 MiB is refused before it is read;
non-UTF-8 bytes, YAML syntax errors (tabs in the indentation and unclosed quotes get their own
message), duplicate keys, empty documents, a top level that is not a mapping, nesting deeper
than 64 levels and alias expansion beyond 1,000 nodes are refused as Problems. The parsing
itself lives in :mod:`qwak_auto.automation.yamldoc`.

Nothing here raises on bad input: every failure becomes a :class:`Problem`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import AnyStr

from qwak_auto.automation.problems import Problem, Severity
from qwak_auto.automation.yamlcareful import careful_build
from qwak_auto.automation.yamldoc import (
    MAX_DEPTH,
    Document,
    JsonPath,
    Positions,
    dotted,
    fast_build,
)

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "Document",
    "JsonPath",
    "Loaded",
    "Positions",
    "careful_build",
    "collect_files",
    "dotted",
    "fast_build",
    "load_paths",
    "load_text",
    "read_text",
]

MAX_BYTES = 1024 * 1024  # files over 1 MiB are refused before they are read
SKIP_NAMES = frozenset({"auto.yaml", "auto.yml"})  # the project config is not an automation
SUFFIXES = (".yaml", ".yml")
STDIN = "-"


@dataclass(frozen=True, slots=True)
class Loaded:
    documents: list[Document]
    problems: list[Problem]
    files: list[str]  # every file that was read (or tried), in order


# ------------------------------------------------------------------ finding files


def collect_files(paths: Sequence[str | Path]) -> tuple[list[str], list[Problem]]:
    """Expand folders recursively into ``*.yaml``/``*.yml`` files (hidden folders and the
    project config skipped, also when named); ``-`` stands for stdin. Missing paths are
    Problems."""
    files: list[str] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for given in paths:
        raw = str(given)
        if raw == STDIN:
            found = [STDIN]
        else:
            path = Path(raw)
            if path.is_dir():
                before = len(problems)
                found = sorted(_walk(path, problems, set()))
                if not found and len(problems) == before:
                    problems.append(
                        Problem(
                            file=raw,
                            code="file.no-automations",
                            message="the folder holds no automation files (*.yaml, *.yml)",
                            hint="check the path, or put automation files in it",
                            severity=Severity.WARNING,
                        )
                    )
            elif path.is_file():
                # The project config sits beside the automations (`auto validate dir/*.yaml`
                # names it too); it is never an automation.
                found = [] if path.name in SKIP_NAMES else [str(path)]
            else:
                problems.append(
                    Problem(
                        file=raw,
                        code="file.missing",
                        message="no such file or folder",
                        hint="check the path; give files, folders or `-` for stdin",
                    )
                )
                continue
        for name in found:
            if name not in seen:
                seen.add(name)
                files.append(name)
    return files, problems


def _walk(folder: Path, problems: list[Problem], visited: set[Path]) -> Iterator[str]:
    real = folder.resolve()
    if real in visited:  # a symlink back to a folder already read (e.g. `ln -s . loop`)
        return
    visited.add(real)
    try:
        entries = list(folder.iterdir())
    except OSError as exc:
        # One unreadable folder is a problem of its own; the rest of the tree is still read.
        problems.append(
            Problem(
                file=str(folder),
                code="file.unreadable",
                message=f"cannot read the folder: {exc.strerror or exc}",
                hint="check the folder's permissions, or move it out of the automation folder",
            )
        )
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from _walk(entry, problems, visited)
        elif entry.suffix in SUFFIXES and entry.name not in SKIP_NAMES and entry.is_file():
            yield str(entry)


# ------------------------------------------------------------------ reading


def read_text(name: str) -> tuple[str | None, Problem | None]:
    """The file's text, or a Problem (too big, unreadable, not UTF-8)."""
    try:
        if name == STDIN:
            data = sys.stdin.buffer.read(MAX_BYTES + 1)
        else:
            path = Path(name)
            if path.stat().st_size > MAX_BYTES:
                return None, _too_big(name)
            with path.open("rb") as handle:
                data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        return None, Problem(
            file=name,
            code="file.unreadable",
            message=f"cannot read the file: {exc.strerror or exc}",
            hint="check that the file exists and is readable",
        )
    if len(data) > MAX_BYTES:
        return None, _too_big(name)
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        return None, _problem_at(
            name,
            data,
            exc.start,
            b"\n",
            code="file.encoding",
            message=f"the file is not UTF-8 (byte 0x{data[exc.start]:02x})",
            hint="save the file as UTF-8",
        )


def _problem_at(
    file: str, text: AnyStr, offset: int, newline: AnyStr, *, code: str, message: str, hint: str
) -> Problem:
    """A problem at ``offset`` in ``text``, with its 1-based line and column."""
    line = text.count(newline, 0, offset) + 1
    column = offset - (text.rfind(newline, 0, offset) + 1) + 1
    return Problem(file=file, line=line, column=column, code=code, message=message, hint=hint)


def _too_big(name: str) -> Problem:
    return Problem(
        file=name,
        code="file.too-large",
        message=f"the file is larger than {MAX_BYTES // 1024} KiB",
        hint="an automation file is a few dozen lines; split large sets into several files",
    )


def load_paths(paths: Sequence[str | Path]) -> Loaded:
    files, problems = collect_files(paths)
    documents: list[Document] = []
    for name in files:
        text, problem = read_text(name)
        if problem is not None:
            problems.append(problem)
            continue
        assert text is not None
        docs, probs = load_text(text, name)
        documents.extend(docs)
        problems.extend(probs)
    return Loaded(documents, problems, files)


def load_text(text: str, file: str = "<string>") -> tuple[list[Document], list[Problem]]:
    """Every document of ``text``, or Problems; never raises."""
    from ruamel.yaml.error import YAMLError

    if not text.strip():
        return [], [_empty(file)]
    try:
        fast = fast_build(text, file)
    except Exception:  # noqa: BLE001 - the careful builder below reports what went wrong
        fast = None
    if fast is not None:
        return fast, []
    documents: list[Document] = []
    problems: list[Problem] = []
    try:
        careful_build(text, file, documents, problems)
    except YAMLError as exc:
        problems.append(_syntax_problem(exc, text, file))
    except Exception as exc:  # noqa: BLE001 - bad input must never become a traceback
        problems.append(
            Problem(
                file=file,
                code="yaml.invalid",
                message=f"the YAML cannot be read: {type(exc).__name__}: {exc}",
                hint="check the file's syntax",
            )
        )
    if not documents and not problems:
        problems.append(_empty(file))
    return documents, problems


def _empty(file: str) -> Problem:
    return Problem(
        file=file,
        line=1,
        column=1,
        code="yaml.empty",
        message="the file holds no automation (it is empty or only comments)",
        hint="write an automation (name, model_id, trigger, action) or delete the file",
    )


_TAB_INDENT = re.compile(r"^[ ]*\t", re.MULTILINE)


def _syntax_problem(exc: Exception, text: str, file: str) -> Problem:
    problem_mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    problem = str(getattr(exc, "problem", None) or "")
    context = str(getattr(exc, "context", None) or "")
    tab = _TAB_INDENT.search(text)
    error_line = problem_mark.line if problem_mark is not None else 1 << 30
    if tab is not None and text.count("\n", 0, tab.start()) <= error_line:
        line = text.count("\n", 0, tab.start()) + 1
        column = tab.end() - tab.start()
        return Problem(
            file=file,
            line=line,
            column=column,
            code="yaml.tab",
            message="a tab character in the indentation",
            hint="YAML indents with spaces only: replace the tab with spaces",
        )
    if "quoted scalar" in context and context_mark is not None:
        return Problem(
            file=file,
            line=context_mark.line + 1,
            column=context_mark.column + 1,
            code="yaml.unclosed-quote",
            message="this quoted string is never closed",
            hint="add the closing quote (a quote inside the text is written '' in single "
            'quotes, \\" in double quotes)',
        )
    unclosed = _unclosed_quote(text, error_line)
    if unclosed is not None:
        return Problem(
            file=file,
            line=unclosed[0],
            column=unclosed[1],
            code="yaml.unclosed-quote",
            message="this quoted string is never closed",
            hint="add the closing quote (a quote inside the text is written '' in single "
            'quotes, \\" in double quotes)',
        )
    mark = problem_mark or context_mark
    if mark is None:
        position = getattr(exc, "position", None)
        if isinstance(position, int):
            reason = getattr(exc, "reason", "invalid character")
            return _problem_at(
                file,
                text,
                position,
                "\n",
                code="yaml.syntax",
                message=f"invalid YAML: {reason}",
                hint="remove control characters from the file",
            )
        return Problem(
            file=file, code="yaml.syntax", message=f"invalid YAML: {exc}", hint="fix the syntax"
        )
    what = problem or str(exc).splitlines()[0]
    if context:
        what = f"{what} ({context}"
        if context_mark is not None and problem_mark is not None:
            what += f" at line {context_mark.line + 1}"
        what += ")"
    return Problem(
        file=file,
        line=mark.line + 1,
        column=mark.column + 1,
        code="yaml.syntax",
        message=f"invalid YAML: {what}",
        hint="check indentation, colons and quotes around this place",
    )


_QUOTE_START = re.compile(r"""(?:^|[:\-\[{,]\s)\s*(["'])""")


def _unclosed_quote(text: str, error_line: int) -> tuple[int, int] | None:
    """(line, column) of a quote opened and not closed on its line, at or before the error.

    Used only once the parse failed: a double-quoted string may span lines, so libyaml then
    reports a confusing error far below the real mistake."""
    for number, line in enumerate(text.splitlines()[: error_line + 1]):
        match = _QUOTE_START.search(line)
        if match is None or line.lstrip().startswith("#"):
            continue
        quote, start = match.group(1), match.end()
        rest = line[start:]
        rest = re.sub(r"\\.", "", rest) if quote == '"' else rest.replace("''", "")
        if quote not in rest:
            return number + 1, start
    return None
