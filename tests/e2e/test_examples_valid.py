"""Every automation in examples/ is valid against the schema, looks like a real team's file,
and together they cover the format (the CLI-level checks live with `auto validate`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from qwak_auto.automation.model import from_document

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SCHEMA = json.loads((ROOT / "schemas" / "automation.schema.json").read_text(encoding="utf-8"))
FILES = sorted(EXAMPLES.glob("*.yaml"))
EDITOR_LINE = "# yaml-language-server: $schema=../schemas/automation.schema.json"


def documents(path: Path) -> list[Any]:
    return list(YAML(typ="safe", pure=True).load_all(path.read_text(encoding="utf-8")))


ALL = [(path, i, doc) for path in FILES for i, doc in enumerate(documents(path))]


def test_there_are_at_least_ten_example_files() -> None:
    assert len(FILES) >= 10


@pytest.mark.parametrize(("path", "index", "doc"), ALL, ids=[f"{p.name}#{i}" for p, i, _ in ALL])
def test_example_document_is_valid(path: Path, index: int, doc: Any) -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = [
        f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in validator.iter_errors(doc)
    ]
    assert not errors, f"{path.name} document {index}: {errors}"
    from_document(doc)  # the typed model accepts it too


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_example_file_points_editors_at_the_schema(path: Path) -> None:
    assert path.read_text(encoding="utf-8").splitlines()[0] == EDITOR_LINE


def test_names_are_unique_across_the_examples() -> None:
    names = [doc["name"] for _, _, doc in ALL]
    assert len(names) == len(set(names))


def test_no_credentials_in_examples() -> None:
    for path, _, doc in ALL:
        uri = doc["action"]["build_deploy"]["build_spec"]["git_uri"]
        if uri.startswith(("http://", "https://")):
            assert "@" not in uri.split("#")[0], path.name
        text = path.read_text(encoding="utf-8")
        assert "hooks.slack.com" not in text, path.name


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, f"{path}[]")


def _has(predicate: Any) -> bool:
    return any(predicate(path, value) for _, _, doc in ALL for path, value in _walk(doc))


BM = "action.build_deploy.deployment_condition.build_metric"
DS = "action.build_deploy.deployment_spec"
COVERAGE = {
    "cron with timezone": lambda p, v: p == "trigger.scheduled" and {"cron", "timezone"} <= set(v),
    "interval": lambda p, v: p == "trigger.scheduled.interval" and v[0].isdigit(),
    "named interval": lambda p, v: (
        p == "trigger.scheduled.interval" and v.lower() in {"hourly", "daily", "weekly"}
    ),
    "metric_based with extensions": lambda p, v: (
        p == "trigger.metric_based" and {"for", "cool_down", "on_no_data"} <= set(v)
    ),
    "none trigger": lambda p, v: p == "trigger.none",
    "on_boarding trigger": lambda p, v: p == "trigger.on_boarding",
    "execute_immediately": lambda p, v: p == "execute_immediately" and v is True,
    "disabled": lambda p, v: p == "enabled" and v is False,
    "static threshold": lambda p, v: p == f"{BM}.threshold" and v.replace(".", "").isdigit(),
    "dynamic threshold": lambda p, v: (
        p == f"{BM}.threshold" and v.lstrip().upper().startswith(("SELECT", "WITH"))
    ),
    "compare_to deployed": lambda p, v: p == f"{BM}.compare_to" and v == "deployed",
    "gpu build": lambda p, v: p == "action.build_deploy.build_spec.resources.gpu",
    "gpu deployment": lambda p, v: p == f"{DS}.gpu_resources",
    "autoscaling with several triggers": lambda p, v: (
        p == f"{DS}.auto_scale_config.triggers" and len(v) >= 2
    ),
    "slack": lambda p, v: p.endswith(".slack.webhook_secret"),
    "webhook": lambda p, v: p.endswith(".webhook.url"),
    "signed webhook": lambda p, v: p.endswith(".webhook.signing_secret"),
    "on_not_deployed": lambda p, v: p == "on_not_deployed",
    "on_start": lambda p, v: p == "on_start",
    "requires_approval": lambda p, v: p == "action.build_deploy.requires_approval" and v is True,
    "on_approval_needed": lambda p, v: p == "on_approval_needed",
    "environments": lambda p, v: p == f"{DS}.environments",
    "top-level environment": lambda p, v: p == "environment",
    "variation": lambda p, v: p == f"{DS}.variation_name" and v != "default",
    "env_vars": lambda p, v: p.endswith(".env_vars"),
    "parameters": lambda p, v: p == "action.build_deploy.build_spec.parameters",
    "ssh git uri": lambda p, v: (
        p == "action.build_deploy.build_spec.git_uri" and v.startswith("git@")
    ),
}


@pytest.mark.parametrize("feature", COVERAGE)
def test_examples_cover(feature: str) -> None:
    assert _has(COVERAGE[feature]), f"no example shows {feature}"


def test_an_example_file_holds_several_documents() -> None:
    assert any(len(documents(path)) > 1 for path in FILES)
