"""The only place that starts programs.

Every call takes an argv list (never a shell string), an explicit timeout and an explicit
environment. The program is looked up first; a missing one is a clear error that says how to
install it. Output is captured and redacted; a failure raises :class:`ProcError` carrying the
redacted argv, the exit status and the tail of stderr.

Every program runs in a process group of its own, so a timeout (or a stopped step) stops it
with everything it started. A program that :func:`run` waits for also dies with the thread
that started it (``setpriv --pdeathsig KILL``, where util-linux has it): a runner killed with
``kill -9`` takes its running git, pip or build harness along. While a run's step is active,
the runner sets a :class:`Ledger` (:func:`ledger`): every program is recorded there before it
is waited for, so the next tick can stop what a dead runner left, and once the ledger says
the step was cancelled no new program starts.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

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


class Ledger(Protocol):
    """Where a run's step records the programs it starts (see the module docstring)."""

    def started(self, pid: int, what: str, *, server: bool) -> None: ...
    def finished(self, pid: int) -> None: ...
    def cancelled(self) -> bool: ...


_LEDGER: contextvars.ContextVar[Ledger | None] = contextvars.ContextVar("ledger", default=None)


@contextlib.contextmanager
def ledger(book: Ledger) -> Iterator[None]:
    """Record every program started in this context (thread or copied context) in ``book``."""
    token = _LEDGER.set(book)
    try:
        yield
    finally:
        _LEDGER.reset(token)


@contextlib.contextmanager
def unrecorded() -> Iterator[None]:
    """Start shared programs (the local proxy) outside the current step's ledger: no step
    owns them, so no step's cancellation stops them."""
    token = _LEDGER.set(None)
    try:
        yield
    finally:
        _LEDGER.reset(token)


def current_ledger() -> Ledger | None:
    return _LEDGER.get()


def _admit(argv: Sequence[str]) -> Ledger | None:
    book = _LEDGER.get()
    if book is not None and book.cancelled():
        raise ProcError(
            f"not started: {Path(argv[0]).name}: the step was stopped (timed out or interrupted)"
        )
    return book


def _dies_with_parent(full: list[str]) -> list[str]:
    """``setpriv --pdeathsig KILL -- argv`` where setpriv exists (Linux, util-linux)."""
    setpriv = shutil.which("setpriv")
    if setpriv is None or not sys.platform.startswith("linux"):
        return full
    return [setpriv, "--pdeathsig", "KILL", "--", *full]


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> bool:
    """Signal a whole process group; False when it is gone."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


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
    book = _admit(argv)
    full = _dies_with_parent([exe, *argv[1:]])
    _echo(argv)
    environment = dict(env) if env is not None else dict(os.environ)
    if stdout is not None:
        return _run_streaming(full, argv, timeout, environment, cwd, input, check, stdout, book)
    try:
        popen = _spawn(full, environment, cwd, input, stderr=subprocess.PIPE)
    except OSError as exc:
        raise ProcError(f"could not start {Path(argv[0]).name}: {exc}", argv=_shown(argv)) from None
    if book is not None:
        book.started(popen.pid, Path(argv[0]).name, server=False)
    try:
        out, err = popen.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(popen)
        out, err = popen.communicate()
        raise ProcError(
            f"{Path(argv[0]).name} did not finish within {timeout:g}s",
            "raise the step's timeout or find out why it hangs (run with --debug)",
            argv=_shown(argv),
            stderr=redact(_text(err))[-_TAIL:],
        ) from None
    finally:
        if book is not None:
            book.finished(popen.pid)
    result = Result(_shown(argv), popen.returncode, redact(out or ""), redact(err or ""))
    if check and result.returncode != 0:
        raise _failure(result)
    return result


def _spawn(
    full: list[str], env: dict[str, str], cwd: str | Path | None, input: str | None, *, stderr: int
) -> subprocess.Popen[str]:
    """``full`` in a session of its own, its output piped to us as text (stderr: PIPE or
    STDOUT), stdin piped only when there is ``input``."""
    return subprocess.Popen(
        full,
        env=env,
        cwd=cwd,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        errors="replace",
        start_new_session=True,
    )


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
    book: Ledger | None,
) -> Result:
    proc = _spawn(full, env, cwd, input, stderr=subprocess.STDOUT)
    if book is not None:
        book.started(proc.pid, Path(argv[0]).name, server=False)
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
    finally:
        if book is not None:
            book.finished(proc.pid)
    reader.join(timeout=5)
    if failed:
        raise failed[0]
    text = "".join(lines)
    result = Result(_shown(argv), proc.returncode, text, text)
    if check and result.returncode != 0:
        raise _failure(result)
    return result


def _kill_group(proc: subprocess.Popen[str]) -> None:
    if not kill_group(proc.pid):
        with contextlib.suppress(OSError):
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
            if not kill_group(self.popen.pid, signal.SIGTERM):
                self.popen.terminate()
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                if not kill_group(self.popen.pid):
                    self.popen.kill()
                self.popen.wait(timeout=grace)
        return self.popen.returncode


def start(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    log: Path | None = None,
    die_with_parent: bool = False,
) -> Started:
    """Start a long-running program in its own process group, its output to ``log``. It
    outlives this process (a model server does) unless ``die_with_parent``."""
    if not argv:
        raise ProcError("empty command")
    exe = which(argv[0], env)
    book = _admit(argv)
    _echo(argv)
    out: IO[bytes] | int = subprocess.DEVNULL
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        out = log.open("ab")
    try:
        popen = subprocess.Popen(
            _dies_with_parent([exe, *argv[1:]]) if die_with_parent else [exe, *argv[1:]],
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
    if book is not None:
        book.started(popen.pid, Path(argv[0]).name, server=True)
    return Started(_shown(argv), popen)
