"""The generated automation reference: complete, deterministic, and committed up to date."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from qwak_auto.docgen import schema_ref as docsgen

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "reference" / "automation.md"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return docsgen.load_schema()


@pytest.fixture(scope="module")
def rendered(schema: dict[str, Any]) -> str:
    return docsgen.render_schema_reference(schema)


def test_committed_reference_is_up_to_date(rendered: str) -> None:
    assert COMMITTED.exists(), "docs/reference/automation.md is missing: run `make docs`"
    committed = COMMITTED.read_text(encoding="utf-8")
    assert committed == rendered, (
        "docs/reference/automation.md is stale (the schema changed): run `make docs` "
        "and commit the result"
    )


def test_rendering_is_deterministic_and_does_not_change_the_schema(schema: dict[str, Any]) -> None:
    before = copy.deepcopy(schema)
    first = docsgen.render_schema_reference(schema)
    assert docsgen.render_schema_reference(json.loads(json.dumps(schema))) == first
    assert schema == before


def _field_paths(schema: dict[str, Any], node: dict[str, Any], path: str = "") -> list[str]:
    out = []
    for name, raw in node.get("properties", {}).items():
        child = dict(raw)
        for item in raw.get("allOf", ()):
            child = {**schema["definitions"][item["$ref"].split("/")[-1]], **child}
        child_path = f"{path}.{name}" if path else name
        out.append(child_path)
        if child.get("type") == "object":
            out += _field_paths(schema, child, child_path)
        elif child.get("type") == "array" and child.get("items", {}).get("type") == "object":
            out += _field_paths(schema, child["items"], f"{child_path}[]")
    return out


def test_every_field_of_the_first_use_has_a_row(schema: dict[str, Any], rendered: str) -> None:
    rows = {
        line.split("|")[1].strip().strip("`")
        for line in rendered.splitlines()
        if line.startswith("| `")
    }
    paths = _field_paths(schema, schema)
    # Shared blocks have one section, at their first use: the five notification blocks
    # (under on_success) and the GPU resources (under the build's resources.gpu).
    shared = (
        "on_error.",
        "on_not_deployed.",
        "on_start.",
        "on_approval_needed.",
        "action.build_deploy.deployment_spec.gpu_",
    )
    missing = [p for p in paths if p not in rows and not p.startswith(shared)]
    assert not missing
    assert (
        "The same fields apply to `on_success`, `on_error`, `on_not_deployed`, `on_start`, "
        "`on_approval_needed`." in rendered
    )


@pytest.mark.parametrize(
    "text",
    [
        "## `action.build_deploy.deployment_condition.build_metric`",
        "| `action.build_deploy.deployment_condition.build_metric.threshold` | string",
        "`NVIDIA_A10G`",
        "one of `ABOVE`, `BELOW`, `EQUALS`, `ABOVE_OR_EQUALS`, `BELOW_OR_EQUALS`",
        "one of `cpu`, `gpu`, `memory`, `latency`, `error_rate`, `throughput` (any case)",
        "mapping of string to string ([secretName](#type-secretname))",
        "`NVIDIA_H100_NVL`",
        "`p99`",
        "Exactly one of `cron`, `interval`.",
        "Exactly one of `scheduled`, `metric_based`, `none`, `on_boarding`.",
        "Exactly one of `cpu`, `gpu`, `instance`.",
        "| `action.build_deploy.deployment_spec.number_of_pods` | integer (≥ 1) | no | `2` |",
        "# yaml-language-server: $schema=",
        "AUTO_SECRET_&lt;NAME>",
    ],
)
def test_reference_shows(rendered: str, text: str) -> None:
    assert text in rendered


def test_anchors_are_unique_and_links_resolve(rendered: str) -> None:
    anchors = [line.split('"')[1] for line in rendered.splitlines() if line.startswith("<a id=")]
    assert len(anchors) == len(set(anchors))
    for target in {part.split(")")[0] for part in rendered.split("](#")[1:]}:
        assert target in anchors, target


def test_main_writes_the_reference(
    tmp_path: Path, rendered: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert docsgen.main([str(tmp_path / "docs")]) == 0
    written = tmp_path / "docs" / "reference" / "automation.md"
    assert written.read_text(encoding="utf-8") == rendered
    assert str(written) in capsys.readouterr().out


def test_main_takes_another_schema(tmp_path: Path) -> None:
    schema_file = tmp_path / "s.json"
    schema_file.write_text(
        json.dumps(
            {
                "description": "Tiny.",
                "type": "object",
                "required": ["a"],
                "properties": {"a": {"type": "string", "description": "The a.", "examples": ["x"]}},
                "additionalProperties": False,
            }
        )
    )
    assert docsgen.main([str(tmp_path / "out"), "--schema", str(schema_file)]) == 0
    text = (tmp_path / "out" / "reference" / "automation.md").read_text()
    assert '| `a` | string | yes | — | `"x"` | The a. |' in text
