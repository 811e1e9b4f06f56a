"""The JSON Schema file itself: valid for 2020-12 and draft-07 tools, complete, documented,
strict where the format is strict, and right on the cases users get wrong."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from jsonschema.protocols import Validator

from qwak_auto.automation.casenames import names_of

SCHEMA_FILE = Path(__file__).resolve().parents[3] / "schemas" / "automation.schema.json"

# Keywords a draft-07 editor (yaml-language-server) understands. 2019-09/2020-12 additions
# ($defs, prefixItems, unevaluatedProperties, dependentRequired, ...) would be ignored there.
DRAFT7_KEYWORDS = {
    "$schema", "$id", "$ref", "$comment", "title", "description", "default", "examples",
    "type", "enum", "const", "format", "properties", "required", "additionalProperties",
    "minProperties", "maxProperties", "propertyNames", "items", "minItems", "maxItems",
    "uniqueItems", "pattern", "minLength", "maxLength", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "oneOf", "anyOf", "allOf", "not",
    "definitions",
}  # fmt: skip
NOTIFICATION_BLOCKS = (
    "on_success", "on_error", "on_not_deployed", "on_start", "on_approval_needed",
)  # fmt: skip
FREE_FORM_MAPS = {"action.build_deploy.build_spec.parameters"} | {
    f"{block}.webhook.{key}" for block in NOTIFICATION_BLOCKS for key in ("headers", "data")
}
# Maps of a name (an HTTP header) to a secret NAME.
SECRET_MAPS = {f"{block}.webhook.secret_headers" for block in NOTIFICATION_BLOCKS}
# qwak-core 0.7.160's GpuType names (the oracle test compares with the installed SDK).
QWAK_GPU_TYPES = [
    "NVIDIA_K80", "NVIDIA_V100", "NVIDIA_A100", "NVIDIA_T4", "NVIDIA_A10G", "NVIDIA_L4",
    "NVIDIA_T4_1_4_15", "NVIDIA_T4_1_8_30", "NVIDIA_T4_1_16_60", "NVIDIA_A100_80GB_8_96_1360",
    "NVIDIA_V100_1_8_52", "NVIDIA_V100_4_32_208", "NVIDIA_H100_NVL", "NVIDIA_A10",
    "NVIDIA_H100_SXM", "NVIDIA_H100_40GB", "NVIDIA_H100_80GB", "NVIDIA_M60",
    "NVIDIA_V100_2_16_104", "NVIDIA_V100_4_64_240", "NVIDIA_T4_4_16_104", "NVIDIA_T4_4_32_208",
    "NVIDIA_L4_4_48_192", "NVIDIA_A100_40GB_1_12_85", "NVIDIA_A100_40GB_2_24_170",
    "NVIDIA_A100_40GB_4_48_340",
]  # fmt: skip
DIRECTIONS = ["ABOVE", "BELOW", "EQUALS", "ABOVE_OR_EQUALS", "BELOW_OR_EQUALS"]
BS = "action.build_deploy.build_spec"
DC = "action.build_deploy.deployment_condition.build_metric"
DS = "action.build_deploy.deployment_spec"
AS = f"{DS}.auto_scale_config"
PT = f"{AS}.triggers[].prometheus_trigger"
# Every field of the reference (SPEC-REFERENCE.md), extensions included.
REFERENCE_FIELDS = [
    "name", "model_id", "description", "enabled", "execute_immediately", "environment",
    "concurrency", "trigger",
    "trigger.scheduled.cron", "trigger.scheduled.interval", "trigger.scheduled.timezone",
    "trigger.scheduled.missed_runs", "trigger.scheduled.starting_deadline",
    "trigger.metric_based.name", "trigger.metric_based.sql_query",
    "trigger.metric_based.direction", "trigger.metric_based.threshold",
    "trigger.metric_based.override_cron", "trigger.metric_based.for",
    "trigger.metric_based.cool_down", "trigger.metric_based.on_no_data",
    "trigger.none", "trigger.on_boarding",
    f"{BS}.git_uri", f"{BS}.git_branch", f"{BS}.git_access_token_secret",
    f"{BS}.git_ssh_key_secret", f"{BS}.main_dir", f"{BS}.dependency_file_path", f"{BS}.tags",
    f"{BS}.parameters", f"{BS}.env_vars", f"{BS}.base_image", f"{BS}.assumed_iam_role",
    f"{BS}.resources.cpu.cpu_fraction", f"{BS}.resources.cpu.memory",
    f"{BS}.resources.gpu.gpu_type", f"{BS}.resources.gpu.gpu_amount",
    f"{BS}.resources.instance", f"{BS}.git_ssh_token_secret", f"{BS}.gpu_compatible",
    f"{BS}.service_account_key_secret_name", f"{BS}.provision_instance_timeout",
    f"{BS}.dependencies_as_of", f"{DS}.service_account_key_secret_name",
    f"{BS}.push_image", f"{BS}.purchase_option",
    f"{DC}.metric_name", f"{DC}.direction", f"{DC}.threshold", f"{DC}.compare_to",
    f"{DC}.min_delta", f"{DC}.min_relative_delta",
    f"{DS}.number_of_http_server_workers", f"{DS}.http_request_timeout_ms", f"{DS}.daemon_mode",
    f"{DS}.custom_iam_role_arn", f"{DS}.api_keys_secret", f"{DS}.max_batch_size",
    f"{DS}.deployment_process_timeout_limit", f"{DS}.number_of_pods", f"{DS}.cpu_fraction",
    f"{DS}.memory", f"{DS}.gpu_resources.gpu_type", f"{DS}.gpu_resources.gpu_amount",
    f"{DS}.variation_name", f"{DS}.env_vars", f"{DS}.environments",
    f"{AS}.min_replica_count", f"{AS}.max_replica_count", f"{AS}.polling_interval",
    f"{AS}.cool_down_period", f"{PT}.query_spec.metric_type",
    f"{PT}.query_spec.aggregation_type", f"{PT}.query_spec.time_period", f"{PT}.threshold",
    *(f"{b}.slack.webhook_secret" for b in NOTIFICATION_BLOCKS),
    *(
        f"{b}.webhook.{k}"
        for b in NOTIFICATION_BLOCKS
        for k in ("url", "http_method", "headers", "secret_headers", "data", "signing_secret")
    ),
]  # fmt: skip


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema)


# ---------------------------------------------------------------- walking helpers


def resolve(root: Mapping[str, Any], node: Mapping[str, Any]) -> dict[str, Any]:
    """The node with its (possibly allOf-wrapped) #/definitions reference merged in."""
    candidates = [node.get("$ref")] + [item.get("$ref") for item in node.get("allOf", ())]
    refs = [str(r) for r in candidates if r]
    assert len(refs) <= 1
    if not refs:
        return dict(node)
    assert refs[0].startswith("#/definitions/"), refs[0]
    merged = dict(root["definitions"][refs[0].removeprefix("#/definitions/")])
    merged.update({k: v for k, v in node.items() if k not in ("$ref", "allOf")})
    return merged


