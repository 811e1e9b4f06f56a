"""The build harness: runs INSIDE the build environment (a venv, a container, a pod).

    python -m qwak_auto.builders.harness REQUEST.json

The request names the model project (a copy of the repository path being built), its
main_dir, the output directory and the build's parameters and env_vars. The harness imports
the model (``main.load_model()``, else the one Model/QwakModel subclass in ``main``), calls
``build()`` with the parameters (also set as environment variables, as Qwak does) and
env_vars, runs the repository's ``tests/`` with pytest, saves the model with cloudpickle,
then serves it on a temporary local address and runs ``tests/it`` against it. It writes
``result.json`` (status, one-line reason, metrics, params, timings) and exits 0 or 1.
The request is :mod:`~qwak_auto.builders.harness_request`; the tests are
:mod:`~qwak_auto.builders.harness_tests`.

Only the standard library, cloudpickle and the model's own packages are imported here.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import pkgutil
import platform
import sys
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from qwak_auto.builders.harness_request import HarnessFailure, Request, one_line, phase
from qwak_auto.builders.harness_tests import TestServer, has_it_tests, run_it_tests, run_unit_tests

RESULT = "result.json"
MODEL_FILE = "model.pkl"


# ---------------------------------------------------------------- loading the model


def load_model(request: Request) -> Any:
    """The model instance: ``<main>.load_model()``, else the single model class in main/."""
    from qwak_auto.runtime import Model

    main_path = (request.code_dir / request.main_dir).resolve()
    if not main_path.is_dir():
        raise HarnessFailure(f"main_dir {request.main_dir!r} does not exist in the repository")
    parent, name = str(main_path.parent), main_path.name
    if parent not in sys.path:
        sys.path.insert(0, parent)
    if str(request.code_dir) not in sys.path:
        sys.path.insert(0, str(request.code_dir))
    try:
        package = importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - any error of the model code fails the build
        traceback.print_exc()
        raise HarnessFailure(f"importing {name}/ failed: {one_line(exc)}") from None
    factory = getattr(package, "load_model", None)
    if callable(factory):
        try:
            return factory()
        except Exception as exc:  # noqa: BLE001 - any error of the model code fails the build
            traceback.print_exc()
            raise HarnessFailure(f"{name}.load_model() raised {one_line(exc)}") from None
    classes = _model_classes(package, main_path, Model)
    if not classes:
        raise HarnessFailure(
            f"no model class: {name}/__init__.py has no load_model() and no subclass of "
            "QwakModel or qwak_auto.runtime.Model was found in it"
        )
    if len(classes) > 1:
        names = ", ".join(sorted(c.__qualname__ for c in classes))
        raise HarnessFailure(f"several model classes ({names}); add load_model() to {name}/")
    try:
        return classes[0]()
    except Exception as exc:  # noqa: BLE001 - any error of the model code fails the build
        traceback.print_exc()
        raise HarnessFailure(f"{classes[0].__name__}() raised {one_line(exc)}") from None


def _model_classes(package: ModuleType, main_path: Path, base: type) -> list[type]:
    modules = [package]
    for info in pkgutil.iter_modules([str(main_path)]):
        try:
            modules.append(importlib.import_module(f"{package.__name__}.{info.name}"))
        except Exception as exc:  # noqa: BLE001 - any error of the model code fails the build
            traceback.print_exc()
            raise HarnessFailure(
                f"importing {package.__name__}.{info.name} failed: {one_line(exc)}"
            ) from None
    found: dict[str, type] = {}
    prefix = package.__name__
    for module in modules:
        for _, obj in inspect.getmembers(module, inspect.isclass):
            defined_here = obj.__module__ == prefix or obj.__module__.startswith(prefix + ".")
            if defined_here and issubclass(obj, base) and obj is not base:
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return list(found.values())


# ---------------------------------------------------------------- build and check


def run_build(model: Any) -> None:
    build = getattr(model, "build", None)
    if not callable(build):
        raise HarnessFailure(f"{type(model).__name__} has no build() method")
    try:
        build()
    except Exception as exc:  # noqa: BLE001 - any error of the model code fails the build
        traceback.print_exc()
        raise HarnessFailure(f"build() raised {one_line(exc)}") from None


def checked_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    from qwak_auto.runtime import finite_number

    out: dict[str, float] = {}
    for name, value in metrics.items():
        number = finite_number(value)
        if number is None:
            raise HarnessFailure(f"metric {name!r} is not a finite number: {value!r}")
        out[name] = number
    return out


# ---------------------------------------------------------------- the whole build


def save_model(model: Any, out_dir: Path) -> None:
    import cloudpickle

    target = out_dir / MODEL_FILE
    try:
        with target.open("wb") as handle:
            cloudpickle.dump(model, handle)
    except Exception as exc:  # noqa: BLE001 - any error of the model code fails the build
        traceback.print_exc()
        raise HarnessFailure(f"the built model cannot be saved: {one_line(exc)}") from None


def execute(request: Request) -> dict[str, Any]:
    from qwak_auto import runtime

    timings: dict[str, float] = {}
    result: dict[str, Any] = {
        "status": "failed",
        "reason": "",
        "python": platform.python_version(),
        "timings": timings,
    }
    log = runtime.reset(request.parameters, request.env_vars)
    # Qwak hands build parameters to the model as environment variables.
    os.environ.update(request.parameters)
    os.environ.update(request.env_vars)
    main_path = request.code_dir / request.main_dir
    try:
        clock = time.monotonic()
        phase(f"loading the model from {request.main_dir}/")
        if main_path.is_dir():
            os.chdir(main_path)  # data files are read relative to main/, as in Qwak
        model = load_model(request)
        result["model_class"] = f"{type(model).__module__}.{type(model).__qualname__}"
        timings["load"] = time.monotonic() - clock

        clock = time.monotonic()
        phase(f"build() of {type(model).__qualname__}")
        run_build(model)
        timings["build"] = time.monotonic() - clock
        request.remaining()
        metrics = checked_metrics(log.metrics)
        result["metrics"] = metrics
        result["params"] = dict(log.params)
        result["data"] = {k: list(v) for k, v in log.data.items()}
        for name, value in sorted(metrics.items()):
            print(f"metric {name} = {value:g}", flush=True)

        clock = time.monotonic()
        phase("saving the model")
        save_model(model, request.out_dir)
        timings["save"] = time.monotonic() - clock

        server = TestServer(request) if request.run_it and has_it_tests(request) else None
        passed = False
        try:
            clock = time.monotonic()
            result["unit_tests"] = run_unit_tests(request) if request.run_tests else "skipped"
            timings["unit_tests"] = time.monotonic() - clock
            clock = time.monotonic()
            it_state = "skipped" if not request.run_it else "no tests"
            result["it_tests"] = run_it_tests(request, server) if server else it_state
            timings["it_tests"] = time.monotonic() - clock
            passed = True
        finally:
            if server is not None:
                server.stop(show_log=not passed)
    except HarnessFailure as exc:
        result["reason"] = str(exc)
        print(f"build failed: {exc}", flush=True)
        return result
    result["status"] = "succeeded"
    return result


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m qwak_auto.builders.harness REQUEST.json", file=sys.stderr)
        return 2
    request = Request.load(Path(args[0]))
    result = execute(request)
    tmp = request.out_dir / (RESULT + ".tmp")
    tmp.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    tmp.replace(request.out_dir / RESULT)
    return 0 if result["status"] == "succeeded" else 1


if __name__ == "__main__":
    from qwak_auto.platform.private import restrict_umask

    restrict_umask()  # what it writes in the home is private (issue 14)
    sys.exit(main())
