"""Build environments: one virtual environment per dependency hash, created once, reused.

``config.home/cache/envs/<hash>`` is made with uv when it is available (about ten times
faster than pip, and its cache works here) and with ``python -m venv`` + pip otherwise. A
lock file serialises concurrent builds of the same hash; ``auto-env.json`` is written last,
so a half-made environment (a killed build) is recognised and made again. The environment
gets a ``.pth`` file that puts auto's runtime and the ``qwak`` compatibility package on
``sys.path``, through a symlink refreshed on every use (so a moved checkout still works).

Other builds' harnesses start from a ready environment while a build holding the lock
checks it, so nothing they read is ever rewritten in place (issue 14: a ``.pth`` truncated
and written again under their feet made 1-2 of 25 concurrent cold builds fail with
``No module named 'qwak_auto'``): the link and the ``.pth`` are replaced by a rename, and
only when they change.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from qwak_auto import proc
from qwak_auto.builders.requirements import (
    PIP_CUTOFF_NOTE,
    PIP_WITH_CUTOFF,
    PROXY_NAMES,
    Dependencies,
    Requirement,
)
from qwak_auto.errors import BuildError, ProcError
from qwak_auto.platform.files import write_if_changed, write_whole
from qwak_auto.platform.locks import locked

MARKER = "auto-env.json"
PTH_NAME = "_qwak_auto.pth"
# Environment variables the installers may need (index, certificates, proxies, caches).
_PASS_PREFIXES = ("PIP_", "UV_", "SSL_", "XDG_")
_PASS_NAMES = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    *PROXY_NAMES,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildEnv:
    path: Path
    python: Path
    digest: str
    tool: str  # uv | pip
    reused: bool
    freeze: tuple[str, ...]
    warnings: tuple[str, ...]
    seconds: float


def find_uv(environ: Mapping[str, str]) -> str | None:
    """uv on PATH, else next to the running interpreter (a dev dependency in .venv/bin)."""
    found = shutil.which("uv", path=environ.get("PATH", os.defpath))
    if found:
        return found
    beside = Path(sys.executable).parent / "uv"
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None


def tool_env(environ: Mapping[str, str]) -> dict[str, str]:
    """An explicit environment for the installers: only what they need from ours."""
    env = {k: v for k, v in environ.items() if k in _PASS_NAMES or k.startswith(_PASS_PREFIXES)}
    env.setdefault("PATH", os.defpath)
    env.pop("PYTHONPATH", None)
    env["PYTHONNOUSERSITE"] = "1"
    env["VIRTUAL_ENV"] = ""
    return env


def package_root() -> Path:
    """The ``qwak_auto`` package directory of the running auto."""
    return Path(__file__).resolve().parent.parent


def env_python(path: Path) -> Path:
    return path / "bin" / "python"


def site_packages(path: Path) -> Path:
    return (
        path / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    )


def link_runtime(path: Path) -> None:
    """Point the environment's ``.pth`` at auto's runtime and the qwak shim."""
    link_dir = path / "auto-path"
    link_dir.mkdir(exist_ok=True)
    link = link_dir / "qwak_auto"
    target = package_root()
    if not (link.is_symlink() and link.readlink() == target):
        tmp = link_dir / f".qwak_auto.{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(target, target_is_directory=True)
        tmp.replace(link)
    shim = link / "runtime" / "shim"
    site = site_packages(path)
    site.mkdir(parents=True, exist_ok=True)
    write_if_changed(site / PTH_NAME, f"{link_dir}\n{shim}\n")


def ensure_env(
    deps: Dependencies,
    *,
    home: Path,
    out: IO[str],
    environ: Mapping[str, str],
    timeout: float = 1800.0,
    use_uv: bool | None = None,
) -> BuildEnv:
    """The build environment for ``deps``: reused when it exists, else created now."""
    started = time.monotonic()
    digest = deps.digest()
    path = home / "cache" / "envs" / digest
    lock = path.parent / f"{digest}.lock"
    # Held while another build creates this environment (minutes, cold): the build's own
    # timeout is the longest anyone waits.
    with locked(lock, timeout=timeout, what=f"the build environment {digest}"):
        marker = path / MARKER
        meta = _read_marker(marker)
        if meta is not None:
            link_runtime(path)
            out.write(f"==> environment {digest}: reused ({meta.get('tool', '?')})\n")
            return BuildEnv(
                path=path,
                python=env_python(path),
                digest=digest,
                tool=str(meta.get("tool", "")),
                reused=True,
                freeze=tuple(meta.get("freeze", ())),
                warnings=tuple(meta.get("warnings", ())),
                seconds=time.monotonic() - started,
            )
        if path.exists():
            shutil.rmtree(path)  # a half-made environment from an interrupted build
        uv = find_uv(environ) if use_uv is not False else None
        if use_uv and uv is None:
            raise BuildError("uv was asked for but is not installed", proc.INSTALL_HINTS["uv"])
        tool = "uv" if uv else "pip"
        out.write(f"==> environment {digest}: creating with {tool}\n")
        env = tool_env(environ)
        try:
            deadline = time.monotonic() + timeout
            _create_venv(path, uv, out, env)
            warnings = install(path, deps, uv, out, env, deadline)
            freeze = _freeze(path, uv, env)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        link_runtime(path)
        make_private(path)
        meta = {"tool": tool, "specs": list(deps.specs()), "freeze": freeze, "warnings": warnings}
        write_whole(marker, json.dumps(meta, indent=2))
        return BuildEnv(
            path=path,
            python=env_python(path),
            digest=digest,
            tool=tool,
            reused=False,
            freeze=tuple(freeze),
            warnings=tuple(warnings),
            seconds=time.monotonic() - started,
        )


def make_private(path: Path) -> None:
    """What the installer wrote into the environment with modes for everyone (uv's ``.lock``
    is 0666, its scripts 0711) made its owner's alone, as everything in the home is (issue
    14). A file with other hard links is the installer's cache's (uv links package files
    from it): its mode is the cache's, and changing it would change the cache's; such files
    are public packages, and the 0700 home keeps other users away from them."""
    for folder, _dirs, names in os.walk(path):
        for entry in (Path(folder), *(Path(folder) / n for n in names)):
            info = entry.lstat()
            shared = stat.S_ISREG(info.st_mode) and info.st_nlink > 1
            if stat.S_ISLNK(info.st_mode) or shared:
                continue
            if info.st_mode & 0o077:
                entry.chmod(stat.S_IMODE(info.st_mode) & 0o700)


def _read_marker(marker: Path) -> dict[str, Any] | None:
    """The ready environment's record, or None when it is not ready (or the record is
    unreadable: an environment made by an older auto that was killed while writing it)."""
    try:
        meta = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _create_venv(path: Path, uv: str | None, out: IO[str], env: dict[str, str]) -> None:
    if uv:
        proc.run(
            [uv, "venv", "--quiet", "--python", sys.executable, str(path)],
            timeout=120,
            env=env,
            stdout=out,
        )
    else:
        proc.run([sys.executable, "-m", "venv", str(path)], timeout=300, env=env, stdout=out)


def _install_argv(
    path: Path, uv: str | None, req_file: Path, uploaded_before: str | None = None
) -> list[str]:
    if uv:
        cutoff = ["--exclude-newer", uploaded_before] if uploaded_before else []
        return [
            uv,
            "pip",
            "install",
            "--python",
            str(env_python(path)),
            *cutoff,
            "-r",
            str(req_file),
        ]
    cutoff = ["--uploaded-prior-to", uploaded_before] if uploaded_before else []
    python = str(env_python(path))
    return [python, "-m", "pip", "install", "--quiet", *cutoff, "-r", str(req_file)]


def _pip_with_cutoff(path: Path, out: IO[str], env: dict[str, str], deadline: float) -> None:
    """venv's bundled pip predates --uploaded-prior-to: bring one that has it (the installer
    itself is not held to the date; the model's packages are)."""
    argv = [str(env_python(path)), "-m", "pip", "install", "--quiet", PIP_WITH_CUTOFF]
    proc.run(argv, timeout=max(1.0, deadline - time.monotonic()), env=env, stdout=out)


