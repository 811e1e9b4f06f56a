"""Base images for the docker builder (the docker CLI plumbing is qwak_auto.platform.docker).

No image registry is reachable from every machine auto runs on, so the default base image is
made locally: ``debootstrap --variant=minbase`` of Debian bookworm (whose python3 is 3.11)
with python3, venv and pip, packed into a tarball and loaded with ``docker import``. That is
``auto images bootstrap``. The rootfs tarball may be kept in a cache directory, so a second
bootstrap (another engine on the same machine, a CI runner) only re-imports it (~2 s).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from qwak_auto import proc
from qwak_auto.errors import BuildError, ProcError
from qwak_auto.platform.docker import DOCKER_SHORT, docker_env, engine_version, image_id

DEFAULT_BASE_IMAGE = "local/python:3.11-bookworm"
SUITE = "bookworm"
PACKAGES = ("python3", "python3-venv", "python3-pip", "ca-certificates")
FALLBACK_MIRROR = "http://deb.debian.org/debian"
LABEL = "io.qwak-auto"  # every image auto makes carries this label (for `auto images list`)

DOCKER_IMPORT = 900.0
DEBOOTSTRAP_TIMEOUT = 1800.0


# ---------------------------------------------------------------- the apt mirror


_URIS = re.compile(r"^\s*URIs:\s*(\S+)", re.MULTILINE | re.IGNORECASE)
_DEB_LINE = re.compile(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", re.MULTILINE)


def apt_mirror(apt_dir: Path = Path("/etc/apt")) -> str | None:
    """The Debian mirror apt already uses: the first ``URIs:`` of a deb822 ``.sources`` file
    in ``sources.list.d`` (skipping security and updates archives), else the first ``deb``
    line of ``sources.list``."""
    candidates: list[str] = []
    folder = apt_dir / "sources.list.d"
    if folder.is_dir():
        for path in sorted(folder.glob("*.sources")):
            candidates += _URIS.findall(_read(path))
    for path in [apt_dir / "sources.list", *sorted(folder.glob("*.list"))]:
        candidates += [uri for uri, _suite in _DEB_LINE.findall(_read(path))]
    for uri in candidates:
        if "security" not in uri and uri.startswith(("http://", "https://", "file:")):
            return uri
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


# ---------------------------------------------------------------- bootstrap


@dataclass(frozen=True, slots=True, kw_only=True)
class Bootstrapped:
    tag: str
    image_id: str
    tarball: Path | None  # the cached rootfs tarball, None when not kept
    reused_tarball: bool
    seconds: float


def debootstrap_argv(rootfs: Path, mirror: str, *, suite: str = SUITE) -> list[str]:
    return [
        "debootstrap",
        "--variant=minbase",
        f"--include={','.join(PACKAGES)}",
        suite,
        str(rootfs),
        mirror,
    ]


def import_argv(tarball: Path, tag: str) -> list[str]:
    changes = [
        "ENV LANG=C.UTF-8",
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        'CMD ["python3"]',
        f"LABEL {LABEL}=base",
    ]
    argv = ["docker", "import"]
    for change in changes:
        argv += ["--change", change]
    return [*argv, str(tarball), tag]


def make_rootfs_tarball(
    dest: Path,
    *,
    mirror: str,
    out: IO[str],
    environ: Mapping[str, str],
    suite: str = SUITE,
    timeout: float = DEBOOTSTRAP_TIMEOUT,
) -> None:
    """debootstrap a minimal Debian with python3 into a temporary directory beside ``dest``
    and pack it into ``dest`` (written under a temporary name, renamed when complete)."""
    if os.geteuid() != 0:
        raise BuildError(
            "debootstrap needs root to make the base image",
            "run `sudo auto images bootstrap`, or set build_spec.base_image to an image you have",
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".rootfs-", dir=dest.parent))
    rootfs = work / "rootfs"
    partial = dest.with_name(dest.name + ".partial")
    env = {k: environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in environ}
    env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    try:
        out.write(f"==> debootstrap {suite} from {mirror} (about a minute)\n")
        try:
            proc.run(
                debootstrap_argv(rootfs, mirror, suite=suite), timeout=timeout, env=env, stdout=out
            )
        except ProcError as exc:
            raise BuildError(
                f"debootstrap failed: {exc.message}",
                "check that the mirror is reachable (--mirror URL); the output is above",
            ) from None
        # The package caches are ~100 MB the image does not need.
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            shutil.rmtree(rootfs / cache, ignore_errors=True)
        out.write(f"==> packing the root filesystem into {dest}\n")
        proc.run(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."],
            timeout=600,
            env=env,
        )
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)
        _remove_tree(work, env)


def _remove_tree(path: Path, env: Mapping[str, str]) -> None:
    # A rootfs holds device nodes and read-only directories; rm copes where rmtree may not.
    if path.exists():
        proc.run(["rm", "-rf", "--one-file-system", str(path)], timeout=300, env=env, check=False)


def bootstrap(
    *,
    tag: str = DEFAULT_BASE_IMAGE,
    mirror: str | None = None,
    cache_dir: Path | None = None,
    environ: Mapping[str, str],
    out: IO[str],
    force: bool = False,
) -> Bootstrapped:
    """Make the base image ``tag``: from the cached rootfs tarball when there is one, else
    with debootstrap (keeping the tarball in ``cache_dir`` when given)."""
    started = time.monotonic()
    engine_version(environ)
    mirror = mirror or apt_mirror() or FALLBACK_MIRROR
    reused = False
    scratch: Path | None = None
    if cache_dir is not None:
        tarball = cache_dir / f"rootfs-{SUITE}-{_slug(mirror)}.tar"
        if tarball.is_file() and not force:
            reused = True
            out.write(f"==> reusing the cached root filesystem {tarball}\n")
        else:
            make_rootfs_tarball(tarball, mirror=mirror, out=out, environ=environ)
    else:
        scratch = Path(tempfile.mkdtemp(prefix="auto-bootstrap-"))
        tarball = scratch / "rootfs.tar"
        try:
            make_rootfs_tarball(tarball, mirror=mirror, out=out, environ=environ)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
    try:
        out.write(f"==> docker import {tag}\n")
        try:
            proc.run(
                import_argv(tarball, tag),
                timeout=DOCKER_IMPORT,
                env=docker_env(environ),
                stdout=out,
            )
        except ProcError as exc:
            raise BuildError(f"docker import of {tag} failed: {exc.message}") from None
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    found = image_id(tag, environ)
    if found is None:
        raise BuildError(f"docker import finished but the engine has no image {tag}")
    return Bootstrapped(
        tag=tag,
        image_id=found,
        tarball=tarball if cache_dir is not None else None,
        reused_tarball=reused,
        seconds=time.monotonic() - started,
    )


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:60] or "mirror"


# ---------------------------------------------------------------- listing


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageRow:
    repository: str
    tag: str
    image_id: str
    created: str
    size: str
    kind: str  # base | dependencies | model


def list_images(environ: Mapping[str, str]) -> list[ImageRow]:
    """Every image auto made (base images, dependency images, model images)."""
    engine_version(environ)
    result = proc.run(
        [
            "docker",
            "image",
            "ls",
            "--filter",
            f"label={LABEL}",
            "--format",
            "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedAt}}\t{{.Size}}",
        ],
        timeout=DOCKER_SHORT,
        env=docker_env(environ),
    )
    rows = []
    for line in result.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) != 5:
            continue
        repo, tag, iid, created, size = parts
        rows.append(
            ImageRow(
                repository=repo,
                tag=tag,
                image_id=iid,
                created=created,
                size=size,
                kind=_kind(repo),
            )
        )
    return rows


def _kind(repository: str) -> str:
    if repository.startswith("auto-deps"):
        return "dependencies"
    if repository.startswith("auto/"):
        return "model"
    return "base"
