"""A fast yes/no check of a document against the JSON Schema.

jsonschema explains errors well but walks every keyword through a generic machinery; on a
valid ~60-line automation that is most of ``auto validate``'s time. This module compiles the
schema once into nested closures that only answer "valid?". A valid document (the common
case) never reaches jsonschema; an invalid one is handed to jsonschema, which says why.

It supports the keywords the automation schema uses, with jsonschema's Draft 2020-12
semantics (``integer`` accepts 2.0, booleans are not numbers, ``pattern`` is ``re.search``).
A schema with any other assertion keyword makes :func:`compile_schema` raise
:class:`Unsupported`, and the caller then uses jsonschema alone. A property test checks
that both agree (tests/unit/spec/test_schema_errors.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

# Keywords that assert nothing (annotations, containers of subschemas reached by $ref).
_IGNORED = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "title",
        "description",
        "default",
        "examples",
        "definitions",
        "$defs",
        "deprecated",
        "readOnly",
        "writeOnly",
        "format",  # not asserted: jsonschema runs without a format checker here
        "markdownDescription",
    }
)


class Unsupported(Exception):
    """The schema uses a keyword this compiler does not implement."""


def _is_type(value: Any, name: str) -> bool:
    if name == "string":
        return isinstance(value, str)
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if name == "number":
        return isinstance(value, int | float)
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    raise Unsupported(f"type {name!r}")


def _equal(a: Any, b: Any) -> bool:
    """jsonschema's equality: True is not 1, and containers compare item by item."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if isinstance(a, str) or isinstance(b, str):
        return bool(a == b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return bool(a == b)


class _Compiler:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}

    def ref(self, pointer: str) -> Check:
        if pointer in self.refs:
            return self.refs[pointer]
        if not pointer.startswith("#/"):
            raise Unsupported(f"$ref {pointer!r}")
        target: Any = self.root
        for part in pointer[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        slot: list[Check] = []
        self.refs[pointer] = lambda value: slot[0](value)  # recursion-safe placeholder
        slot.append(self.compile(target))
        return self.refs[pointer]

    def compile(self, schema: Any) -> Check:
        if schema is True or schema is False:
            verdict: bool = schema
            return lambda _value: verdict
        if not isinstance(schema, dict):
            raise Unsupported("schema is not an object")
        checks: list[Check] = []
        for keyword, arg in schema.items():
            if keyword in _IGNORED:
                continue
            maker = getattr(self, "k_" + keyword.lstrip("$"), None)
            if maker is None:
                raise Unsupported(keyword)
            check = maker(arg, schema)
            if check is not None:
                checks.append(check)
        if not checks:
            return lambda _value: True
        if len(checks) == 1:
            return checks[0]
        return lambda value: all(check(value) for check in checks)

    # -- keywords
    def k_ref(self, arg: str, _schema: Any) -> Check:
        return self.ref(arg)

    def k_type(self, arg: Any, _schema: Any) -> Check:
        names = [arg] if isinstance(arg, str) else list(arg)
        for name in names:
            _is_type(None, name)  # raises for unknown type names
        if names == ["string"]:
            return lambda value: isinstance(value, str)
        if names == ["object"]:
            return lambda value: isinstance(value, dict)
        return lambda value: any(_is_type(value, name) for name in names)

    def k_enum(self, arg: list[Any], _schema: Any) -> Check:
        strings = frozenset(a for a in arg if isinstance(a, str))
        others = [a for a in arg if not isinstance(a, str)]

        def check(value: Any) -> bool:
            if isinstance(value, str):
                return value in strings
            return any(_equal(value, a) for a in others)

        return check

    def k_const(self, arg: Any, _schema: Any) -> Check:
        return lambda value: _equal(value, arg)

    def k_pattern(self, arg: str, _schema: Any) -> Check:
        search = re.compile(arg).search
        return lambda value: not isinstance(value, str) or search(value) is not None

    def k_minLength(self, arg: int, _schema: Any) -> Check:
        return lambda value: not isinstance(value, str) or len(value) >= arg

    def k_maxLength(self, arg: int, _schema: Any) -> Check:
        return lambda value: not isinstance(value, str) or len(value) <= arg

    @staticmethod
    def _number(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    def k_minimum(self, arg: float, _schema: Any) -> Check:
        return lambda value: not self._number(value) or value >= arg

    def k_maximum(self, arg: float, _schema: Any) -> Check:
        return lambda value: not self._number(value) or value <= arg

    def k_exclusiveMinimum(self, arg: float, _schema: Any) -> Check:
        return lambda value: not self._number(value) or value > arg

    def k_exclusiveMaximum(self, arg: float, _schema: Any) -> Check:
        return lambda value: not self._number(value) or value < arg

    def k_required(self, arg: list[str], _schema: Any) -> Check:
        names = tuple(arg)
        return lambda value: not isinstance(value, dict) or all(n in value for n in names)

    def k_minProperties(self, arg: int, _schema: Any) -> Check:
        return lambda value: not isinstance(value, dict) or len(value) >= arg

    def k_maxProperties(self, arg: int, _schema: Any) -> Check:
        return lambda value: not isinstance(value, dict) or len(value) <= arg

    def k_minItems(self, arg: int, _schema: Any) -> Check:
        return lambda value: not isinstance(value, list) or len(value) >= arg

    def k_maxItems(self, arg: int, _schema: Any) -> Check:
        return lambda value: not isinstance(value, list) or len(value) <= arg

    def k_uniqueItems(self, arg: bool, _schema: Any) -> Check | None:
        if not arg:
            return None

        def check(value: Any) -> bool:
            if not isinstance(value, list):
                return True
            return not any(_equal(a, b) for i, a in enumerate(value) for b in value[i + 1 :])

        return check

    def k_items(self, arg: Any, _schema: Any) -> Check:
        item = self.compile(arg)
        return lambda value: not isinstance(value, list) or all(item(v) for v in value)

    def k_properties(self, arg: Mapping[str, Any], _schema: Any) -> Check:
        compiled = {name: self.compile(sub) for name, sub in arg.items()}

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for name, item in value.items():
                sub = compiled.get(name)
                if sub is not None and not sub(item):
                    return False
            return True

        return check

    def k_patternProperties(self, arg: Mapping[str, Any], _schema: Any) -> Check:
        compiled = [(re.compile(p).search, self.compile(sub)) for p, sub in arg.items()]

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            return all(
                sub(item)
                for key, item in value.items()
                for search, sub in compiled
                if search(key) is not None
            )

        return check

    def k_additionalProperties(self, arg: Any, schema: Mapping[str, Any]) -> Check:
        known = frozenset(schema.get("properties", {}))
        patterns = [re.compile(p).search for p in schema.get("patternProperties", {})]
        extra = self.compile(arg)

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for key, item in value.items():
                if key in known or any(search(key) for search in patterns):
                    continue
                if not extra(item):
                    return False
            return True

        return check

    def k_allOf(self, arg: list[Any], _schema: Any) -> Check:
        subs = [self.compile(sub) for sub in arg]
        return lambda value: all(sub(value) for sub in subs)

    def k_anyOf(self, arg: list[Any], _schema: Any) -> Check:
        subs = [self.compile(sub) for sub in arg]
        return lambda value: any(sub(value) for sub in subs)

    def k_oneOf(self, arg: list[Any], _schema: Any) -> Check:
        subs = [self.compile(sub) for sub in arg]
        return lambda value: sum(1 for sub in subs if sub(value)) == 1

    def k_if(self, arg: Any, schema: Mapping[str, Any]) -> Check:
        condition = self.compile(arg)
        then = self.compile(schema.get("then", True))
        otherwise = self.compile(schema.get("else", True))
        return lambda value: then(value) if condition(value) else otherwise(value)

    def k_then(self, _arg: Any, _schema: Any) -> None:
        return None  # part of `if`; alone it asserts nothing

    def k_else(self, _arg: Any, _schema: Any) -> None:
        return None  # part of `if`; alone it asserts nothing

    def k_propertyNames(self, arg: Any, _schema: Any) -> Check:
        sub = self.compile(arg)
        return lambda value: not isinstance(value, dict) or all(sub(key) for key in value)

    def k_dependentRequired(self, arg: Mapping[str, list[str]], _schema: Any) -> Check:
        rules = [(name, tuple(needed)) for name, needed in arg.items()]

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            return all(all(n in value for n in needed) for name, needed in rules if name in value)

        return check

    def k_not(self, arg: Any, _schema: Any) -> Check:
        sub = self.compile(arg)
        return lambda value: not sub(value)


def compile_schema(schema: Mapping[str, Any]) -> Check:
    """A function ``document -> bool`` equal to ``jsonschema.Draft202012Validator.is_valid``."""
    return _Compiler(schema).compile(schema)