def install(
    path: Path,
    deps: Dependencies,
    uv: str | None,
    out: IO[str],
    env: dict[str, str],
    deadline: float,
) -> list[str]:
    """Install the requirements; when that fails because of version pins, drop the pins the
    installer named (then all pins) and try again, warning for each dropped pin's line."""
    requirements = list(deps.requirements)
    warnings: list[str] = []
    attempts = 0
    if deps.as_of is not None and not uv:
        out.write(PIP_CUTOFF_NOTE + "\n")
        _pip_with_cutoff(path, out, env, deadline)
    while True:
        attempts += 1
        specs = _specs(requirements, deps)
        req_file = path / "requirements.auto.txt"
        req_file.write_text("\n".join(specs) + "\n", encoding="utf-8")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BuildError("installing dependencies took longer than the build's timeout")
        try:
            argv = _install_argv(path, uv, req_file, deps.uploaded_before)
            proc.run(argv, timeout=remaining, env=env, stdout=out)
            return warnings
        except ProcError as exc:
            output = exc.stdout + exc.stderr
            relaxed = _relax(requirements, output, all_pins=attempts > 1)
            if not relaxed and attempts == 1:
                relaxed = _relax(requirements, output, all_pins=True)
            if attempts > 2 or not relaxed:
                raise BuildError(
                    f"dependencies failed to install: {_last_error(exc)}",
                    "check the dependency file; the build log has the installer's output",
                ) from None
            for old, new in relaxed:
                requirements[requirements.index(old)] = new
                note = f"{old.origin}: {old.spec} cannot be satisfied; installed {new.spec}"
                warnings.append(note)
                out.write(f"warning: {note}\n")


def _specs(requirements: Sequence[Requirement], deps: Dependencies) -> list[str]:
    names = {r.name for r in requirements}
    base = [p for p in deps.specs()[len(deps.requirements) :] if p not in names]
    return [r.spec for r in requirements] + base


def _relax(
    requirements: Sequence[Requirement], output: str, *, all_pins: bool
) -> list[tuple[Requirement, Requirement]]:
    text = output.lower()
    out = []
    for req in requirements:
        if req.unpinned is None:
            continue
        named = re.search(rf"(?<![a-z0-9_.-]){re.escape(req.name)}(?![a-z0-9_-])", text)
        if all_pins or named:
            out.append((req, Requirement(spec=req.unpinned, origin=req.origin)))
    return out


def _last_error(exc: ProcError) -> str:
    lines = [line.strip() for line in (exc.stdout or exc.stderr).splitlines() if line.strip()]
    for line in reversed(lines):
        if "error" in line.lower() or "because" in line.lower() or "no solution" in line.lower():
            return line[:300]
    return (lines[-1] if lines else exc.message)[:300]


def _freeze(path: Path, uv: str | None, env: dict[str, str]) -> list[str]:
    if uv:
        argv = [uv, "pip", "freeze", "--python", str(env_python(path))]
    else:
        argv = [str(env_python(path)), "-m", "pip", "freeze", "--all"]
    result = proc.run(argv, timeout=120, env=env)
    return [line for line in result.stdout.splitlines() if line.strip()]
