"""What every builder shares: build ids, the build log, staging, provenance, the record.

A build writes its artifact into ``builds/.tmp-<build_id>/`` and renames it to
``builds/<build_id>/`` only when everything succeeded, so a failed or killed build leaves no
half-written artifact. The log (``logs/builds/<build_id>.log``) is kept either way and is
what ``auto logs BUILD_ID`` shows; the artifact gets a copy of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from qwak_auto.redact import redact, redact_obj

if TYPE_CHECKING:
    from qwak_auto.automation.model import BuildSpec
    from qwak_auto.builders.requirements import Dependencies
    from qwak_auto.errors import BuildError, ProcError
    from qwak_auto.run.contracts import BuildResult, Checkout, Display, RunContext
    from qwak_auto.state.base import BuildRecord, StateStore

_IGNORED = shutil.ignore_patterns(".git", "__pycache__", "*.pyc", ".pytest_cache", ".venv")
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def utcnow() -> datetime:
    return datetime.now(UTC)


def builds_dir(home: Path) -> Path:
    return home / "builds"


def logs_dir(home: Path) -> Path:
    return home / "logs" / "builds"


def log_path(home: Path, build_id: str) -> Path:
    return logs_dir(home) / f"{build_id}.log"


def claim_build_id(home: Path, model_id: str, commit: str, now: datetime) -> tuple[str, Path]:
    """A new unique build id ``<model_id>-<UTC yyyymmddHHMMSS>-<short commit>``, claimed by
    creating its log file exclusively (a second build in the same second gets a suffix)."""
    base = (
        f"{_SAFE.sub('-', model_id)}-{now.astimezone(UTC):%Y%m%d%H%M%S}-{commit[:7] or 'nocommit'}"
    )
    folder = logs_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    candidate = base
    for _ in range(20):
        path = folder / f"{candidate}.log"
        if not (builds_dir(home) / candidate).exists():
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                pass
            else:
                os.close(fd)
                return candidate, path
        candidate = f"{base}-{uuid.uuid4().hex[:6]}"
    raise RuntimeError("could not claim a unique build id")  # pragma: no cover


def copy_code(project_dir: Path, dest: Path) -> None:
    """The model project (``main/``, ``tests/``, data files) without VCS and caches."""
    shutil.copytree(project_dir, dest, ignore=_IGNORED, symlinks=True)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(redact_obj(data), indent=2, default=str) + "\n", encoding="utf-8")


def one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return redact(lines[0] if lines else "unknown error")[:400]


def output_tail(text: str, *, lines: int = 3, limit: int = 300) -> str:
    """The last lines of a program's output on one line (`` | `` between them), at most
    ``limit`` characters: what a recorded reason shows of a program that died without saying
    why in its own words (the last line of a traceback names the error)."""
    kept: list[str] = []
    size = 0
    for line in reversed([ln.strip() for ln in text.splitlines() if ln.strip()]):
        if len(kept) == lines or (kept and size + len(line) + 3 > limit):
            break
        kept.insert(0, line[-limit:])
        size += len(line) + 3
    return redact(" | ".join(kept)) if kept else "no output"


class BuildOutput:
    """The build's output: every line goes to the log file (redacted) and, when the run has
    a display (a terminal's status line, plain lines in CI: :func:`qwak_auto.console.step_display`),
    to that display, one complete line at a time."""

    def __init__(self, path: Path, *, display: Display | None = None) -> None:
        self.path = path
        self.display = display
        self._file = path.open("a", encoding="utf-8")
        self._partial = ""

    def __enter__(self) -> BuildOutput:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self.display is not None:
            if self._partial:
                self.display.line(self._partial)
                self._partial = ""
            self.display.close()
        if not self._file.closed:
            self._file.close()

    def write(self, text: str) -> int:
        # The log file is the record; the display stops quietly when the terminal or pipe is
        # gone (qwak_auto.streams), so a vanished reader never fails the build.
        clean = redact(text)
        self._file.write(clean)
        self._file.flush()
        if self.display is not None:
            self._partial += clean
            *complete, self._partial = self._partial.split("\n")
            for line in complete:
                self.display.line(line)
        return len(text)

    def flush(self) -> None:
        if not self._file.closed:
            self._file.flush()

    def line(self, text: str) -> None:
        self.write(text.rstrip("\n") + "\n")


class BuildRecorder:
    """Keeps the build's record in the state store: running, then succeeded or failed."""

    def __init__(self, store: StateStore, record: BuildRecord) -> None:
        self.store = store
        self.record = record
        store.save_build(record)

    def finish(self, status: str, **changes: Any) -> BuildRecord:
        self.record = replace(self.record, status=status, ended_at=utcnow(), **changes)
        self.store.save_build(self.record)
        return self.record


def provenance(
    *,
    automation: str,
    spec_hash: str,
    model_id: str,
    build_id: str,
    builder: str,
    repo_url: str,
    branch: str,
    commit: str,
    dependencies: Mapping[str, Any],
    python: str,
    metrics: Mapping[str, float],
    params: Mapping[str, str],
    artifact: Mapping[str, Any],
    timings: Mapping[str, float],
    started_at: datetime,
    ended_at: datetime,
    tests: Mapping[str, str],
) -> dict[str, Any]:
    from qwak_auto import __version__

    return {
        "automation": automation,
        "spec_hash": spec_hash,
        "model_id": model_id,
        "build_id": build_id,
        "builder": builder,
        "source": {"repo_url": repo_url, "branch": branch, "commit": commit},
        "dependencies": dict(dependencies),
        "python": python,
        "metrics": dict(metrics),
        "params": dict(params),
        "artifact": dict(artifact),
        "tests": dict(tests),
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "started_at": started_at.isoformat(),
        "ended_at": ended_at.isoformat(),
        "auto_version": __version__,
    }


def build_timeout(environ: Mapping[str, str], default: float) -> float:
    """Seconds a build may take: the runner's build-step timeout (``AUTO_TIMEOUT_BUILD``) less
    a margin, so the builder fails cleanly, with its own reason, before the step is abandoned."""
    raw = environ.get("AUTO_TIMEOUT_BUILD") or os.environ.get("AUTO_TIMEOUT_BUILD")
    try:
        limit = float(raw) if raw else default
    except ValueError:
        limit = default
    return max(10.0, limit - min(60.0, limit * 0.1))


Work = tuple[Callable[["BuildOutput"], "BuildResult"], Callable[[], None]]


def recorded_build(
    *,
    builder: str,
    checkout: Checkout,
    ctx: RunContext,
    echo: bool,
    start: Callable[[str, BuildRecorder], Work],
) -> BuildResult:
    """What every builder does around its own work: claim a build id and a log, record the
    build (running → succeeded / failed), show and keep the output, and on any failure clean
    up, record a one-line reason and raise BuildError naming the log.

    ``start(build_id, recorder)`` returns the builder's work and its clean-up after a failure.
    """
    from qwak_auto.errors import AutoError, BuildError
    from qwak_auto.state.base import BuildRecord

    automation = ctx.automation
    started = utcnow()
    build_id, log_path = claim_build_id(
        ctx.config.home, automation.model_id, checkout.commit, started
    )
    recorder = BuildRecorder(
        ctx.store,
        BuildRecord(
            build_id=build_id,
            model_id=automation.model_id,
            automation=automation.name,
            run_id=ctx.run_id,
            status="running",
            started_at=started,
            commit=checkout.commit,
            builder=builder,
            log_path=str(log_path),
        ),
    )
    work, cleanup = start(build_id, recorder)
    title = f"build {automation.model_id} ({build_id})"
    display = ctx.display(title) if echo and ctx.display is not None else None
    with BuildOutput(log_path, display=display) as out:
        out.line(f"==> build {build_id} of {automation.name} at {checkout.commit} ({builder})")
        try:
            return work(out)
        except AutoError as exc:
            reason = one_line(exc.message)
            out.line(f"build failed: {reason}")
            if exc.hint:
                out.line(f"hint: {exc.hint}")
            cleanup()
            recorder.finish("failed", reason=reason)
            raise BuildError(
                f"build {build_id} failed: {reason}",
                exc.hint or f"the full log: auto logs {build_id}",
            ) from None
        except BaseException as exc:
            reason = (
                "interrupted"
                if isinstance(exc, KeyboardInterrupt)
                else f"internal error: {type(exc).__name__}: {one_line(str(exc))}"
            )
            out.line(f"build failed: {reason}")
            cleanup()
            recorder.finish("failed", reason=reason)
            raise


def step_failure(exc: ProcError, *, late: str, failed: str) -> BuildError:
    """A program of the build that failed: ``late`` when it ran out of time, else ``failed``."""
    from qwak_auto.errors import BuildError

    return BuildError(late if "did not finish" in exc.message else failed)


def require_main_dir(checkout: Checkout, spec: BuildSpec) -> None:
    if not checkout.main_dir.is_dir():
        from qwak_auto.errors import BuildError

        raise BuildError(
            f"main_dir {spec.main_dir!r} does not exist in {checkout.repo_url}"
            f"@{checkout.commit[:7]}" + (f"#{spec.sub_path}" if spec.sub_path else ""),
            "set build_spec.main_dir to the folder holding the model code",
        )


def relative_to(path: Path | None, root: Path) -> str | None:
    """``path`` as written inside ``root`` (for records), else as it is."""
    if path is None:
        return None
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def describe_dependencies(deps: Dependencies, root: Path) -> str:
    """One line for the build log: which dependency file, its kind, how many requirements."""
    as_of = f"; {deps.describe_as_of()}" if deps.as_of else ""
    if deps.file is None:
        return f"no dependency file; base packages only{as_of}"
    where = relative_to(deps.file, root)
    return f"{where} ({deps.kind}, {len(deps.requirements)} requirements){as_of}"


class Installed(Protocol):
    """A built dependency environment (a virtual environment, a docker image)."""

    @property
    def digest(self) -> str: ...
    @property
    def freeze(self) -> tuple[str, ...]: ...
    @property
    def reused(self) -> bool: ...
    @property
    def warnings(self) -> tuple[str, ...]: ...


def dependencies_record(
    deps: Dependencies, root: Path, installed: Installed, tool: str
) -> dict[str, Any]:
    """What provenance.json says about the build's dependencies."""
    return {
        "file": relative_to(deps.file, root),
        "kind": deps.kind,
        "hash": installed.digest,
        "requested": list(deps.specs()),
        "resolved": list(installed.freeze),
        "tool": tool,
        "environment_reused": installed.reused,
        "warnings": list(dict.fromkeys([*deps.warnings, *installed.warnings])),
        **deps.as_of_record(),
    }