def schema_nodes(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every subschema in the file (not the values of enum/default/examples)."""
    assert isinstance(node, dict), where
    yield where, node
    for key in ("properties", "definitions"):
        for name, child in node.get(key, {}).items():
            yield from schema_nodes(child, f"{where}/{key}/{name}")
    for key in ("items", "not", "additionalProperties"):
        if isinstance(node.get(key), dict):
            yield from schema_nodes(node[key], f"{where}/{key}")
    for key in ("allOf", "anyOf", "oneOf"):
        for i, child in enumerate(node.get(key, ())):
            yield from schema_nodes(child, f"{where}/{key}/{i}")


def fields(
    root: Mapping[str, Any], node: Mapping[str, Any], path: str = ""
) -> Iterator[tuple[str, dict[str, Any], dict[str, Any], bool]]:
    """(field path, property schema as written, resolved schema, required) for every field."""
    required = set(node.get("required", ()))
    for name, raw in node.get("properties", {}).items():
        child = resolve(root, raw)
        child_path = f"{path}.{name}" if path else name
        yield child_path, raw, child, name in required
        if child.get("type") == "object":
            yield from fields(root, child, child_path)
        if child.get("type") == "array" and isinstance(child.get("items"), dict):
            items = resolve(root, child["items"])
            if items.get("type") == "object":
                yield from fields(root, items, f"{child_path}[]")


# ---------------------------------------------------------------- the file itself


def test_schema_is_valid_2020_12_and_draft_07(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft7Validator.check_schema(schema)


def test_schema_has_id_title_description_and_editor_comment(schema: dict[str, Any]) -> None:
    assert schema["$id"].endswith("automation.schema.json")
    assert schema["title"]
    assert schema["description"]
    assert "# yaml-language-server: $schema=" in schema["$comment"]


def test_only_draft_07_keywords(schema: dict[str, Any]) -> None:
    for where, node in schema_nodes(schema):
        unknown = set(node) - DRAFT7_KEYWORDS
        assert not unknown, f"{where} uses {sorted(unknown)}, which draft-07 editors ignore"
        if where != "#":
            assert "definitions" not in node, f"{where}: definitions only at the top"


def test_refs_point_at_definitions_and_stand_alone(schema: dict[str, Any]) -> None:
    for where, node in schema_nodes(schema):
        if "$ref" in node:
            assert node["$ref"].removeprefix("#/definitions/") in schema["definitions"], where
            # draft-07 ignores every keyword beside $ref: wrap it in allOf instead.
            assert set(node) <= {"$ref", "$comment"}, f"{where}: keywords beside $ref"


def test_every_property_is_documented(schema: dict[str, Any]) -> None:
    for path, raw, resolved, required in fields(schema, schema):
        assert raw.get("description"), f"{path}: no description"
        examples = raw.get("examples")
        assert isinstance(examples, list), f"{path}: no examples"
        assert examples, f"{path}: no examples"
        no_default = str(resolved.get("$comment", "")).startswith("No default:")
        assert "default" in resolved or required or no_default, (
            f"{path}: give a default, make it required, or say what absence means "
            "in a '$comment' starting with 'No default:'"
        )


def test_examples_and_defaults_are_valid_values(
    schema: dict[str, Any], validator: jsonschema.Draft202012Validator
) -> None:
    for path, raw, _resolved, _required in fields(schema, schema):
        sub = validator.evolve(schema=raw)
        for example in raw["examples"]:
            errors = [e.message for e in sub.iter_errors(example)]
            assert not errors, f"{path}: example {example!r}: {errors}"
        if "default" in raw:
            errors = [e.message for e in sub.iter_errors(raw["default"])]
            assert not errors, f"{path}: default {raw['default']!r}: {errors}"


def test_objects_are_closed_except_the_free_form_maps(schema: dict[str, Any]) -> None:
    assert schema["additionalProperties"] is False
    open_maps = set()
    secret_maps = set()
    for path, _raw, resolved, _required in fields(schema, schema):
        if resolved.get("type") == "object" and resolved.get("additionalProperties") is not False:
            if resolved["additionalProperties"] == {"$ref": "#/definitions/secretName"}:
                secret_maps.add(path)
                assert "pattern" in resolved["propertyNames"]
                continue
            open_maps.add(path)
            # string keys, scalar values
            assert resolved["additionalProperties"] == {"type": ["string", "number", "boolean"]}
    assert open_maps == FREE_FORM_MAPS
    assert secret_maps == SECRET_MAPS
    for where, node in schema_nodes(schema):
        if node.get("type") == "object" and "properties" in node:
            assert node.get("additionalProperties") is False, where


def test_every_reference_field_is_in_the_schema(schema: dict[str, Any]) -> None:
    paths = {path for path, *_ in fields(schema, schema)}
    missing = [f for f in REFERENCE_FIELDS if f not in paths]
    assert not missing


@pytest.mark.parametrize(
    ("path", "values"),
    [
        (f"{DC}.direction", DIRECTIONS),
        ("trigger.metric_based.direction", DIRECTIONS),
        ("on_error.webhook.http_method", ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]),
        ("concurrency", ["forbid", "allow"]),
        ("trigger.scheduled.missed_runs", ["latest", "skip"]),
        ("trigger.metric_based.on_no_data", ["skip", "fire"]),
        (f"{DC}.compare_to", ["deployed"]),
    ],
)
def test_enums(schema: dict[str, Any], path: str, values: list[str]) -> None:
    resolved = {p: r for p, _raw, r, _req in fields(schema, schema)}
    assert resolved[path]["enum"] == values


@pytest.mark.parametrize(
    ("path", "values"),
    [
        (
            f"{PT}.query_spec.metric_type",
            ["cpu", "gpu", "memory", "latency", "error_rate", "throughput"],
        ),
        (
            f"{PT}.query_spec.aggregation_type",
            ["min", "max", "avg", "sum", "p50", "p90", "p95", "p99"],
        ),
    ],
)
def test_autoscaling_names_in_any_case(
    schema: dict[str, Any], validator: jsonschema.Draft202012Validator, path: str, values: list[str]
) -> None:
    resolved = {p: r for p, _raw, r, _req in fields(schema, schema)}
    assert names_of(resolved[path]["pattern"]) == values
    key = path.rsplit(".", 1)[1]
    for value in values:
        for spelled in (value, value.upper(), value.capitalize()):
            doc = patched(FULL, {(*PROM, "query_spec", key): spelled})
            assert errors_of(validator, doc) == set(), spelled


def test_gpu_types_are_exactly_qwaks(schema: dict[str, Any]) -> None:
    resolved = {p: r for p, _raw, r, _req in fields(schema, schema)}
    for path in (f"{BS}.resources.gpu.gpu_type", f"{DS}.gpu_resources.gpu_type"):
        assert resolved[path]["enum"] == QWAK_GPU_TYPES
        assert "NVIDIA_H100" not in resolved[path]["enum"]  # not a Qwak name


# ---------------------------------------------------------------- documents

MINIMAL: dict[str, Any] = {
    "name": "retrain_churn",
    "model_id": "churn",
    "trigger": {"scheduled": {"cron": "0 0 * * 0"}},
    "action": {"build_deploy": {"build_spec": {"git_uri": "https://github.com/acme/c.git#m"}}},
}

_WEBHOOK = {
    "url": "https://hooks.example.com/ml",
    "http_method": "PATCH",
    "headers": {"X-Team": "ml", "X-Retries": 3},
    "secret_headers": {"Authorization": "ml.webhook-token"},
    "data": {"team": "ml", "urgent": True, "weight": 0.5},
    "signing_secret": "ml.webhook-key",
}
# Every field of the format at once (the alternatives of one-of groups in ALTERNATIVES).
FULL: dict[str, Any] = {
    "name": "retrain-churn_v2",
    "model_id": "churn",
    "description": "Weekly re-train",
    "enabled": True,
    "execute_immediately": False,
    "environment": "prod",
    "concurrency": "allow",
    "trigger": {
        "scheduled": {
            "cron": "30 2 * * *",
            "timezone": "Europe/Berlin",
            "missed_runs": "skip",
            "starting_deadline": "2h",
        }
    },
    "action": {
        "build_deploy": {
            "build_spec": {
                "git_uri": "https://github.com/org/repo.git#dir_1/dir_2",
                "git_branch": "1.10",
                "git_access_token_secret": "gh_token",
                "git_ssh_key_secret": "deploy_key",
                "main_dir": "main",
                "dependency_file_path": "main/requirements.txt",
                "tags": ["prod"],
                "parameters": {"n_estimators": "300", "depth": 8, "calibrate": False},
                "env_vars": ["key1=val1", "key2=val2"],
                "base_image": "",
                "assumed_iam_role": "",
                "resources": {"cpu": {"cpu_fraction": 0.5, "memory": "2Gi"}},
                "push_image": False,
                "purchase_option": "spot",
                "git_ssh_token_secret": "deploy_key",
                "gpu_compatible": True,
                "service_account_key_secret_name": "gcp_key",
                "provision_instance_timeout": 30,
                "dependencies_as_of": "2024-06-01",
            },
            "deployment_condition": {
                "build_metric": {
                    "metric_name": "f1_score",
                    "direction": "ABOVE",
                    "threshold": "0.65",
                    "compare_to": "deployed",
                    "min_delta": "0.01",
                    "min_relative_delta": "0.02",
                }
            },
            "deployment_spec": {
                "number_of_http_server_workers": 2,
                "http_request_timeout_ms": 5000,
                "daemon_mode": False,
                "custom_iam_role_arn": "",
                "api_keys_secret": "churn_api_keys",
                "max_batch_size": 1,
                "deployment_process_timeout_limit": 600,
                "number_of_pods": 2,
                "cpu_fraction": 2,
                "memory": "2Gi",
                "gpu_resources": {"gpu_type": "NVIDIA_T4", "gpu_amount": 1},
                "variation_name": "default",
                "env_vars": ["K=V"],
                "environments": ["prod"],
                "auto_scale_config": {
                    "min_replica_count": 1,
                    "max_replica_count": 4,
                    "polling_interval": 30,
                    "cool_down_period": 300,
                    "triggers": [
                        {
                            "prometheus_trigger": {
                                "query_spec": {
                                    "metric_type": "latency",
                                    "aggregation_type": "max",
                                    "time_period": 4,
                                },
                                "threshold": 60,
                            }
                        },
                        {
                            "prometheus_trigger": {
                                "query_spec": {
                                    "metric_type": "error_rate",
                                    "aggregation_type": "p99",
                                    "time_period": 1,
                                },
                                "threshold": 0.05,
                            }
                        },
                    ],
                },
                "service_account_key_secret_name": "gcp_key",
                "purchase_option": "ondemand",
                "instance": "small",
                "traffic_weight": 10,
                "shadow": False,
                "rollout": {
                    "smoke_request_file": "main/sample_request.json",
                    "smoke_replay": 20,
                    "canary_steps": [10, 50],
                    "step_time": "1m",
                    "bake_time": "0s",
                    "max_error_rate": "0.05",
                    "max_p99_latency_ms": 250,
                    "min_requests": 20,
                },
            },
            "requires_approval": True,
            "approval_timeout": "24h",
        }
    },
    **{
        block: {"slack": {"webhook_secret": "slack_hook"}, "webhook": _WEBHOOK}
        for block in NOTIFICATION_BLOCKS
    },
}

SQL = "SELECT avg(value) FROM build_metrics WHERE model_id = 'churn' AND metric = 'f1_score'"
TRIGGER = ("trigger",)
SCHEDULED = ("trigger", "scheduled")
BUILD = ("action", "build_deploy", "build_spec")
METRIC = ("action", "build_deploy", "deployment_condition", "build_metric")
DEPLOY = ("action", "build_deploy", "deployment_spec")
SCALE = (*DEPLOY, "auto_scale_config")
PROM = (*SCALE, "triggers", 0, "prometheus_trigger")
DELETE = object()


def patched(doc: dict[str, Any], changes: Mapping[tuple[Any, ...], Any]) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    for path, value in changes.items():
        parent: Any = out
        for key in path[:-1]:
            parent = parent[key]
        if value is DELETE:
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
    return out


def errors_of(validator: Validator, doc: Any) -> set[tuple[Any, ...]]:
    return {(*e.absolute_path, e.validator) for e in validator.iter_errors(doc)}


def test_minimal_document_passes(validator: jsonschema.Draft202012Validator) -> None:
    assert errors_of(validator, MINIMAL) == set()


def test_full_document_passes_and_uses_every_field(
    schema: dict[str, Any], validator: jsonschema.Draft202012Validator
) -> None:
    assert errors_of(validator, FULL) == set()

    def used(node: Any, path: str = "") -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                child = f"{path}.{key}" if path else key
                yield child
                if child not in FREE_FORM_MAPS:
                    yield from used(value, child)
        elif isinstance(node, list):
            for item in node:
                yield from used(item, f"{path}[]")

    alternatives = {path for doc in ALTERNATIVES.values() for path in used(patched(FULL, doc))}
    every = {path for path, *_ in fields(schema, schema)}
    assert every - set(used(FULL)) - alternatives == set()


METRIC_TRIGGER: dict[str, Any] = {
    "name": "drift_check",
    "sql_query": "SELECT avg(score) FROM predictions WHERE ts > now() - INTERVAL 1 DAY",
    "direction": "BELOW",
    "threshold": SQL,
    "override_cron": "*/30 * * * *",
    "timezone": "UTC",
    "for": 3,
    "cool_down": "12h",
    "on_no_data": "fire",
}
ALTERNATIVES: dict[str, dict[tuple[Any, ...], Any]] = {
    "interval": {SCHEDULED: {"interval": "6h"}},
    "named interval": {SCHEDULED: {"interval": "Daily"}},
    "cron macro": {SCHEDULED: {"cron": "@daily"}},
    "metric_based": {TRIGGER: {"metric_based": METRIC_TRIGGER}},
    "none": {TRIGGER: {"none": {}}},
    "on_boarding": {TRIGGER: {"on_boarding": {}}},
    "gpu build": {(*BUILD, "resources"): {"gpu": {"gpu_type": "NVIDIA_K80", "gpu_amount": 1}}},
    "sized gpu build": {
        (*BUILD, "resources"): {"gpu": {"gpu_type": "NVIDIA_H100_NVL", "gpu_amount": 1}}
    },
    "instance build": {(*BUILD, "resources"): {"instance": "gpu.t4.xl"}},
    "qwak directions": {(*METRIC, "direction"): "ABOVE_OR_EQUALS"},
    "webhook HEAD": {("on_error", "webhook", "http_method"): "HEAD"},
    "dynamic threshold": {(*METRIC, "threshold"): SQL},
    "no deployment_spec": {DEPLOY: DELETE},
    "empty notifications": {("on_start",): {}, ("on_error",): {}},
    "slack only": {("on_not_deployed",): {"slack": {"webhook_secret": "slack_hook"}}},
    "webhook GET only url": {("on_error",): {"webhook": {"url": "https://h.example.com/x"}}},
    "ssh git uri": {(*BUILD, "git_uri"): "git@github.com:org/repo.git#models/churn"},
    "63-char name": {("name",): "a" * 63},
}


@pytest.mark.parametrize("changes", ALTERNATIVES.values(), ids=ALTERNATIVES.keys())
def test_valid_alternatives(
    validator: jsonschema.Draft202012Validator, changes: dict[tuple[Any, ...], Any]
) -> None:
    assert errors_of(validator, patched(FULL, changes)) == set()


GPU = {"gpu_type": "NVIDIA_T4", "gpu_amount": 1}
# (changes to FULL, one expected error: (*instance path, failing keyword))
INVALID: dict[str, tuple[dict[tuple[Any, ...], Any], tuple[Any, ...]]] = {
    "unknown top-level key": ({("naem",): "x"}, ("additionalProperties",)),
    "unknown build_spec key": ({(*BUILD, "git_branh"): "main"}, (*BUILD, "additionalProperties")),
    "threshold as number": ({(*METRIC, "threshold"): 0.65}, (*METRIC, "threshold", "type")),
    "min_delta as number": ({(*METRIC, "min_delta"): 0.01}, (*METRIC, "min_delta", "type")),
    "min_relative_delta as number": (
        {(*METRIC, "min_relative_delta"): 0.02},
        (*METRIC, "min_relative_delta", "type"),
    ),
    "metric trigger threshold as number": (
        {
            TRIGGER: {
                "metric_based": {
                    "name": "d",
                    "sql_query": "SELECT 1",
                    "direction": "ABOVE",
                    "threshold": 0.3,
                }
            }
        },
        ("trigger", "metric_based", "threshold", "type"),
    ),
    "git_branch as number": ({(*BUILD, "git_branch"): 1.1}, (*BUILD, "git_branch", "type")),
    "name as number": ({("name",): 10}, ("name", "type")),
    "name too long": ({("name",): "a" * 64}, ("name", "maxLength")),
    "name with a space": ({("name",): "retrain churn"}, ("name", "pattern")),
    "model_id with a dot": ({("model_id",): "churn.v2"}, ("model_id", "pattern")),
    "both cron and interval": (
        {SCHEDULED: {"cron": "0 0 * * *", "interval": "6h"}},
        (*SCHEDULED, "oneOf"),
    ),
    "neither cron nor interval": ({SCHEDULED: {"timezone": "UTC"}}, (*SCHEDULED, "oneOf")),
    "two trigger kinds": ({TRIGGER: {"none": {}, "on_boarding": {}}}, ("trigger", "maxProperties")),
    "no trigger kind": ({TRIGGER: {}}, ("trigger", "minProperties")),
    "none with a key": ({TRIGGER: {"none": {"x": 1}}}, ("trigger", "none", "additionalProperties")),
    "both cpu and gpu": (
        {(*BUILD, "resources"): {"cpu": {}, "gpu": GPU}},
        (*BUILD, "resources", "maxProperties"),
    ),
    "empty resources": ({(*BUILD, "resources"): {}}, (*BUILD, "resources", "minProperties")),
    "missing name": ({("name",): DELETE}, ("required",)),
    "missing model_id": ({("model_id",): DELETE}, ("required",)),
    "missing trigger": ({TRIGGER: DELETE}, ("required",)),
    "missing action": ({("action",): DELETE}, ("required",)),
    "missing build_deploy": ({("action", "build_deploy"): DELETE}, ("action", "required")),
    "missing build_spec": ({BUILD: DELETE}, ("action", "build_deploy", "required")),
    "missing git_uri": ({(*BUILD, "git_uri"): DELETE}, (*BUILD, "required")),
    **{
        f"metric_based without {key}": (
            {TRIGGER: {"metric_based": {k: v for k, v in METRIC_TRIGGER.items() if k != key}}},
            ("trigger", "metric_based", "required"),
        )
        for key in ("name", "sql_query", "direction", "threshold")
    },
    **{
        f"build_metric without {key}": ({(*METRIC, key): DELETE}, (*METRIC, "required"))
        for key in ("metric_name", "direction", "threshold")
    },
    "deployment_condition without build_metric": (
        {METRIC: DELETE},
        ("action", "build_deploy", "deployment_condition", "required"),
    ),
    "slack without webhook_secret": (
        {("on_success", "slack", "webhook_secret"): DELETE},
        ("on_success", "slack", "required"),
    ),
    "webhook without url": (
        {("on_error", "webhook"): {"http_method": "POST"}},
        ("on_error", "webhook", "required"),
    ),
    **{
        f"build gpu without {key}": (
            {(*BUILD, "resources"): {"gpu": {k: v for k, v in GPU.items() if k != key}}},
            (*BUILD, "resources", "gpu", "required"),
        )
        for key in GPU
    },
    **{
        f"gpu_resources without {key}": (
            {(*DEPLOY, "gpu_resources", key): DELETE},
            (*DEPLOY, "gpu_resources", "required"),
        )
        for key in GPU
    },
    **{
        f"auto_scale_config without {key}": ({(*SCALE, key): DELETE}, (*SCALE, "required"))
        for key in ("min_replica_count", "max_replica_count")
    },
    **{
        f"prometheus_trigger without {key}": ({(*PROM, key): DELETE}, (*PROM, "required"))
        for key in ("query_spec", "threshold")
    },
    **{
        f"query_spec without {key}": (
            {(*PROM, "query_spec", key): DELETE},
            (*PROM, "query_spec", "required"),
        )
        for key in ("metric_type", "aggregation_type", "time_period")
    },
    "trigger item without prometheus_trigger": (
        {(*SCALE, "triggers"): [{}]},
        (*SCALE, "triggers", 0, "required"),
    ),
    "prometheus threshold as string": ({(*PROM, "threshold"): "60"}, (*PROM, "threshold", "type")),
    "direction in lower case": ({(*METRIC, "direction"): "above"}, (*METRIC, "direction", "enum")),
    "unknown gpu type": (
        {(*DEPLOY, "gpu_resources", "gpu_type"): "RTX_4090"},
        (*DEPLOY, "gpu_resources", "gpu_type", "enum"),
    ),
    "unknown metric_type": (
        {(*PROM, "query_spec", "metric_type"): "qps"},
        (*PROM, "query_spec", "metric_type", "pattern"),
    ),
    "unknown aggregation_type": (
        {(*PROM, "query_spec", "aggregation_type"): "p100"},
        (*PROM, "query_spec", "aggregation_type", "pattern"),
    ),
    "not a qwak gpu type": (
        {(*BUILD, "resources"): {"gpu": {"gpu_type": "NVIDIA_H100", "gpu_amount": 1}}},
        (*BUILD, "resources", "gpu", "gpu_type", "enum"),
    ),
    "cpu and instance": (
        {(*BUILD, "resources"): {"cpu": {}, "instance": "small"}},
        (*BUILD, "resources", "maxProperties"),
    ),
    "dependencies_as_of not a date": (
        {(*BUILD, "dependencies_as_of"): "June 2024"},
        (*BUILD, "dependencies_as_of", "pattern"),
    ),
    "header name with a space": (
        {("on_error", "webhook", "secret_headers"): {"X Token": "tok"}},
        ("on_error", "webhook", "secret_headers", "pattern"),
    ),
    "secret header value not a name": (
        {("on_error", "webhook", "secret_headers"): {"Authorization": "Bearer abc"}},
        ("on_error", "webhook", "secret_headers", "Authorization", "pattern"),
    ),
    "unknown http_method": (
        {("on_error", "webhook", "http_method"): "FETCH"},
        ("on_error", "webhook", "http_method", "enum"),
    ),
    "unknown concurrency": ({("concurrency",): "parallel"}, ("concurrency", "enum")),
    "unknown compare_to": ({(*METRIC, "compare_to"): "previous"}, (*METRIC, "compare_to", "enum")),
    "zero pods": ({(*DEPLOY, "number_of_pods"): 0}, (*DEPLOY, "number_of_pods", "minimum")),
    "fractional pods": ({(*DEPLOY, "number_of_pods"): 1.5}, (*DEPLOY, "number_of_pods", "type")),
    "zero gpus": (
        {(*DEPLOY, "gpu_resources", "gpu_amount"): 0},
        (*DEPLOY, "gpu_resources", "gpu_amount", "minimum"),
    ),
    "zero cpu": ({(*DEPLOY, "cpu_fraction"): 0}, (*DEPLOY, "cpu_fraction", "exclusiveMinimum")),
    "zero workers": (
        {(*DEPLOY, "number_of_http_server_workers"): 0},
        (*DEPLOY, "number_of_http_server_workers", "minimum"),
    ),
    "zero time_period": (
        {(*PROM, "query_spec", "time_period"): 0},
        (*PROM, "query_spec", "time_period", "minimum"),
    ),
    "memory as number": ({(*DEPLOY, "memory"): 2048}, (*DEPLOY, "memory", "type")),
    "env_vars as string": ({(*DEPLOY, "env_vars"): "K=V"}, (*DEPLOY, "env_vars", "type")),
    "env_vars item as mapping": (
        {(*BUILD, "env_vars"): [{"K": "V"}]},
        (*BUILD, "env_vars", 0, "type"),
    ),
    "parameter value as list": (
        {(*BUILD, "parameters"): {"layers": [1, 2]}},
        (*BUILD, "parameters", "layers", "type"),
    ),
    "header value as mapping": (
        {("on_error", "webhook", "headers"): {"X": {"a": 1}}},
        ("on_error", "webhook", "headers", "X", "type"),
    ),
    "secret name with a space": (
        {(*BUILD, "git_access_token_secret"): "gh token"},
        (*BUILD, "git_access_token_secret", "pattern"),
    ),
    "secret name too long": (
        {("on_success", "slack", "webhook_secret"): "s" * 129},
        ("on_success", "slack", "webhook_secret", "maxLength"),
    ),
    "notification kind unknown": (
        {("on_start",): {"email": {"to": "x"}}},
        ("on_start", "additionalProperties"),
    ),
    "for zero": (
        {TRIGGER: {"metric_based": {**METRIC_TRIGGER, "for": 0}}},
        ("trigger", "metric_based", "for", "minimum"),
    ),
    "enabled as string": ({("enabled",): "yes"}, ("enabled", "type")),
    "environments duplicated": (
        {(*DEPLOY, "environments"): ["prod", "prod"]},
        (*DEPLOY, "environments", "uniqueItems"),
    ),
}  # fmt: skip


@pytest.mark.parametrize(("changes", "expected"), INVALID.values(), ids=INVALID.keys())
def test_invalid_documents(
    validator: jsonschema.Draft202012Validator,
    changes: dict[tuple[Any, ...], Any],
    expected: tuple[Any, ...],
) -> None:
    found = errors_of(validator, patched(FULL, changes))
    assert expected in found, found


def test_draft_07_validator_agrees(schema: dict[str, Any]) -> None:
    """What an editor using draft-07 flags is what `auto validate` flags."""
    v2020 = jsonschema.Draft202012Validator(schema)
    v7 = jsonschema.Draft7Validator(schema)
    docs = [FULL] + [patched(FULL, c) for c in ALTERNATIVES.values()]
    docs += [patched(FULL, c) for c, _ in INVALID.values()]
    for doc in docs:
        assert errors_of(v7, doc) == errors_of(v2020, doc)
