"""YAML text → plain data with positions: the fast builder and the document types.

Speed decides the design (see ``benchmarks/validate.py``): libyaml (``ruamel.yaml.clib``)
produces the parse *events* in C, and one flat Python loop turns them into plain dicts,
lists and scalars, no recursion. :func:`fast_build` handles the common case and records
only the data; at the first unusual thing (anchors, aliases, tags, merge or duplicate keys,
deep nesting, a syntax error) it gives up and ``yamlcareful.careful_build`` reads the text
again, recording positions and explaining every hazard as a Problem. Positions of a
fast-built document are computed on first use, by the careful builder: they are only needed
when a problem is reported. Scalars resolve by YAML 1.2's core schema as ruamel does (bool,
null, int, float, else str; no timestamps).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from qwak_auto.automation.problems import Problem, Severity

MAX_DEPTH = 64  # nesting of mappings/sequences
MAX_ALIAS_NODES = 1000  # nodes that aliases would expand to, per document

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Spot:
    """Where a value starts (0-based line/column), and its extent in the source text."""

    line: int
    column: int
    start: int
    end: int  # -1 for collections


class Positions:
    """Map a JSON path of a document to the line:column of its value (or its key).

    The fast loader records no positions: they are only needed when a problem is reported,
    so the tables are built on first use by re-reading the text with the careful builder.
    """

    __slots__ = ("_index", "_keys", "_shared", "_values", "text")

    def __init__(
        self,
        text: str,
        values: dict[JsonPath, Spot] | None = None,
        keys: dict[JsonPath, Spot] | None = None,
        index: int = 0,
        shared: dict[int, Positions] | None = None,
    ) -> None:
        self.text = text
        self._values = values
        self._keys = keys
        self._index = index
        # One careful pass per file, shared by all its documents: a file of many documents
        # with problems must not be re-read once per document.
        self._shared = shared

    def _tables(self) -> tuple[dict[JsonPath, Spot], dict[JsonPath, Spot]]:
        if self._values is None or self._keys is None:
            shared = self._shared if self._shared is not None else {}
            if not shared:
                shared.update(_careful_positions(self.text))
            found = shared.get(self._index)
            self._values, self._keys = found._tables() if found else ({}, {})
        return self._values, self._keys

    def _nearest(self, table: dict[JsonPath, Spot], path: Sequence[str | int]) -> Spot | None:
        path = tuple(path)
        while True:
            spot = table.get(path)
            if spot is not None or not path:
                return spot
            path = path[:-1]

    def value(self, path: Sequence[str | int]) -> tuple[int, int]:
        """1-based (line, column) of the value at ``path`` (else of its nearest ancestor)."""
        spot = self._nearest(self._tables()[0], path)
        return (spot.line + 1, spot.column + 1) if spot else (1, 1)

    def key(self, path: Sequence[str | int]) -> tuple[int, int]:
        """1-based (line, column) of the mapping key that holds ``path``."""
        spot = self._tables()[1].get(tuple(path))
        if spot is None:
            return self.value(path)
        return spot.line + 1, spot.column + 1

    def raw(self, path: Sequence[str | int]) -> str | None:
        """The scalar at ``path`` exactly as written in the file (``1.10`` stays ``1.10``)."""
        spot = self._tables()[0].get(tuple(path))
        if spot is None or spot.end < 0:
            return None
        return self.text[spot.start : spot.end]


def _careful_positions(text: str) -> dict[int, Positions]:
    from qwak_auto.automation.yamlcareful import careful_build

    documents: list[Document] = []
    try:
        careful_build(text, "<positions>", documents, [])
    except Exception:  # noqa: BLE001 - the fast builder already read this text
        return {-1: Positions(text, {}, {})}  # not empty: do not try again
    return {doc.index: doc.positions for doc in documents} or {-1: Positions(text, {}, {})}


@dataclass(frozen=True, slots=True)
class Document:
    file: str
    index: int  # 0-based position among the file's documents
    data: dict[str, Any]
    line: int  # 1-based line where the document's content starts
    positions: Positions = field(repr=False)

    def problem(
        self,
        path: JsonPath,
        code: str,
        message: str,
        hint: str = "",
        *,
        at: tuple[int, int] | None = None,
        severity: Severity = Severity.ERROR,
    ) -> Problem:
        """A Problem about ``path``, reported at ``at`` (line, column; default: the value)."""
        line, column = at or self.positions.value(path)
        return Problem(
            file=self.file,
            line=line,
            column=column,
            path=dotted(path),
            code=code,
            message=message,
            hint=hint,
            severity=severity,
        )


# ------------------------------------------------------------------ scalars

_INT = re.compile(r"[-+]?[0-9][0-9_]*\Z")
_FLOAT = re.compile(
    r"[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?\Z"
    r"|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)\Z"
    r"|[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?\Z"
)
_PREFIXED = {"0o": 8, "0x": 16, "0b": 2}
_WORDS: dict[str, Any] = {
    "~": None,
    "null": None,
    "Null": None,
    "NULL": None,
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
}
for _sign, _factor in (("", 1.0), ("+", 1.0), ("-", -1.0)):
    for _word in ("inf", "Inf", "INF"):
        _WORDS[f"{_sign}.{_word}"] = _factor * math.inf
for _word in ("nan", "NaN", "NAN"):
    _WORDS[f".{_word}"] = math.nan
_NUMBER_START = frozenset("0123456789+-.")
_STR_TAG = "tag:yaml.org,2002:str"
_NOT_RESOLVED = object()


def resolve_plain(value: str) -> Any:
    """A plain (unquoted) scalar by the YAML 1.2 core schema, as ruamel resolves it."""
    if not value:
        return None
    word = _WORDS.get(value, _NOT_RESOLVED)
    if word is not _NOT_RESOLVED:
        return word
    if value[0] in _NUMBER_START:
        if _INT.match(value):
            return int(value.replace("_", ""))
        base = _PREFIXED.get(value[:2])
        if base is not None:
            try:
                return int(value[2:].replace("_", ""), base)
            except ValueError:
                return value
        if _FLOAT.match(value):
            return float(value.replace("_", ""))
    return value


def _tagged(tag: str, value: str) -> Any:
    """A scalar with an explicit tag; raises ValueError for tags we do not construct."""
    if tag in (_STR_TAG, "!"):
        return value
    kind = tag.rsplit(":", 1)[-1] if tag.startswith("tag:yaml.org,2002:") else None
    resolved = resolve_plain(value)
    if kind == "int" and type(resolved) is int:
        return resolved
    if kind == "float" and type(resolved) in (int, float):
        return float(resolved)
    if kind == "bool" and type(resolved) is bool:
        return resolved
    if kind == "null" and resolved is None:
        return None
    raise ValueError(tag)


# ------------------------------------------------------------------ the fast builder


def fast_build(text: str, file: str) -> list[Document] | None:
    """The common case, fast: plain mappings, lists and scalars, no anchors, aliases, tags,
    merge keys, duplicate keys or deep nesting. Returns None at the first unusual thing, and
    ``yamlcareful.careful_build`` (which explains every problem with its position) reads the
    text instead. Both produce the same data for the texts this one accepts."""
    from ruamel.yaml.cyaml import CParser  # type: ignore[attr-defined]
    from ruamel.yaml.events import (
        DocumentEndEvent,
        DocumentStartEvent,
        MappingEndEvent,
        MappingStartEvent,
        ScalarEvent,
        SequenceEndEvent,
        SequenceStartEvent,
        StreamEndEvent,
        StreamStartEvent,
    )

    parser = CParser(text)
    try:
        get_event = parser.get_event
        documents: list[Document] = []
        shared: dict[int, Positions] = {}  # filled on first use, for every document at once
        stack: list[list[Any]] = []  # [container, pending key]
        root: dict[str, Any] | None = None
        start_line = 0
        no_key = _NO_KEY
        resolve = resolve_plain
        while True:
            event = get_event()
            if event is None:
                return documents or None
            cls = event.__class__
            if cls is ScalarEvent:
                if event.anchor is not None or event.tag is not None or not stack:
                    return None
                value = event.value
                top = stack[-1]
                container = top[0]
                if type(container) is dict:
                    key = top[1]
                    if key is no_key:
                        if value in container or value == "<<":
                            return None
                        top[1] = value
                        continue
                    container[key] = resolve(value) if not event.style else value
                    top[1] = no_key
                else:
                    container.append(resolve(value) if not event.style else value)
            elif cls is MappingStartEvent or cls is SequenceStartEvent:
                if event.anchor is not None or event.tag is not None or len(stack) >= MAX_DEPTH:
                    return None
                new: Any = {} if cls is MappingStartEvent else []
                if stack:
                    top = stack[-1]
                    container = top[0]
                    if type(container) is dict:
                        if top[1] is no_key:
                            return None
                        container[top[1]] = new
                        top[1] = no_key
                    else:
                        container.append(new)
                elif cls is MappingStartEvent:
                    root = new
                    start_line = event.start_mark.line
                else:
                    return None
                stack.append([new, no_key])
            elif cls is MappingEndEvent or cls is SequenceEndEvent:
                stack.pop()
            elif cls is DocumentEndEvent:
                if root is None:
                    return None
                index = len(documents)
                positions = Positions(text, index=index, shared=shared)
                documents.append(Document(file, index, root, start_line + 1, positions))
                root = None
            elif cls not in (StreamStartEvent, DocumentStartEvent, StreamEndEvent):
                return None  # an alias
    finally:
        parser.dispose()


_NO_KEY = object()


def dotted(path: Sequence[str | int]) -> str:
    """``("action", "build_deploy", "env_vars", 0)`` → ``action.build_deploy.env_vars[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
