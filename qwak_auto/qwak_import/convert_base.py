"""The converter's plumbing: reading an evaluated SDK call field by field.

Every keyword a call states is *taken* by the code that maps it; whatever is left when a call
is done is reported by name (an error: the SDK has no such field, or a warning where the
field exists but has no counterpart). So no stated value disappears silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from qwak_auto.automation.units import normalise_memory
from qwak_auto.qwak_import.evaluate import SdkCall, SdkEnum, Unknown
from qwak_auto.qwak_import.sdk import REPORTED, SDK_FIELDS


@dataclass(frozen=True, slots=True)
class Issue:
    line: int
    column: int
    path: str
    message: str
    hint: str
    warning: bool = False  # True: reported, the automation is still written


@dataclass(frozen=True, slots=True)
class SecretNotice:
    name: str  # the secret name written into the YAML
    path: str  # where it is used
    line: int
    what: str  # "Slack incoming-webhook URL", ...


@dataclass
class Conversion:
    doc: dict[str, Any] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    secrets: list[SecretNotice] = field(default_factory=list)


_SECRET_SAFE = re.compile(r"[^A-Za-z0-9_]+")
MISSING = object()  # a field the call does not state


def secret_name(automation: str, purpose: str) -> str:
    return _SECRET_SAFE.sub("_", f"{automation}_{purpose}").strip("_")[:128]


def text(value: Any) -> Any:
    """Numbers where the format types a string (thresholds, parameters) become strings."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    return value


def memory(value: Any) -> Any:
    """Qwak's memory spellings ("1024Mib") in the format's spelling ("1024Mi")."""
    if isinstance(value, str):
        return normalise_memory(value) or value
    return value


class Base:
    def __init__(self, root: SdkCall) -> None:
        self.root = root
        self.result = Conversion()
        self.automation_name = "automation"
        self._taken: dict[int, set[str]] = {}

    # ------------------------------------------------------------ reporting

    def issue(self, line: int, column: int, path: str, message: str, hint: str) -> None:
        self.result.issues.append(Issue(line, column, path, message, hint))

    def warn(self, call: SdkCall, path: str, message: str, hint: str) -> None:
        self.result.issues.append(Issue(call.line, call.column, path, message, hint, True))

    def unknown(self, value: Unknown, path: str) -> None:
        self.issue(value.line, value.column, path, f"cannot know {value.what}", value.hint)

    # ------------------------------------------------------------ values

    def plain(self, value: Any, path: str) -> Any:
        """A value with every Unknown reported (None for unknowns), enum members by name."""
        if isinstance(value, Unknown):
            self.unknown(value, path)
            return None
        if isinstance(value, list):
            items = [self.plain(v, f"{path}[{i}]") for i, v in enumerate(value)]
            return None if any(i is None for i in items) else items
        if isinstance(value, dict):
            out = {str(k): self.plain(v, f"{path}.{k}") for k, v in value.items()}
            return None if any(v is None for v in out.values()) else out
        if isinstance(value, SdkEnum):
            return value.member
        if isinstance(value, SdkCall):
            self.issue(
                value.line,
                value.column,
                path,
                f"{value.name}(...) is not expected here",
                "check the Qwak SDK signature of the enclosing call",
            )
            return None
        return value

    def take(self, call: SdkCall, key: str, path: str) -> Any:
        """The plain value of ``key`` as stated, or MISSING; the key counts as mapped."""
        self._taken.setdefault(id(call), set()).add(key)
        if key not in call.kwargs:
            return MISSING
        return self.plain(call.kwargs[key], f"{path}.{key}" if path else key)

    def take_raw(self, call: SdkCall, key: str) -> Any:
        """The evaluated value of ``key`` (an SdkCall stays one), or MISSING."""
        self._taken.setdefault(id(call), set()).add(key)
        return call.kwargs.get(key, MISSING)

    def put(self, out: dict[str, Any], key: str, value: Any) -> None:
        """Write what the file states (a default included); None and MISSING are absent."""
        if value is not MISSING and value is not None:
            out[key] = value

    def call(
        self, value: Any, path: str, expected: tuple[str, ...], parent: SdkCall
    ) -> SdkCall | None:
        """``value`` as one of the ``expected`` SDK calls; anything else is reported."""
        if value is MISSING or value is None:
            return None
        if isinstance(value, Unknown):
            self.unknown(value, path)
            return None
        if isinstance(value, SdkCall) and value.name in REPORTED:
            message, hint = REPORTED[value.name]
            self.issue(value.line, value.column, path, message, hint)
            return None
        if isinstance(value, SdkCall) and value.name in expected:
            for problem in value.problems:
                self.unknown(problem, path)
            return value
        got = value.name if isinstance(value, SdkCall) else type(value).__name__
        self.issue(
            parent.line,
            parent.column,
            path,
            f"expected {' or '.join(expected)}(...), found {got}",
            "use the Qwak SDK class the field expects",
        )
        return None

    def take_call(
        self, parent: SdkCall, key: str, path: str, expected: tuple[str, ...]
    ) -> SdkCall | None:
        """``key`` of ``parent`` as one of the ``expected`` SDK calls (the key counts as
        mapped); absent, or anything else (reported), is None."""
        return self.call(self.take_raw(parent, key), path, expected, parent)

    def done(self, call: SdkCall, path: str) -> None:
        """Report every keyword of ``call`` that nothing mapped."""
        taken = self._taken.get(id(call), set())
        for key in call.kwargs:
            if key in taken:
                continue
            where = f"{path}.{key}" if path else key
            if key not in SDK_FIELDS.get(call.name, ()):
                known = ", ".join(SDK_FIELDS.get(call.name, ())) or "none"
                self.issue(
                    call.line,
                    call.column,
                    where,
                    f"{call.name}(...) has no field `{key}` in the Qwak SDK",
                    f"its fields: {known}",
                )
            else:  # a bug guard: every SDK field has a mapping or a report
                self.issue(
                    call.line,
                    call.column,
                    where,
                    f"{call.name}(...).{key} is not mapped by auto import-qwak",
                    "report this; write the field in the YAML by hand",
                )
