"""auto's ``qwak`` / ``qwak_inference`` packages against the real qwak-core 0.7.160 and
qwak-inference 0.2.1 (dev dependencies): for every module the shim provides, the same public
names and the same signatures (parameter names, kinds, defaults; a class's bases, members and
enum members), except what is listed below on purpose; and each thing left out fails, when a
model uses it, with a message that says what it is and what to do instead.

Each side is read by tests/integration/runtime/surface.py in its own interpreter, since both
are importable as ``qwak``.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHIM

SURFACE = Path(__file__).with_name("surface.py")

# Every module of the shim (each is compared with qwak-core's module of that name).
MODULES = [
    "qwak",
    "qwak.exceptions",
    "qwak.model",
    "qwak.model.adapters",
    "qwak.model.base",
    "qwak.model.decorators",
    "qwak.model.decorators.api",
    "qwak.model.decorators.timer",
    "qwak.model.schema",
    "qwak.model.schema_entities",
    "qwak.model.tools",
    "qwak.testing",
    "qwak.testing.fixtures",
    "qwak_inference",
    "qwak_inference.realtime_client",
    "qwak_inference.realtime_client.client",
]

# Left out on purpose, with the words the error a model gets must contain.
FEATURE_STORE = "Qwak's feature store"
DI = "qwak-core's dependency injection"
PROTO = "Qwak's protobuf build messages"
LEFT_OUT_NAMES: dict[str, dict[str, str]] = {
    "qwak": {
        "QwakClient": "Qwak's platform client",
        "load_file": "Qwak's hosted artifact store",
        "load_data": "Qwak's hosted artifact store",
        "load_model": "Qwak's hosted model store",
        "log_model": "Qwak's hosted model store",
        "wire_dependencies": DI,
    },
    "qwak.model.decorators.api": {"QwakRuntimeContainer": DI},
    "qwak.model.decorators.timer": {"QwakRuntimeContainer": DI},
    "qwak.model.tools": {
        "ContainerLock": DI,
        "QwakRuntimeContainer": DI,
        "wire_runtime_with_run_local": DI,
    },
    "qwak.model.schema": {"ProtoModelSchema": PROTO, "enrich_schema": FEATURE_STORE},
    "qwak.model.schema_entities": dict.fromkeys(
        (
            "ProtoBatchFeatureV1",
            "ProtoEntity",
            "ProtoExplicitFeature",
            "ProtoFeature",
            "ProtoInferenceOutput",
            "ProtoPrediction",
            "ProtoRequestInput",
            "ValueType",
        ),
        PROTO,
    ),
    "qwak_inference.realtime_client.client": {
        "DEFAULT_ENVIRONMENT_ERROR_MESSAGE": "the addresses of Qwak's platform",
        "QwakConstants": "the addresses of Qwak's platform",
        "RestSession": "the login to Qwak's platform",
    },
}
LEFT_OUT_MODULES: dict[str, str] = {
    "qwak.feature_store": FEATURE_STORE,
    "qwak.feature_store.online.client": FEATURE_STORE,
    "qwak.model.fs_info_mapping_retriever": FEATURE_STORE,
    "qwak.clients": "Qwak's platform clients",
    "qwak.clients.build_orchestrator": "Qwak's platform clients",
    "qwak.qwak_client": "Qwak's platform client",
    "qwak.automations": "auto import-qwak",
    "qwak.llmops": "Qwak's LLM platform",
    "qwak.model_loggers": "Qwak's hosted artifact store",
    "qwak.inner": DI,
    "qwak.model.decorators.impl": DI,
    "qwak.model.experiment_tracking": "qwak-core's internals",
    "qwak.model.analytics_logging": "qwak-core's internals",
    "qwak.model.utils": "qwak-core's internals",
    "qwak.model.tools.adapters": "qwak-core's internals",
    "qwak.model.tools.run_model_locally": "qwak-core's internals",
    "qwak.tools": "qwak-core's internals",
    "qwak.utils": "qwak-core's internals",
    "qwak_inference.batch_client": "Qwak's batch inference service",
    "qwak_inference.feedback_client": "Qwak's feedback service",
    "qwak_inference.configuration": "the login to Qwak's platform",
    "qwak_inference.constants": "the addresses of Qwak's platform",
    "qwak_inference.exceptions": "qwak.exceptions.QwakHTTPException",
}

# auto's additions, kept on purpose (each still works with code written for qwak-core).
EXTRA_NAMES: dict[str, set[str]] = {
    "qwak": {"analytics"},  # earlier auto releases' name for the api decorator
    "qwak.model.adapters": {"ProtobufFlavor"},  # qwak-core has it one module deeper
    "qwak.model.base": {"QwakModelInterface"},  # older SDKs' name of QwakModel
    "qwak.model.schema": {"Prediction", "RequestInput"},  # older SDKs exported them here
    "qwak_inference": {"InferenceOutputFormat"},  # earlier auto releases exported it here
}
EXTRA_PARAMS: dict[str, set[str]] = {
    "qwak.log_metric": {"value"},  # also log_metric("f1", 0.9)
    "qwak.log_param": {"value"},
    "ModelSchema.__init__": {"features", "predictions"},  # older SDKs' keywords
}
LEFT_OUT_MEMBERS = {"to_proto": PROTO}


def read_surface(python_path: str | None) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if python_path:
        env["PYTHONPATH"] = python_path
    done = subprocess.run(
        [sys.executable, str(SURFACE), *MODULES],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    surface: dict[str, Any] = json.loads(done.stdout)
    return surface


@pytest.fixture(scope="module")
def surfaces() -> tuple[dict[str, Any], dict[str, Any]]:
    versions = {}
    for dist in ("qwak-core", "qwak-inference"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pytest.fail(f"{dist} is a dev dependency: pip install -e '.[dev]'")
    assert versions == {"qwak-core": "0.7.160", "qwak-inference": "0.2.1"}
    return read_surface(None), read_surface(str(SHIM))


def compare_params(where: str, real: list[list[str]] | None, ours: list[list[str]] | None) -> None:
    assert (real is None) == (ours is None), where
    if real is None or ours is None:
        return
    assert ours[: len(real)] == real, f"{where}: {ours} differs from qwak-core's {real}"
    extra = {name for name, _kind, _default in ours[len(real) :]}
    assert extra <= EXTRA_PARAMS.get(where, set()), f"{where}: unexpected parameters {extra}"


def compare(where: str, real: dict[str, Any], ours: dict[str, Any]) -> None:
    assert ours["kind"] == real["kind"], (
        f"{where}: {ours['kind']} where qwak-core has {real['kind']}"
    )
    if real["kind"] == "function":
        compare_params(where, real["params"], ours["params"])
        return
    if real["kind"] == "enum":
        assert ours["enum"] == real["enum"], where
        return
    if real["kind"] != "class":
        return
    name = where.rpartition(".")[2]
    assert set(real["bases"]) <= set(ours["bases"]), f"{where}: bases {ours['bases']}"
    compare_params(f"{name}.__init__", real["init"], ours["init"])
    for member, spec in real["members"].items():
        if member in LEFT_OUT_MEMBERS:
            continue
        assert member in ours["members"], f"{where}.{member} is missing"
        theirs = ours["members"][member]
        assert theirs["kind"] == spec["kind"], f"{where}.{member}: {theirs} vs {spec}"
        if "params" in spec:
            compare_params(f"{name}.{member}", spec["params"], theirs["params"])


@pytest.mark.parametrize("module", MODULES)
def test_public_names_and_signatures_match_qwak_core(
    module: str, surfaces: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    real, ours = surfaces[0][module], surfaces[1][module]
    assert "<import error>" not in real, real
    assert "<import error>" not in ours, ours
    left_out = set(LEFT_OUT_NAMES.get(module, {}))
    missing = set(real) - set(ours) - left_out
    assert not missing, f"{module} lacks {sorted(missing)} (add them, or list them as left out)"
    extra = set(ours) - set(real) - EXTRA_NAMES.get(module, set())
    assert not extra, f"{module} has {sorted(extra)}, which qwak-core does not"
    assert not (left_out & set(ours)), f"{module}: listed as left out but provided"
    assert left_out <= set(real), f"{module}: left-out names qwak-core does not have"
    for name in sorted(set(real) & set(ours)):
        compare(f"{module}.{name}", real[name], ours[name])


LEFT_OUT_PROBE = """
import importlib, json, sys
results = {}
for module, names in json.loads(sys.argv[1]).items():
    for name in names:
        target = f"{module}.{name}" if name else module
        try:
            if name:
                getattr(importlib.import_module(module), name)
            else:
                importlib.import_module(module)
        except ImportError as exc:
            results[target] = [type(exc).__name__, str(exc)]
        else:
            results[target] = ["no error", ""]
