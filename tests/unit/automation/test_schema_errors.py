"""JSON Schema errors become Problems with the value's line:column, the dotted path, a clear
message and a hint; the compiled quick check agrees with jsonschema."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qwak_auto.automation.fastschema import compile_schema
from qwak_auto.automation.load import load_paths, load_text
from qwak_auto.automation.problems import Problem
from qwak_auto.automation.schema import (
    load_schema,
    quick_check,
    schema_path,
    schema_problems,
    validator,
)

ROOT = Path(__file__).resolve().parents[3]
BASE = """name: retrain
model_id: churn
trigger:
  scheduled:
    cron: "0 3 * * *"
action:
  build_deploy:
    build_spec:
      git_uri: https://github.com/acme/churn.git
      git_branch: main
    deployment_condition:
      build_metric:
        metric_name: f1
        direction: ABOVE
        threshold: "0.65"
"""
METRIC = "action.build_deploy.deployment_condition.build_metric"


def problems(old: str = "", new: str = "", extra: str = "") -> list[Problem]:
    text = BASE + extra
    if old:
        assert old in text
        text = text.replace(old, new)
    docs, load_problems = load_text(text, "a.yaml")
    assert load_problems == []
    return schema_problems(docs[0])


def one(*args: str) -> Problem:
    found = problems(*args)
    assert len(found) == 1, found
    return found[0]


def test_base_is_valid() -> None:
    assert problems() == []


def test_schema_file_is_found() -> None:
    assert schema_path().name == "automation.schema.json"
    assert quick_check() is not None


def test_threshold_number_hint_shows_the_quoted_form() -> None:
    p = one('threshold: "0.65"', "threshold: 0.65")
    assert (p.line, p.column, p.path, p.code) == (15, 20, f"{METRIC}.threshold", "schema.type")
    assert p.hint == 'quote it: threshold: "0.65"'
    assert "must be a string, not a number" in p.message


def test_original_source_text_is_kept_in_the_hint() -> None:
    p = one("git_branch: main", "git_branch: 1.10")
    assert p.hint == 'quote it: git_branch: "1.10"'
    assert "1.10" in p.message
    assert "1.1" in p.message
    assert one("name: retrain", "name: 010").hint == 'quote it: name: "010"'
    assert one("name: retrain", "name: true").hint == 'quote it: name: "true"'
    assert one("name: retrain", "name: 1e3").hint == 'quote it: name: "1e3"'


def test_number_in_a_list_of_strings() -> None:
    p = one("git_branch: main", "git_branch: main\n      tags: [prod, 2024]")
    assert (p.path, p.hint) == ("action.build_deploy.build_spec.tags[1]", 'quote it: "2024"')


def test_string_where_a_number_belongs() -> None:
    p = one("", "", '    deployment_spec:\n      number_of_pods: "2"\n')
    assert p.code == "schema.type"
    assert p.hint == "write the number without quotes: number_of_pods: 2"


def test_empty_value_where_a_mapping_belongs() -> None:
    p = one('  scheduled:\n    cron: "0 3 * * *"\n', "  none:\n")
    assert p.code == "schema.type"
    assert p.path == "trigger.none"
    assert "none: {}" in p.hint


def test_unknown_key_points_at_the_key_and_suggests() -> None:
    p = one("git_branch: main", "git_branh: main")
    assert (p.line, p.column, p.code) == (10, 7, "schema.unknown-key")
    assert p.path == "action.build_deploy.build_spec.git_branh"
    assert p.hint == "did you mean `git_branch`?"


def test_unknown_key_without_a_close_one_lists_the_known_keys() -> None:
    p = one("", "", "zzz_qqq: 1\n")
    assert p.hint.startswith("known keys here: ")
    assert "model_id" in p.hint


def test_qwak_sdk_spelling_is_named() -> None:
    p = one("", "", "is_enabled: true\n")
    assert "`enabled`" in p.hint


def test_required_field_points_at_the_parent_and_names_the_field() -> None:
    p = one("      git_uri: https://github.com/acme/churn.git\n", "")
    assert (p.line, p.column, p.code) == (8, 5, "schema.required")
    assert p.path == "action.build_deploy.build_spec.git_uri"
    assert "`git_uri`" in p.message
    assert p.hint.startswith("add `git_uri: ")


def test_missing_top_level_field() -> None:
    p = one("model_id: churn\n", "")
    assert (p.line, p.column, p.path) == (1, 1, "model_id")
    assert "at the top of the document" in p.hint


def test_trigger_with_two_kinds() -> None:
    p = one('    cron: "0 3 * * *"\n', '    cron: "0 3 * * *"\n  none: {}\n')
    assert (p.code, p.path) == ("schema.one-of", "trigger")
    assert "exactly one of scheduled, metric_based, none, on_boarding" in p.message
    assert "found 2: scheduled, none" in p.message


def test_trigger_with_no_kind() -> None:
    p = one('  scheduled:\n    cron: "0 3 * * *"\n', "  {}\n")
    assert p.code == "schema.one-of"


def test_scheduled_with_cron_and_interval_or_neither() -> None:
    both = one('    cron: "0 3 * * *"\n', '    cron: "0 3 * * *"\n    interval: 6h\n')
    assert (both.path, both.code) == ("trigger.scheduled", "schema.one-of")
    assert "exactly one of cron, interval" in both.message
    neither = one('    cron: "0 3 * * *"\n', "    timezone: UTC\n")
    assert "exactly one of cron, interval" in neither.message


def test_enum_suggests_the_right_case() -> None:
    p = one("direction: ABOVE", "direction: above")
    assert p.code == "schema.enum"
    assert p.hint == "did you mean `ABOVE`?"
    assert "ABOVE, BELOW, EQUALS, ABOVE_OR_EQUALS, BELOW_OR_EQUALS" in p.message


def test_pattern_shows_names_but_never_secret_values() -> None:
    p = one("name: retrain", "name: Retrain Churn!")
    assert p.code == "schema.pattern"
    assert "Retrain Churn!" in p.message
    s = one("git_branch: main", "git_branch: main\n      git_access_token_secret: 'tok en!x'")
    assert s.code == "schema.pattern"
    assert "tok en!x" not in s.message + s.hint


def test_autoscaling_names_any_case_and_their_message() -> None:
    scale = (
        "    deployment_spec:\n      auto_scale_config:\n        min_replica_count: 1\n"
        "        max_replica_count: 2\n        triggers:\n          - prometheus_trigger:\n"
        "              query_spec: {{metric_type: {m}, aggregation_type: {a}, time_period: 1}}\n"
        "              threshold: 60\n"
    )
    assert problems("", "", scale.format(m="GPU", a="P95")) == []
    assert problems("", "", scale.format(m="Error_Rate", a="avg")) == []
    p = one("", "", scale.format(m="latnecy", a="max"))
    assert p.code == "schema.enum"
    assert p.message == (
        "`metric_type` must be one of cpu, gpu, memory, latency, error_rate, throughput "
        "(any case), not `latnecy`"
    )
    assert p.hint == "did you mean `latency`?"


def test_secret_header_problems_never_show_the_value() -> None:
    hook = "on_error:\n  webhook:\n    url: https://h.example.com/x\n    secret_headers: {}\n"
    p = one("", "", hook.replace("{}", "{Authorization: 'Bearer s3cr3tvalue'}"))
    assert (p.code, p.path) == ("schema.pattern", "on_error.webhook.secret_headers.Authorization")
    assert "s3cr3tvalue" not in p.message + p.hint
    name = one("", "", hook.replace("{}", "{'X Token': tok}"))
    assert name.message == "`X Token` is not a valid HTTP header name"


def test_range_and_length() -> None:
    p = one("", "", "    deployment_spec:\n      number_of_pods: 0\n")
    assert (p.code, p.path) == (
        "schema.range",
        "action.build_deploy.deployment_spec.number_of_pods",
    )
    assert "at least 1" in p.message
    empty = one('threshold: "0.65"', 'threshold: ""')
    assert empty.code == "schema.length"


def test_every_example_is_valid() -> None:
    loaded = load_paths(sorted(str(p) for p in (ROOT / "examples").glob("*.yaml")))
    assert loaded.problems == []
    for doc in loaded.documents:
        assert schema_problems(doc) == [], doc.file


# ------------------------------------------------------------------ quick check == jsonschema

EXAMPLES = [
    doc.data
    for doc in load_paths(sorted(str(p) for p in (ROOT / "examples").glob("*.yaml"))).documents
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=False, allow_infinity=False, width=16),
    st.sampled_from(["", "x", "ABOVE", "above", "2Gi", "prod", "0.5", "cpu", "NVIDIA_T4", "a b"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["cron", "x", "name", "cpu", "gpu_type"]), inner, max_size=3
        ),
    ),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    doc = copy.deepcopy(draw(st.sampled_from(EXAMPLES)))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        if not path:
            continue
        parent: Any = doc
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(VALUES)
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "interval", "gpu", "none"]))] = draw(VALUES)
    return doc


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_quick_check_agrees_with_jsonschema(doc: Any) -> None:
    quick = quick_check()
    assert quick is not None
    assert quick(doc) == validator().is_valid(doc)


@pytest.mark.parametrize(
    ("schema", "instance", "valid"),
    [
        ({"type": "integer"}, 2.0, True),
        ({"type": "integer"}, True, False),
        ({"type": "number"}, False, False),
        ({"enum": [1]}, True, False),
        ({"const": False}, 0, False),
        ({"uniqueItems": True}, [1, True], True),
        ({"uniqueItems": True}, [1, 1.0], False),
        ({"not": {"type": "string"}}, 1, True),
        ({"if": {"required": ["a"]}, "then": {"required": ["b"]}}, {"a": 1}, False),
        ({"if": {"required": ["a"]}, "else": {"required": ["b"]}}, {"c": 1}, False),
        ({"then": {"required": ["b"]}}, {"a": 1}, True),
        ({"propertyNames": {"pattern": "^[a-z]+$"}}, {"A": 1}, False),
        ({"dependentRequired": {"a": ["b"]}}, {"a": 1}, False),
        ({"dependentRequired": {"a": ["b"]}}, {"b": 1}, True),
        ({"anyOf": [{"type": "string"}, {"minimum": 3}]}, 2, False),
        (
            {"patternProperties": {"^x": {"type": "string"}}, "additionalProperties": False},
            {"xa": "s", "y": 1},
            False,
        ),
    ],
)
def test_quick_check_semantics(schema: dict[str, Any], instance: Any, valid: bool) -> None:
    from jsonschema import Draft202012Validator

    assert compile_schema(schema)(instance) is valid
    assert Draft202012Validator(schema).is_valid(instance) is valid


def test_schema_loads_once() -> None:
    assert load_schema() is load_schema()
    assert validator() is validator()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_schema_and_checks_never_raise_on_odd_documents(data: Any) -> None:
    from qwak_auto.automation.checks import Context, check_document
    from qwak_auto.automation.load import Document, Positions

    doc = Document("f.yaml", 0, data, 1, Positions(""))
    found = schema_problems(doc) + check_document(doc, Context(environments=("prod",)))
    assert all(p.line >= 1 and p.code for p in found)
    if not validator().is_valid(data):
        assert any(p.code.startswith("schema.") for p in found)
