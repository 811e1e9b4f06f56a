"""qwak-core itself as the oracle of `auto import-qwak`.

The real SDK (a development dependency, run in its own interpreter by sdk_probe.py) builds
every case of cases.py: one per field of every class of ``qwak.automations``, per enum member,
GPU type and HTTP method, plus the files in tests/fixtures/qwak/. Each must be valid Qwak code
(``to_proto()``), unless the case says Qwak refuses it. Then `auto import-qwak` reads the same
source, the YAML it writes must validate, and it is compared field by field with the object
the SDK built (compare.py). The SDK is introspected, so a class, field or enum member it gains
fails here until auto maps or reports it.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from qwak_auto.automation.model import from_document
from qwak_auto.automation.problems import Severity
from qwak_auto.automation.schema import load_schema
from qwak_auto.automation.validate import validate_paths
from qwak_auto.qwak_import import sdk as ours
from qwak_auto.qwak_import.service import import_qwak
from tests.conftest import missing_service
from tests.integration.qwak_oracle import cases
from tests.integration.qwak_oracle.compare import HANDLED, Expect, check

PROBE = Path(__file__).with_name("sdk_probe.py")
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "qwak"
PIN = "0.7.160"  # pyproject.toml's dev dependency
NOT_WRITTEN = ("id", "is_sdk_v1", "jfrog_token_id", "platform_url")
SECRET_VALUES = ("abcdef0123456789", "k-0123456789", "hooks.slack.com")


def _probe(*args: str) -> Any:
    done = subprocess.run(
        [sys.executable, str(PROBE), *args], capture_output=True, text=True, timeout=300
    )
    if "No module named 'qwak" in done.stderr:
        missing_service("qwak-core", "it is not installed (a dev dependency on Python < 3.12)")
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def _schema_enum(*path: str) -> list[str]:
    schema = load_schema()
    node: Any = schema
    for key in path:
        node = node[key]
    return list(node["enum"])


GPU_TYPES = _schema_enum("definitions", "gpuResources", "properties", "gpu_type")
HTTP_METHODS = _schema_enum("definitions", "webhook", "properties", "http_method")
CASES = [
    *cases.field_cases(),
    *cases.enum_cases({k: list(v) for k, v in ours.SDK_ENUMS.items()}),
    *cases.class_cases(),
    *cases.value_cases(GPU_TYPES, HTTP_METHODS),
]


@pytest.fixture(scope="module")
def sdk() -> dict[str, Any]:
    found: dict[str, Any] = _probe("introspect")
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every case built by the real SDK, in one interpreter."""
    sources = tmp_path_factory.mktemp("oracle") / "cases.json"
    fixtures = [
        {"id": f"fixture_{p.stem}", "source": p.read_text(encoding="utf-8")}
        for p in sorted(FIXTURES.glob("*.py"))
    ]
    payload = [{"id": c.id, "source": c.source} for c in CASES] + fixtures
    sources.write_text(json.dumps(payload), encoding="utf-8")
    return {r["id"]: r for r in _probe("build", str(sources))}


# ---------------------------------------------------------------- the SDK, all of it


def test_the_pinned_sdk_is_the_one_installed(sdk: dict[str, Any]) -> None:
    assert sdk["version"] == PIN


def test_every_class_field_and_enum_member_is_known(sdk: dict[str, Any]) -> None:
    classes = {name: info["fields"] for name, info in sdk["classes"].items() if "fields" in info}
    assert not [name for name, info in sdk["classes"].items() if "fields" not in info]
    assert classes == {name: list(fields) for name, fields in ours.SDK_FIELDS.items()}
    enums = {name: info["members"] for name, info in sdk["enums"].items()}
    assert enums == {name: list(members) for name, members in ours.SDK_ENUMS.items()}


def test_every_field_has_a_case_or_its_class_is_reported(sdk: dict[str, Any]) -> None:
    for name, info in sdk["classes"].items():
        if name in ours.REPORTED:
            continue  # a problem naming the class (a case below each)
        for field in info["fields"]:
            assert (name, field) in cases.SAMPLES, f"{name}.{field} has no oracle case"
    covered = {c.expect.removeprefix("reported:") for c in CASES if c.expect.startswith("reported")}
    assert set(ours.REPORTED) - covered <= {
        "BatchJobDataSpecifications",
        "BatchJobExecutionSpecifications",
    }  # inside the BatchExecution case


def test_the_schemas_gpu_types_and_http_methods_are_the_sdks(sdk: dict[str, Any]) -> None:
    assert sdk["gpu_types"] == GPU_TYPES
    assert sdk["http_methods"] == HTTP_METHODS


def test_our_defaults_are_qwaks_except_where_documented(sdk: dict[str, Any]) -> None:
    """The comparison lets the import leave a Qwak default out; that is only right where our
    default means the same. The differences are the ones docs/migrating-from-qwak.md lists."""
    minimal = {
        "name": "a",
        "model_id": "m",
        "trigger": {"none": {}},
        "action": {"build_deploy": {"build_spec": {"git_uri": "https://g/r.git"}}},
    }
    automation = from_document(minimal)
    pairs: dict[str, tuple[Any, dict[str, str]]] = {
        "Automation": (automation, {"is_enabled": "enabled"}),
        "BuildSpecifications": (automation.action.build_spec, {}),
        "DeploymentSpecifications": (automation.action.deployment_spec, {}),
        "CpuResources": (automation.action.build_spec.resources, {}),
    }
    differ: dict[str, tuple[Any, Any]] = {}
    for cls, (obj, renamed) in pairs.items():
        mine = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
        for field, default in sdk["classes"][cls]["defaults"].items():
            key = renamed.get(field, field)
            marked = isinstance(default, dict) and any(k.startswith("$") for k in default)
            if key not in mine or marked or key in ("name", "model_id", "git_uri"):
                continue  # required in both, or an object compared field by field
            value = mine[key]
            value = list(value) if isinstance(value, tuple) else value
            empty = value in (None, []) and default in ("", None)  # both mean "none"
            if value != default and not empty:
                differ[f"{cls}.{field}"] = (default, value)
    assert differ == {
        # the builder's choice where auto leaves it out; Qwak's defaults named them
        "BuildSpecifications.push_image": (True, None),
        "BuildSpecifications.purchase_option": ("spot", None),
        "BuildSpecifications.provision_instance_timeout": (120, None),
    }
    # Qwak's webhook default GET (ours POST) and deployment_timeout 0 (ours 600) are written
    # explicitly by the import: see compare.py.
    assert sdk["classes"]["CustomWebhook"]["defaults"]["http_method"] == "GET"
    assert sdk["classes"]["DeploymentSpecifications"]["defaults"]["deployment_timeout"] == 0


