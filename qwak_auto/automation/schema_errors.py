"""Explain one JSON Schema error as Problems: the line:column of the offending value, the
dotted field path, a message and a hint (:func:`explain`, used by
:func:`qwak_auto.automation.schema.schema_problems`).

Rule codes: ``schema.type``, ``schema.unknown-key``, ``schema.required``, ``schema.enum``,
``schema.pattern``, ``schema.length``, ``schema.range``, ``schema.one-of``, ``schema.invalid``.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from qwak_auto.automation.load import Document, JsonPath
from qwak_auto.automation.problems import Problem

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

# Qwak SDK keywords whose file spelling differs: the hint names the right key.
QWAK_ALIASES = {
    "is_enabled": "enabled",
    "deployment_timeout": "deployment_process_timeout_limit",
    "gpu": "gpu_resources",
    "schedule": "scheduled",
    "cron_expression": "cron",
}
_KIND = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "empty",
}


def _describe(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _name(path: JsonPath) -> str:
    for part in reversed(path):
        if isinstance(part, str):
            return part
    return "document"


def _quoted(raw: str) -> str:
    if '"' not in raw and "\\" not in raw:
        return f'"{raw}"'
    return "'" + raw.replace("'", "''") + "'"


def _inline(value: Any) -> str:
    """A value as a YAML flow snippet for a hint (JSON is valid YAML)."""
    if isinstance(value, str):
        return value if value.replace("_", "").isalnum() else json.dumps(value)
    return json.dumps(value)


def _safe(value: Any) -> str:
    """A value fit for a message: never a credential (URLs with user-info are masked)."""
    from qwak_auto.automation.checks import mask_url

    text = str(value)
    if "://" in text or "@" in text:
        return mask_url(text)
    if len(text) > 60:
        return text[:57] + "..."
    return text


def _sch(error: ValidationError) -> dict[str, Any]:
    return error.schema if isinstance(error.schema, dict) else {}


def _vv(error: ValidationError) -> Any:
    return error.validator_value


def explain(doc: Document, error: ValidationError) -> Iterator[Problem]:
    path: JsonPath = tuple(error.absolute_path)
    kind = error.validator
    handler = _HANDLERS.get(str(kind))
    if handler is not None:
        yield from handler(doc, path, error)
        return
    yield doc.problem(path, "schema.invalid", f"`{_name(path)}`: {error.message}")


def _type(doc: Document, path: JsonPath, error: ValidationError) -> Iterator[Problem]:
    expected = _vv(error)
    wanted = [expected] if isinstance(expected, str) else list(expected)
    value = error.instance
    name = _name(path)
    want = " or ".join(_KIND.get(w, w) for w in wanted)
    got = _describe(value)
    hint = ""
    if "string" in wanted and isinstance(value, bool | int | float):
        raw = doc.positions.raw(path) or json.dumps(value)
        fix = _quoted(raw)
        keyed = bool(path) and isinstance(path[-1], str)
        hint = f"quote it: {name}: {fix}" if keyed else f"quote it: {fix}"
        message = f"`{name}` must be a string, not {got}"
        if raw != str(value).lower() and str(value) != raw:
            message += f" (YAML reads {raw} as {value!r})"
        yield doc.problem(path, "schema.type", message, hint)
        return
    if value is None and "object" in wanted:
        hint = f"write `{name}: {{}}` for an empty mapping, or fill it in"
    elif value is None and "array" in wanted:
        hint = f"write `{name}: []` for an empty list, or fill it in"
    elif value is None and "string" in wanted:
        hint = f'write `{name}: ""` for an empty string, or remove the line'
    elif isinstance(value, str) and {"integer", "number"} & set(wanted):
        hint = f"write the number without quotes: {name}: {value.strip()}"
    elif "array" in wanted and not isinstance(value, list):
        hint = f"write a list: {name}: [{_safe(value)}]" if isinstance(value, str) else ""
    yield doc.problem(path, "schema.type", f"`{name}` must be {want}, not {got}", hint)


def _unknown(doc: Document, path: JsonPath, error: ValidationError) -> Iterator[Problem]:
    instance = error.instance
    known = sorted(_sch(error).get("properties", {}))
    patterns = _sch(error).get("patternProperties", {})
    if not isinstance(instance, dict):
        return
    import re

    for key in instance:
        if key in known or any(re.search(p, key) for p in patterns):
            continue
        alias = QWAK_ALIASES.get(key)
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        if alias in known:
            hint = f"did you mean `{alias}`? (the Qwak SDK's `{key}` is spelled `{alias}` here)"
        elif close:
            hint = f"did you mean `{close[0]}`?"
        else:
            hint = "known keys here: " + ", ".join(known)
        where = f" in `{_name(path)}`" if path else ""
        message = f"unknown key `{key}`{where}"
        at = doc.positions.key((*path, key))
        yield doc.problem((*path, key), "schema.unknown-key", message, hint, at=at)


def _required(doc: Document, path: JsonPath, error: ValidationError) -> Iterator[Problem]:
    instance = error.instance if isinstance(error.instance, dict) else {}
    properties = _sch(error).get("properties", {})
    for field in _vv(error):
        if field in instance:
            continue
        examples = properties.get(field, {}).get("examples") or []
        sample = f"{field}: {_inline(examples[0])}" if examples else f"{field}: ..."
        where = f"under `{_name(path)}`" if path else "at the top of the document"
        hint = f"add `{sample}` {where}"
        at = doc.positions.key(path) if path else doc.positions.value(path)
        message = f"the required field `{field}` is missing"
        yield doc.problem((*path, field), "schema.required", message, hint, at=at)


def _enum(doc: Document, path: JsonPath, error: ValidationError) -> Iterator[Problem]:
    allowed = [str(v) for v in _vv(error)]
    value = error.instance
    name = _name(path)
    hint = ""
    if isinstance(value, str):
        exact = [a for a in allowed if a.lower() == value.lower()]
        close = exact or difflib.get_close_matches(value, allowed, n=1, cutoff=0.6)
        if close:
            hint = f"did you mean `{close[0]}`?"
    message = f"`{name}` must be one of {', '.join(allowed)}, not `{_safe(value)}`"
    yield doc.problem(path, "schema.enum", message, hint)


def _pattern(doc: Document, path: JsonPath, error: ValidationError) -> Iterator[Problem]:
    from qwak_auto.automation.casenames import names_of

    name = _name(path)
    allowed = names_of(str(_vv(error)))
    if allowed is not None:
        value = error.instance
        close = difflib.get_close_matches(str(value).lower(), allowed, n=1, cutoff=0.6)
        message = f"`{name}` must be one of {', '.join(allowed)} (any case), not `{_safe(value)}`"
        hint = f"did you mean `{close[0]}`?" if close else ""
        yield doc.problem(path, "schema.enum", message, hint)
        return
    if name == "secret_headers":  # propertyNames: a header name
        yield doc.problem(
            path,
            "schema.pattern",
            f"`{_safe(error.instance)}` is not a valid HTTP header name",
            "use letters, digits and `-` (e.g. `Authorization`, `X-Api-Key`)",
        )
        return
    if name.endswith(("_secret", "_secret_name")) or "secret_headers" in path[:-1]:
        # Never echo what was written: it may be the secret itself.
        yield doc.problem(
            path,
            "schema.pattern",
            f"`{name}` is not a valid secret name",
            "a secret NAME: a letter or `_`, then letters, digits, `_`, `.` or `-`",
        )
        return
    value = _safe(error.instance)
    hint = f"it must match {_vv(error)}"
    if name in ("name", "model_id"):
        hint = "use 1-63 letters, digits, `_` or `-`"
    yield doc.problem(path, "schema.pattern", f"`{value}` is not a valid {name}", hint)


def _length(doc: Document, path: JsonPath, error: ValidationError) -> Iterator[Problem]:
    name, limit = _name(path), _vv(error)
    if error.validator == "minLength" and limit == 1:
        message, hint = f"`{name}` must not be empty", f"give `{name}` a value or remove it"
    elif error.validator == "minLength":
        message, hint = f"`{name}` must have at least {limit} characters", ""
    else:
        message = f"`{name}` must have at most {limit} characters"
        hint = f"shorten it to {limit} characters"
    yield doc.problem(path, "schema.length", message, hint)


def _range(doc: Document, path: JsonPath, error: ValidationError) -> Iterator[Problem]:
    name, limit, value = _name(path), _vv(error), error.instance
    words = {
        "minimum": "at least",
        "maximum": "at most",
        "exclusiveMinimum": "greater than",
        "exclusiveMaximum": "less than",
    }
    message = f"`{name}` must be {words[str(error.validator)]} {limit}, not {value}"
    yield doc.problem(path, "schema.range", message, "")


def _items(doc: Document, path: JsonPath, error: ValidationError) -> Iterator[Problem]:
    name, limit = _name(path), _vv(error)
    if error.validator in ("minProperties", "maxProperties"):
        yield from _count_properties(doc, path, error)
        return
    word = "at least" if error.validator == "minItems" else "at most"
    yield doc.problem(path, "schema.length", f"`{name}` must have {word} {limit} items", "")


def _count_properties(doc: Document, path: JsonPath, error: ValidationError) -> Iterator[Problem]:
    name = _name(path)
    choices = sorted(_sch(error).get("properties", {}), key=_schema_order(_sch(error)))
    given = list(error.instance) if isinstance(error.instance, dict) else []
    if _sch(error).get("minProperties") == 1 == _sch(error).get("maxProperties"):
        add = f"add one, e.g. `{choices[0]}:`"
        yield _takes_one_of(doc, path, "exactly", choices, given, add)
        return
    word = "at least" if error.validator == "minProperties" else "at most"
    message = f"`{name}` must have {word} {_vv(error)} fields"
    yield doc.problem(path, "schema.length", message, "")


def _takes_one_of(
    doc: Document,
    path: JsonPath,
    exactly: str,
    choices: Sequence[str],
    given: Sequence[str],
    add: str,
) -> Problem:
    """``path`` takes ``exactly`` (or "at least") one of ``choices``; ``given`` are the ones
    the file has, ``add`` the hint when it has none."""
    message = f"`{_name(path)}` takes {exactly} one of {', '.join(choices)}"
    if given:
        message += f" (found {len(given)}: {', '.join(given)})"
    hint = f"keep one of {', '.join(given)}" if given else add
    return doc.problem(path, "schema.one-of", message, hint)


def _schema_order(schema: dict[str, Any]) -> Any:
    order = list(schema.get("properties", {}))
    return order.index


def _branch_keys(branches: Sequence[Any]) -> list[str] | None:
    """For ``oneOf: [{required: [a]}, {required: [b]}]``: [a, b]; else None."""
    keys: list[str] = []
    for branch in branches:
        if not isinstance(branch, dict) or set(branch) != {"required"}:
            return None
        if len(branch["required"]) != 1:
            return None
        keys.append(branch["required"][0])
    return keys


def _one_of(doc: Document, path: JsonPath, error: ValidationError) -> Iterator[Problem]:
    keys = _branch_keys(_vv(error))
    name = _name(path)
    if keys is not None and isinstance(error.instance, dict):
        given = [k for k in keys if k in error.instance]
        exactly = "exactly" if error.validator == "oneOf" else "at least"
        add = f"add `{keys[0]}` or `{keys[-1]}`"
        yield _takes_one_of(doc, path, exactly, keys, given, add)
        return
    from jsonschema.exceptions import best_match

    best = best_match(error.context or [])
    if best is not None and best is not error:
        yield from explain(doc, best)
        return
    yield doc.problem(path, "schema.one-of", f"`{name}` matches none of its allowed forms")


def _const(doc: Document, path: JsonPath, error: ValidationError) -> Iterator[Problem]:
    name = _name(path)
    message = f"`{name}` must be {_vv(error)!r}, not `{_safe(error.instance)}`"
    yield doc.problem(path, "schema.enum", message)


_HANDLERS: dict[str, Any] = {
    "type": _type,
    "additionalProperties": _unknown,
    "required": _required,
    "enum": _enum,
    "const": _const,
    "pattern": _pattern,
    "minLength": _length,
    "maxLength": _length,
    "minimum": _range,
    "maximum": _range,
    "exclusiveMinimum": _range,
    "exclusiveMaximum": _range,
    "minItems": _items,
    "maxItems": _items,
    "minProperties": _items,
    "maxProperties": _items,
    "oneOf": _one_of,
    "anyOf": _one_of,
}
