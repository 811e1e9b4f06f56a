"""The build harness's tests: the repository's ``tests/`` with pytest, then ``tests/it``
against the built model served on a free local port (as Qwak does).

Only the standard library and the model's own packages are imported here.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qwak_auto.builders.harness_request import HarnessFailure, Request, phase

SERVER_LOG_TAIL = 40  # lines of the tests/it model server's log shown when they fail


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


def _run_pytest(
    request: Request, what: str, where: str, argv: list[str], extra: Mapping[str, str] | None
) -> str:
    from qwak_auto import proc
    from qwak_auto.errors import ProcError

    try:
        result = proc.run(
            argv,
            timeout=request.remaining(),
            env=_test_env(request, extra),
            cwd=request.code_dir,
            stdout=sys.stdout,
            check=False,
        )
    except ProcError as exc:
        raise HarnessFailure(f"{what}: {exc.message}") from None
    if result.returncode not in (0, 5):  # 5: nothing collected
        raise HarnessFailure(f"{what} failed ({where}, pytest exit status {result.returncode})")
    return "passed"


def run_unit_tests(request: Request) -> str:
    tests = request.code_dir / "tests"
    it_dir = tests / "it"
    if not tests.is_dir() or not _test_files(tests, skip=it_dir):
        return "no tests"
    phase("unit tests (tests/)")
    argv = _pytest_argv(request, "tests", "--ignore", str(it_dir))
    return _run_pytest(request, "unit tests", "tests/", argv, None)


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
    phase("integration tests (tests/it) against the served model")
    _wait_ready(server.url, server.server, server.log, min(120.0, request.remaining()))
    extra = {"AUTO_MODEL_URL": server.url, "AUTO_MODEL_ID": request.model_id}
    argv = _pytest_argv(request, str(request.code_dir / "tests" / "it"))
    return _run_pytest(request, "integration tests", "tests/it", argv, extra)
