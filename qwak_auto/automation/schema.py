"""Validate documents against ``schemas/automation.schema.json``; every error becomes a Problem
with the line:column of the offending value, the dotted field path, a message and a hint.

The explanations (the rule codes) are :mod:`qwak_auto.automation.schema_errors`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qwak_auto.automation.load import Document
from qwak_auto.automation.problems import Problem
from qwak_auto.automation.schema_errors import explain

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

SCHEMA_NAME = "automation.schema.json"


def schema_path() -> Path:
    """The schema file: the repository's ``schemas/`` in a checkout, else the packaged copy."""
    repo = Path(__file__).resolve().parents[2] / "schemas" / SCHEMA_NAME
    if repo.is_file():
        return repo
    from importlib import resources

    return Path(str(resources.files("qwak_auto") / "data" / SCHEMA_NAME))


@functools.cache
def load_schema() -> dict[str, Any]:
    with schema_path().open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


@functools.cache
def validator() -> Draft202012Validator:
    """Built once per process: building it is what costs, validating is cheap."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema())


@functools.cache
def quick_check() -> Callable[[Any], bool] | None:
    """The compiled yes/no check (see fastschema), or None if the schema needs jsonschema."""
    from qwak_auto.automation.fastschema import Unsupported, compile_schema

    try:
        return compile_schema(load_schema())
    except Unsupported:
        return None


def schema_problems(doc: Document) -> list[Problem]:
    quick = quick_check()
    if quick is not None and quick(doc.data):
        return []  # valid: jsonschema is only needed to explain errors
    problems: list[Problem] = []
    seen: set[tuple[str, str, str]] = set()
    for error in validator().iter_errors(doc.data):
        for problem in explain(doc, error):
            key = (problem.path, problem.code, problem.message)
            if key not in seen:
                seen.add(key)
                problems.append(problem)
    return problems
