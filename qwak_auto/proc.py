"""The only place that starts programs.

Every call takes an argv list (never a shell string), an explicit timeout and an explicit
environment. The program is looked up first; a missing one is a clear error that says how to
install it. Output is captured and redacted; a failure raises :class:`ProcError` carrying the
redacted argv, the exit status and the tail of stderr.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from qwak_auto import streams
from qwak_auto.errors import ProcError
from qwak_auto.redact import redact

INSTALL_HINTS: Mapping[str, str] = {
    "git": "install git (Debian: apt-get install -y git)",
    "docker": "install Docker (Debian: apt-get install -y docker.io) and start dockerd",
    "kubectl": "install kubectl (https://kubernetes.io/docs/tasks/tools/) and put it on PATH",
    "gunicorn": "install gunicorn into the model's environment (pip install gunicorn)",
    "uv": "pip install uv (or leave it out: auto falls back to python -m venv + pip)",
    "debootstrap": "apt-get install -y debootstrap",
}

_TAIL = 2000
_debug = False


def set_debug(enabled: bool) -> None:
    global _debug
    _debug = enabled


@dataclass(frozen=True, slots=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def which(program: str, env: Mapping[str, str] | None = None) -> str:
    """Resolve a program on PATH or raise a ProcError that says how to install it."""
    if os.sep in program:
        if Path(program).exists():
            return program
        found = None
    else:
        path = (env or os.environ).get("PATH", os.defpath)
        found = shutil.which(program, path=path)
    if found is None:
        name = Path(program).name
        hint = INSTALL_HINTS.get(name, f"install {name} and put it on PATH")
        raise ProcError(f"program not found: {name}", hint)
    return found


def _shown(argv: Sequence[str]) -> tuple[str, ...]:
    return tuple(redact(a) for a in argv)


def _echo(argv: Sequence[str]) -> None:
    if _debug:
        streams.write(sys.stderr, "+ " + " ".join(_shown(argv)) + "\n")


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    input: str | None = None,
    check: bool = True,
    stdout: IO[str] | None = None,
) -> Result:
    """Run a program to completion with a timeout; capture and redact its output.

    With ``stdout`` given, the program's combined output is streamed there (line by line,
    redacted) instead of being captured.
    """
    if not argv:
        raise ProcError("empty command")
    exe = which(argv[0], env)
    full = [exe, *argv[1:]]
    _echo(argv)
    environment = dict(env) if env is not None else dict(os.environ)
    try:
        if stdout is not None:
            return _run_streaming(full, argv, timeout, environment, cwd, input, check, stdout)
        completed = subprocess.run(
            full,
            env=environment,
            cwd=cwd,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=None if input is not None else subprocess.DEVNULL,
            errors="replace",
        )
    except subprocess.TimeoutExpired as exc:
        raise ProcError(
            f"{Path(argv[0]).name} did not finish within {timeout:g}s",
            "raise the step's timeout or find out why it hangs (run with --debug)",
            argv=_shown(argv),
            stderr=redact(_text(exc.stderr))[-_TAIL:],
        ) from None
    except OSError as exc:
        raise ProcError(f"could not start {Path(argv[0]).name}: {exc}", argv=_shown(argv)) from None
    result = Result(
        _shown(argv), completed.returncode, redact(completed.stdout), redact(completed.stderr)
    )
    if check and result.returncode != 0:
        raise _failure(result)
    return result


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data


def _failure(result: Result) -> ProcError:
    name = Path(result.argv[0]).name
    tail = (result.stderr or result.stdout)[-_TAIL:].strip()
    message = f"{name} exited with status {result.returncode}"
    if tail:
        message += f": {tail.splitlines()[-1]}"
    return ProcError(
        message,
        "the full output is in the step's log; run with --debug to see the command",
        argv=result.argv,
        returncode=result.returncode,
        stdout=result.stdout[-_TAIL:],
        stderr=tail,
    )


def _run_streaming(
    full: list[str],
    argv: Sequence[str],
    timeout: float,
    env: dict[str, str],
    cwd: str | Path | None,
    input: str | None,
    check: bool,
    out: IO[str],
) -> Result:
    import threading

    proc = subprocess.Popen(
        full,
        env=env,
        cwd=cwd,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    lines: list[str] = []
    failed: list[BaseException] = []

    def pump() -> None:
        # Keep reading to the end whatever happens to `out`: a reader that stops would leave
        # the program blocked on a full pipe until the timeout. A vanished terminal/pipe just
        # ends the echo (streams.write); another error writing `out` (a full disk under the
        # build log) is raised once the program has finished.
        assert proc.stdout is not None
        forward = True
        for line in proc.stdout:
            clean = redact(line)
            lines.append(clean)
            if not forward:
                continue
            try:
                forward = streams.write(out, clean)
            except Exception as exc:  # noqa: BLE001 - re-raised after the program ends
                failed.append(exc)
                forward = False

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    if input is not None and proc.stdin is not None:
        proc.stdin.write(input)
        proc.stdin.close()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        reader.join(timeout=5)
        raise ProcError(
            f"{Path(argv[0]).name} did not finish within {timeout:g}s",
            "raise the step's timeout or find out why it hangs (see the step's log)",
            argv=_shown(argv),
            stderr="".join(lines)[-_TAIL:],
        ) from None
    reader.join(timeout=5)
    if failed:
        raise failed[0]
    text = "".join(lines)
    result = Result(_shown(argv), proc.returncode, text, text)
    if check and result.returncode != 0:
        raise _failure(result)
    return result


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()
    proc.wait(timeout=10)


@dataclass(slots=True)
class Started:
    """A long-running program (a server). Stop it with :meth:`stop`."""

    argv: tuple[str, ...]
    popen: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.popen.pid

    def poll(self) -> int | None:
        return self.popen.poll()

    def stop(self, grace: float = 10.0) -> int:
        """SIGTERM the process group, then SIGKILL after ``grace`` seconds."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
            except OSError:
                self.popen.terminate()
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.popen.pid, signal.SIGKILL)
                except OSError:
                    self.popen.kill()
                self.popen.wait(timeout=grace)
        return self.popen.returncode


def start(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    log: Path | None = None,
) -> Started:
    """Start a long-running program in its own process group, its output to ``log``."""
    if not argv:
        raise ProcError("empty command")
    exe = which(argv[0], env)
    _echo(argv)
    out: IO[bytes] | int = subprocess.DEVNULL
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        out = log.open("ab")
    try:
        popen = subprocess.Popen(
            [exe, *argv[1:]],
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        raise ProcError(f"could not start {Path(argv[0]).name}: {exc}", argv=_shown(argv)) from None
    finally:
        if not isinstance(out, int):
            out.close()
    return Started(_shown(argv), popen)