print(json.dumps(results))
"""


def test_what_is_left_out_fails_with_a_clear_message() -> None:
    probes: dict[str, list[str]] = {m: list(names) for m, names in LEFT_OUT_NAMES.items()}
    for module in LEFT_OUT_MODULES:
        probes.setdefault(module, []).append("")
    env = {**os.environ, "PYTHONPATH": str(SHIM)}
    done = subprocess.run(
        [sys.executable, "-c", LEFT_OUT_PROBE, json.dumps(probes)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout)
    expected = {
        f"{m}.{n}": what for m, names in LEFT_OUT_NAMES.items() for n, what in names.items()
    }
    expected.update(LEFT_OUT_MODULES)
    assert set(results) == set(expected)
    for target, what in expected.items():
        kind, text = results[target]
        assert kind == "LeftOutError", f"{target}: {kind} {text}"
        assert what in text, f"{target}: {text}"
        assert "docs/migrating-from-qwak.md" in text, f"{target}: {text}"


def test_real_submodules_are_provided_or_listed() -> None:
    """Every module of qwak-core's ``qwak`` and ``qwak.model`` and of qwak-inference is either
    one the shim provides or one listed as left out."""
    script = (
        "import json, pkgutil, qwak, qwak.model, qwak_inference\n"
        "names = [f'{p.__name__}.{m.name}' for p in (qwak, qwak.model, qwak_inference)"
        " for m in pkgutil.iter_modules(p.__path__)]\n"
        "print(json.dumps(names))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    real_modules = set(json.loads(done.stdout))
    private = {m for m in real_modules if m.rpartition(".")[2].startswith("_")}
    unlisted = real_modules - private - set(MODULES) - set(LEFT_OUT_MODULES)
    assert not unlisted, f"qwak-core modules neither provided nor listed: {sorted(unlisted)}"
