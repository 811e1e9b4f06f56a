"""The build harness: runs INSIDE the build environment (a venv, a container, a pod).

    python -m qwak_auto.builders.harness REQUEST.json

The request names the model project (a copy of the repository path being built), its
main_dir, the output directory and the build's parameters and env_vars. The harness imports
the model (``main.load_model()``, else the one Model/QwakModel subclass in ``main``), calls
``build()`` with the parameters (also set as environment variables, as Qwak does) and
env_vars, runs the repository's ``tests/`` with pytest, saves the model with cloudpickle,
then serves it on a temporary local address and runs ``tests/it`` against it. It writes
``result.json`` (status, one-line reason, metrics, params, timings) and exits 0 or 1.

Only the standard library, cloudpickle and the model's own packages are imported here.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import pkgutil
import platform
import socket
import sys
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

RESULT = "result.json"
MODEL_FILE = "model.pkl"
SERVER_LOG_TAIL = 40  # lines of the tests/it model server's log shown when they fail


class HarnessFailure(Exception):
    """A failed build: the message is the one-line reason recorded with it."""


@dataclass(slots=True)
class Request:
    code_dir: Path
    main_dir: str
    out_dir: Path
    model_id: str
    build_id: str
    parameters: dict[str, str] = field(default_factory=dict)
    env_vars: dict[str, str] = field(default_factory=dict)
    run_tests: bool = True
    run_it: bool = True
    deadline: float = 0.0  # epoch seconds; 0 = none

    @classmethod
    def load(cls, path: Path) -> Request:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            code_dir=Path(raw["code_dir"]),
            main_dir=str(raw.get("main_dir", "main")),
            out_dir=Path(raw["out_dir"]),
            model_id=str(raw["model_id"]),
            build_id=str(raw["build_id"]),
            parameters={str(k): str(v) for k, v in (raw.get("parameters") or {}).items()},
            env_vars={str(k): str(v) for k, v in (raw.get("env_vars") or {}).items()},
            run_tests=bool(raw.get("run_tests", True)),
            run_it=bool(raw.get("run_it", True)),
            deadline=float(raw.get("deadline") or 0.0),
        )

    def remaining(self) -> float:
        if not self.deadline:
            return 3600.0
        left = self.deadline - time.time()
        if left <= 0:
            raise HarnessFailure("the build ran past its timeout")
        return left


def phase(name: str) -> None:
    """A progress marker the builder shows on the terminal (and keeps in the log)."""
    print(f"==> {name}", flush=True)


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
        raise HarnessFailure(f"importing {name}/ failed: {_one_line(exc)}") from None
    factory = getattr(package, "load_model", None)
    if callable(factory):
        try:
            return factory()
        except Exception as exc:  # noqa: BLE001 - any error of the model code fails the build
            traceback.print_exc()
            raise HarnessFailure(f"{name}.load_model() raised {_one_line(exc)}") from None
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
        raise HarnessFailure(f"{classes[0].__name__}() raised {_one_line(exc)}") from None


def _model_classes(package: ModuleType, main_path: Path, base: type) -> list[type]:
    modules = [package]
    for info in pkgutil.iter_modules([str(main_path)]):
        try:
            modules.append(importlib.import_module(f"{package.__name__}.{info.name}"))
        except Exception as exc:  # noqa: BLE001 - any error of the model code fails the build
            traceback.print_exc()
            raise HarnessFailure(
                f"importing {package.__name__}.{info.name} failed: {_one_line(exc)}"
            ) from None
    found: dict[str, type] = {}
    prefix = package.__name__
    for module in modules:
        for _, obj in inspect.getmembers(module, inspect.isclass):
            defined_here = obj.__module__ == prefix or obj.__module__.startswith(prefix + ".")
            if defined_here and issubclass(obj, base) and obj is not base:
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return list(found.values())


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    detail = text[0] if text else ""
    return f"{type(exc).__name__}: {detail}"[:300] if detail else type(exc).__name__


# ---------------------------------------------------------------- build and check


def run_build(model: Any) -> None:
    build = getattr(model, "build", None)
    if not callable(build):
        raise HarnessFailure(f"{type(model).__name__} has no build() method")
    try:
        build()
    except Exception as exc:  # noqa: BLE001 - any error of the model code fails the build
        traceback.print_exc()
        raise HarnessFailure(f"build() raised {_one_line(exc)}") from None


def checked_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    from qwak_auto.runtime import finite_number

    out: dict[str, float] = {}
    for name, value in metrics.items():
        number = finite_number(value)
        if number is None:
            raise HarnessFailure(f"metric {name!r} is not a finite number: {value!r}")
        out[name] = number
    return out


# ---------------------------------------------------------------- tests


def _test_files(folder: Path, skip: Path | None = None) -> bool:
    for path in folder.rglob("*.py"):
        if skip is not None and path.is_relative_to(skip):
            continue
        if path.name.startswith("test_") or path.name.endswith("_test.py"):
            return True
    return False


def _pytest_argv(request: Request, target: str, *extra: str) -> list[str]:
    argv = [sys.executable, "-m", "pytest", target, "-q", "-p", "no:cacheprovider", *extra]
    argv += ["--rootdir", str(request.code_dir)]
    if not any(
        (request.code_dir / name).is_file()
        for name in ("pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")
    ):
        # Without a config of its own, pytest would climb to a parent's (auto's own, say).
        ini = request.out_dir / "pytest-auto.ini"
        ini.write_text("[pytest]\n", encoding="utf-8")
        argv += ["-c", str(ini)]
    return argv


def _test_env(request: Request, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    existing = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = str(request.code_dir) + (os.pathsep + existing if existing else "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return env


def run_unit_tests(request: Request) -> str:
    from qwak_auto import proc
    from qwak_auto.errors import ProcError

    tests = request.code_dir / "tests"
    it_dir = tests / "it"
    if not tests.is_dir() or not _test_files(tests, skip=it_dir):
        return "no tests"
    phase("unit tests (tests/)")
    argv = _pytest_argv(request, "tests", "--ignore", str(it_dir))
    try:
        result = proc.run(
            argv,
            timeout=request.remaining(),
            env=_test_env(request),
            cwd=request.code_dir,
            stdout=sys.stdout,
            check=False,
        )
    except ProcError as exc:
        raise HarnessFailure(f"unit tests: {exc.message}") from None
    if result.returncode not in (0, 5):  # 5: nothing collected
        raise HarnessFailure(f"unit tests failed (tests/, pytest exit status {result.returncode})")
    return "passed"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, server: Any, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise HarnessFailure(f"the model server exited while starting: {_tail(log)}")
        try:
            with urllib.request.urlopen(url + "/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise HarnessFailure(f"the model server did not become ready within {timeout:g}s")


def _tail(log: Path) -> str:
    try:
        lines = [x for x in log.read_text(encoding="utf-8", errors="replace").splitlines() if x]
    except OSError:
        return "no output"
    return lines[-1][:300] if lines else "no output"


def has_it_tests(request: Request) -> bool:
    it_dir = request.code_dir / "tests" / "it"
    return it_dir.is_dir() and _test_files(it_dir)


class TestServer:
    """The built model served on a free local port while ``tests/it`` runs (as Qwak does).
    Started right after the model is saved, so it loads while the unit tests run."""

    def __init__(self, request: Request) -> None:
        from qwak_auto import proc

        if importlib.util.find_spec("qwak_auto.serve") is None:
            raise HarnessFailure(
                "tests/it needs the model server (python -m qwak_auto.serve), "
                "which this auto does not have"
            )
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = request.out_dir / "serve.log"
        argv = [
            sys.executable, "-m", "qwak_auto.serve",
            "--artifact", str(request.out_dir),
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", "1",
            "--timeout-ms", "60000",
            "--max-batch-size", "10000",
            "--model-id", request.model_id,
            "--variation", "build",
            "--build-id", request.build_id,
        ]  # fmt: skip
        self.server = proc.start(
            argv, env=dict(os.environ), cwd=request.out_dir, log=self.log, die_with_parent=True
        )

    def stop(self, show_log: bool) -> None:
        """Stop the server. Its own log (gunicorn's lines) stays out of the build's output
        unless the integration tests failed: then its tail follows, marked as such."""
        self.server.stop(grace=10)
        if not self.log.is_file():
            return
        if show_log:
            lines = self.log.read_text(encoding="utf-8", errors="replace").rstrip().splitlines()
            tail = lines[-SERVER_LOG_TAIL:]
            print(f"--- model server log (tests/it), last {len(tail)} lines ---", flush=True)
            print("\n".join(tail), flush=True)
            print("--- end of the model server log ---", flush=True)
        self.log.unlink()


def run_it_tests(request: Request, server: TestServer) -> str:
    """Run ``tests/it`` against the served model (``AUTO_MODEL_URL``)."""
    from qwak_auto import proc
    from qwak_auto.errors import ProcError

    phase("integration tests (tests/it) against the served model")
    _wait_ready(server.url, server.server, server.log, min(120.0, request.remaining()))
    extra = {"AUTO_MODEL_URL": server.url, "AUTO_MODEL_ID": request.model_id}
    it_dir = request.code_dir / "tests" / "it"
    try:
        result = proc.run(
            _pytest_argv(request, str(it_dir)),
            timeout=request.remaining(),
            env=_test_env(request, extra),
            cwd=request.code_dir,
            stdout=sys.stdout,
            check=False,
        )
    except ProcError as exc:
        raise HarnessFailure(f"integration tests: {exc.message}") from None
    if result.returncode not in (0, 5):
        raise HarnessFailure(
            f"integration tests failed (tests/it, pytest exit status {result.returncode})"
        )
    return "passed"


# ---------------------------------------------------------------- the whole build


def save_model(model: Any, out_dir: Path) -> None:
    import cloudpickle

    target = out_dir / MODEL_FILE
    try:
        with target.open("wb") as handle:
            cloudpickle.dump(model, handle)
    except Exception as exc:  # noqa: BLE001 - any error of the model code fails the build
        traceback.print_exc()
        raise HarnessFailure(f"the built model cannot be saved: {_one_line(exc)}") from None


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