# ---------------------------------------------------------------- the matrix


def _import(source: str, tmp_path: Path) -> tuple[Any, Path]:
    file = tmp_path / "automation_case.py"
    file.write_text(source, encoding="utf-8")
    out = tmp_path / "out"
    return import_qwak([file], out), out


def _load(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def _expected_warnings(case: cases.Case, sdk_object: dict[str, Any]) -> set[str]:
    expected = set(case.warnings)
    expected |= {f for f in NOT_WRITTEN if sdk_object[f] not in ("", False, None)}
    if "create_audit=" in case.source:
        expected.add("create_audit")
    return expected


def _assert_valid_and_equal(
    written: Path, sdk_object: dict[str, Any], sdk: dict[str, Any], strict: bool
) -> dict[str, Any]:
    report = validate_paths([written])
    errors = [p for p in report.problems if p.severity is Severity.ERROR]
    assert errors == [], errors
    warnings = {p.code for p in report.problems}
    assert warnings <= ({"qwak.no-effect"} if not strict else set()), report.problems
    doc: dict[str, Any] = _load(written)
    defaults = {name: info.get("defaults", {}) for name, info in sdk["classes"].items()}
    expected = Expect(defaults).automation(sdk_object)
    assert check(doc, expected) == []
    return doc


def _at(doc: Any, path: str) -> Any:
    node = doc
    for key in path.split("."):
        assert isinstance(node, dict), f"{path}: {key} is not written"
        assert key in node, f"{path}: {key} is not written"
        node = node[key]
    return node


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_oracle_case(
    case: cases.Case, built: dict[str, Any], sdk: dict[str, Any], tmp_path: Path
) -> None:
    result, _out = _import(case.source, tmp_path)
    shown = "".join(w.text for w in result.written) + repr(result.problems)
    for value in SECRET_VALUES:
        assert value not in shown
    sdk_result = built[case.id]
    if case.expect.startswith("reported:"):
        name = case.expect.removeprefix("reported:")
        assert result.failed
        assert not result.written
        assert any(
            name in p.message + p.path for p in result.problems if p.severity is Severity.ERROR
        ), result.problems
        return
    assert "error" not in sdk_result, sdk_result
    ((automation,),) = [sdk_result["automations"]]
    if case.expect == "lenient":
        assert automation["to_proto_error"], "Qwak accepts it now: make the case a plain one"
    else:
        assert automation["to_proto_error"] == "", automation["to_proto_error"]
    assert not result.failed, result.problems
    (written,) = result.written
    assert written.path is not None
    warned = [p for p in result.problems if p.severity is Severity.WARNING]
    import_warnings = {p.path for p in warned if p.code == "import.not-written"}
    assert import_warnings == _expected_warnings(case, automation["object"])
    # what `auto validate` will warn about is said at import time already
    assert {p.code for p in warned} <= {"import.not-written", "qwak.no-effect"}
    doc = _assert_valid_and_equal(written.path, automation["object"], sdk, strict=False)
    for path in case.stated:
        _at(doc, path)


def test_every_field_the_comparison_reads(built: dict[str, Any]) -> None:
    """compare.py read every field of every ported class at least once (in the cases above)."""
    for name, fields in ours.SDK_FIELDS.items():
        if name in ours.REPORTED:
            continue
        missing = set(fields) - HANDLED.get(name, set())
        if name == "Automation":
            missing -= {*NOT_WRITTEN, "is_deleted", "create_audit"}  # checked as warnings
        if name == "AutomationAudit":
            missing -= {"date", "user_id"}  # only inside create_audit, which is not written
        assert not missing, f"{name}: {sorted(missing)} never compared"


# ---------------------------------------------------------------- the repository's fixtures


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.py")), ids=lambda p: p.stem)
def test_fixture_imports_and_equals_the_sdk_objects(
    fixture: Path, built: dict[str, Any], sdk: dict[str, Any], tmp_path: Path
) -> None:
    sdk_result = built[f"fixture_{fixture.stem}"]
    assert "error" not in sdk_result, sdk_result
    by_name = {a["object"]["name"]: a for a in sdk_result["automations"]}
    assert by_name
    for automation in by_name.values():
        assert automation["to_proto_error"] == "", automation["to_proto_error"]
    out = tmp_path / "out"
    result = import_qwak([fixture], out)
    assert not result.failed, result.problems
    assert [p for p in result.problems if p.severity is Severity.ERROR] == []
    assert sorted(w.name for w in result.written) == sorted(by_name)
    for written in result.written:
        assert written.path is not None
        _assert_valid_and_equal(written.path, by_name[written.name]["object"], sdk, strict=True)
