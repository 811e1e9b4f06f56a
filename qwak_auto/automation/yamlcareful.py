"""The careful YAML builder: data, positions, and every hazard explained as a Problem.

It reads the parse events of libyaml (as :func:`qwak_auto.automation.yamldoc.fast_build` does) but
records where each value and each mapping key starts, and refuses, with the position and
field path: duplicate keys, nesting deeper than ``MAX_DEPTH``, aliases that would expand to
more than ``MAX_ALIAS_NODES`` values (counted, never expanded: an alias shares the anchored
object), recursive or undefined aliases, unsupported tags, complex keys, bad merge keys.
A hazard stops the file at once: libyaml's cost grows with the nesting it keeps open.
"""

from __future__ import annotations

from typing import Any

from qwak_auto.automation.problems import Problem
from qwak_auto.automation.yamldoc import (
    MAX_ALIAS_NODES,
    MAX_DEPTH,
    Document,
    JsonPath,
    Positions,
    Spot,
    _tagged,
    dotted,
    resolve_plain,
)

_NO_KEY = object()


class _Refused(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def careful_build(text: str, file: str, documents: list[Document], problems: list[Problem]) -> None:
    from ruamel.yaml.cyaml import CParser  # type: ignore[attr-defined]
    from ruamel.yaml.events import (
        AliasEvent,
        DocumentEndEvent,
        DocumentStartEvent,
        MappingEndEvent,
        MappingStartEvent,
        ScalarEvent,
        SequenceEndEvent,
        SequenceStartEvent,
    )

    parser = CParser(text)
    index = 0
    try:
        state = _DocState(text, file)
        while parser.check_event():
            event = parser.get_event()
            kind = type(event)
            if kind is DocumentStartEvent:
                state = _DocState(text, file)
                continue
            if kind is DocumentEndEvent:
                _finish(state, index, documents, problems)
                index += 1
                continue
            try:
                if kind is ScalarEvent:
                    state.scalar(event)
                elif kind is MappingStartEvent:
                    state.open(event, {})
                elif kind is SequenceStartEvent:
                    state.open(event, [])
                elif kind is MappingEndEvent or kind is SequenceEndEvent:
                    state.close()
                elif kind is AliasEvent:
                    state.alias(event)
            except _Refused as refused:
                # Stop reading this file: libyaml's cost grows with the nesting it keeps
                # (10,000 open brackets take seconds to scan), so a hazard ends the parse here.
                problems.append(refused.problem)
                return
    finally:
        parser.dispose()


def _finish(
    state: _DocState, index: int, documents: list[Document], problems: list[Problem]
) -> None:
    line = state.start_line + 1
    if state.root is None or state.root == "":
        problems.append(_empty_document(state.file, line))
        return
    if not isinstance(state.root, dict):
        kind = "a list" if isinstance(state.root, list) else "a single value"
        problems.append(
            Problem(
                file=state.file,
                line=line,
                column=state.start_column + 1,
                code="yaml.not-mapping",
                message=f"the document is {kind}, not a mapping of fields",
                hint="an automation is a mapping: `name: ...`, `model_id: ...`, `trigger: ...`; "
                "write several automations as documents separated by `---`, not as a list",
            )
        )
        return
    positions = Positions(state.text, state.values, state.keys, index)
    documents.append(Document(state.file, index, state.root, line, positions))


class _Frame:
    __slots__ = (
        "anchor",
        "container",
        "count",
        "key",
        "key_spot",
        "merges",
        "path",
        "seen",
        "spot",
    )

    def __init__(self, container: Any, path: JsonPath, anchor: str | None, spot: Spot) -> None:
        self.container = container
        self.spot = spot
        self.path = path
        self.anchor = anchor
        self.key: Any = _NO_KEY
        self.key_spot: Spot | None = None
        self.count = 1
        self.merges: list[tuple[Any, Spot]] | None = None
        self.seen: dict[str, int] | None = {} if isinstance(container, dict) else None


class _DocState:
    """The event-by-event construction of one document."""

    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file
        self.stack: list[_Frame] = []
        self.root: Any = None
        self.values: dict[JsonPath, Spot] = {}
        self.keys: dict[JsonPath, Spot] = {}
        self.anchors: dict[str, tuple[Any, int]] = {}  # anchor -> (value, node count)
        self.open_anchors: set[str] = set()
        self.expanded = 0
        self.start_line = -1
        self.start_column = 0

    # -- helpers
    def _problem(self, spot: Spot, code: str, message: str, hint: str, path: JsonPath = ()) -> None:
        raise _Refused(
            Problem(
                file=self.file,
                line=spot.line + 1,
                column=spot.column + 1,
                path=dotted(path),
                code=code,
                message=message,
                hint=hint,
            )
        )

    def _spot(self, event: Any, scalar: bool) -> Spot:
        start = event.start_mark
        end = event.end_mark.index if scalar else -1
        return Spot(start.line, start.column, start.index, end)

    def _place(self, value: Any, spot: Spot, count: int, is_key_capable: bool) -> JsonPath | None:
        """Put a finished value into the open collection (or make it the root)."""
        if self.start_line < 0:
            self.start_line, self.start_column = spot.line, spot.column
        if not self.stack:
            self.root = value
            self.values[()] = spot
            return ()
        frame = self.stack[-1]
        frame.count += count
        container = frame.container
        if frame.seen is None:
            path = (*frame.path, len(container))
            container.append(value)
            self.values[path] = spot
            return path
        if frame.key is _NO_KEY:
            if not is_key_capable:
                self._problem(
                    spot,
                    "yaml.complex-key",
                    "a mapping key must be a plain value, not a list or mapping",
                    "write the key as text",
                    frame.path,
                )
            frame.key = value
            frame.key_spot = spot
            return None
        key, key_spot = frame.key, frame.key_spot
        assert key_spot is not None
        frame.key = _NO_KEY
        if key == "<<" and self.text[key_spot.start : key_spot.start + 2] == "<<":
            frame.merges = frame.merges or []
            frame.merges.append((value, spot))
            return None
        path = (*frame.path, key)
        first = frame.seen.get(key)
        if first is not None:
            self._problem(
                key_spot,
                "yaml.duplicate-key",
                f"the key `{key}` appears twice in this mapping (first on line {first})",
                "keep one of them: YAML would silently use only the last",
                path,
            )
        frame.seen[key] = key_spot.line + 1
        container[key] = value
        self.values[path] = spot
        self.keys[path] = key_spot
        return path

    # -- events
    def scalar(self, event: Any) -> None:
        spot = self._spot(event, True)
        value: Any = event.value
        tag = event.tag
        frame = self.stack[-1] if self.stack else None
        if frame is not None and frame.seen is not None and frame.key is _NO_KEY:
            # Keys are text, as in JSON: `1: x` has the key "1" exactly as written.
            pass
        elif tag is not None and tag != "!":
            try:
                value = _tagged(tag, value)
            except ValueError:
                self._problem(
                    spot,
                    "yaml.tag",
                    f"the tag `{tag}` is not supported here",
                    "remove the tag; write plain values",
                    self._path_here(),
                )
        elif event.style in ("", None) and tag is None:
            value = resolve_plain(value)
        self._place(value, spot, 1, True)
        if event.anchor is not None:
            self.anchors[event.anchor] = (value, 1)

    def _path_here(self) -> JsonPath:
        if not self.stack:
            return ()
        frame = self.stack[-1]
        if frame.seen is None:
            return (*frame.path, len(frame.container))
        if frame.key is _NO_KEY:
            return frame.path
        return (*frame.path, frame.key)

    def open(self, event: Any, container: Any) -> None:
        spot = self._spot(event, False)
        if self.start_line < 0:
            self.start_line, self.start_column = spot.line, spot.column
        tag = event.tag
        if tag is not None and tag not in ("!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"):
            self._problem(
                spot,
                "yaml.tag",
                f"the tag `{tag}` is not supported here",
                "remove the tag",
                self._path_here(),
            )
        if len(self.stack) >= MAX_DEPTH:
            self._problem(
                spot,
                "yaml.too-deep",
                f"the nesting is deeper than {MAX_DEPTH} levels",
                "an automation nests a few levels; check the structure",
            )
        path = self._path_here()
        self.stack.append(_Frame(container, path, event.anchor, spot))
        if event.anchor is not None:
            self.open_anchors.add(event.anchor)

    def close(self) -> None:
        frame = self.stack.pop()
        container = frame.container
        if frame.merges:
            self._merge(frame)
        spot = frame.spot
        if frame.anchor is not None:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = (container, frame.count)
        self._place(container, spot, frame.count, False)

    def alias(self, event: Any) -> None:
        spot = self._spot(event, True)
        anchor = event.anchor
        if anchor in self.open_anchors:
            self._problem(
                spot,
                "yaml.recursive-alias",
                f"the alias *{anchor} refers to the collection that contains it",
                "an automation cannot contain itself; remove the alias",
                self._path_here(),
            )
        target = self.anchors.get(anchor)
        if target is None:
            self._problem(
                spot,
                "yaml.alias",
                f"the alias *{anchor} has no anchor &{anchor} before it",
                "define the anchor before using it",
                self._path_here(),
            )
        assert target is not None
        value, count = target
        self.expanded += count
        if self.expanded > MAX_ALIAS_NODES:
            self._problem(
                spot,
                "yaml.alias-bomb",
                f"aliases expand to more than {MAX_ALIAS_NODES} values",
                'this looks like an alias bomb ("billion laughs"); write the values out or '
                "use fewer aliases",
                self._path_here(),
            )
        self._place(value, spot, count, not isinstance(value, dict | list))

    def _merge(self, frame: _Frame) -> None:
        container = frame.container
        assert frame.merges is not None
        for value, spot in frame.merges:
            sources = value if isinstance(value, list) else [value]
            for source in sources:
                if not isinstance(source, dict):
                    self._problem(
                        spot,
                        "yaml.merge",
                        "a merge key `<<` takes a mapping or a list of mappings",
                        "point `<<` at an anchored mapping: `<<: *defaults`",
                        frame.path,
                    )
                for key, item in source.items():
                    if key not in container:
                        container[key] = item
                        self.values.setdefault((*frame.path, key), spot)


def _empty_document(file: str, line: int) -> Problem:
    return Problem(
        file=file,
        line=line,
        column=1,
        code="yaml.empty",
        message="this document is empty",
        hint="remove the extra `---` separator or write an automation here",
    )
