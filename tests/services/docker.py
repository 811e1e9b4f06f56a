"""A private Docker engine for the session, and the locally bootstrapped base image.

One ``dockerd`` per test session (overlay2, vfs when overlay2 will not start) on a socket in
a temporary directory; DOCKER_HOST points the tests at it. The base image is made once per
machine: the debootstrapped rootfs tarball is cached in /var/cache/qwak-auto-tests (override
with AUTO_TEST_IMAGE_CACHE), so later sessions only ``docker import`` it (~2 s).
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import missing_service

CACHE = Path(os.environ.get("AUTO_TEST_IMAGE_CACHE", "/var/cache/qwak-auto-tests"))


class Engine:
    def __init__(self, root: Path, host: str, driver: str) -> None:
        self.root = root
        self.host = host
        self.driver = driver

    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": self.host, "DOCKER_BUILDKIT": "0"}

    def docker(self, *args: str, timeout: float = 120, check: bool = True) -> str:
        done = subprocess.run(
            ["docker", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed: {done.stderr[-2000:]}")
        return done.stdout

    def docker_bytes(self, *args: str, timeout: float = 300) -> bytes:
        done = subprocess.run(
            ["docker", *args], env=self.env(), capture_output=True, timeout=timeout, check=True
        )
        return done.stdout


def _start(root: Path, driver: str) -> subprocess.Popen[bytes] | None:
    sock = root / "docker.sock"
    log = (root / f"dockerd-{driver}.log").open("wb")
    popen = subprocess.Popen(
        [
            "dockerd",
            f"--storage-driver={driver}",
            "--iptables=false",
            "--bridge=none",
            "--data-root",
            str(root / "data"),
            "--exec-root",
            str(root / "exec"),
            "--pidfile",
            str(root / "pid"),
            "-H",
            f"unix://{sock}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()
    env = {**os.environ, "DOCKER_HOST": f"unix://{sock}"}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            return None
        done = subprocess.run(
            ["docker", "info", "--format", "{{.Driver}}"],
            env=env,
            capture_output=True,
            timeout=30,
            check=False,
        )
        if done.returncode == 0:
            return popen
        time.sleep(0.3)
    _stop(popen, root)
    return None


def _stop(popen: subprocess.Popen[bytes], root: Path) -> None:
    if popen.poll() is None:
        popen.terminate()
        try:
            popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(timeout=10)
    netns = root / "exec" / "netns" / "default"
    if netns.exists():
        subprocess.run(["umount", str(netns)], capture_output=True, timeout=30, check=False)


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Engine]:
    # Tests never install system packages: .ci/system-packages.sh provisions them.
    if not shutil.which("dockerd") or not shutil.which("docker"):
        missing_service(
            "docker", "dockerd/docker are not installed (bash .ci/system-packages.sh as root)"
        )
    if os.geteuid() != 0:
        missing_service("docker", "a private dockerd needs root")
    root = Path(tempfile.mkdtemp(prefix="auto-dockerd-", dir="/tmp"))
    popen = None
    driver = ""
    for driver in ("overlay2", "vfs"):
        popen = _start(root, driver)
        if popen is not None:
            break
        shutil.rmtree(root / "data", ignore_errors=True)
    if popen is None:
        logs = "".join(p.read_text(errors="replace")[-500:] for p in root.glob("dockerd-*.log"))
        shutil.rmtree(root, ignore_errors=True)
        missing_service("docker", f"dockerd did not start: {logs.strip()[-300:]}")
        raise AssertionError("unreachable")
    engine = Engine(root, f"unix://{root / 'docker.sock'}", driver)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DOCKER_HOST", engine.host)
        try:
            yield engine
        finally:
            _stop(popen, root)
            subprocess.run(
                ["rm", "-rf", "--one-file-system", str(root)],
                capture_output=True,
                timeout=300,
                check=False,
            )


@contextlib.contextmanager
def _cache_lock(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def base_image(docker_engine: Engine) -> str:
    """local/python:3.11-bookworm in the session's engine, made from the cached rootfs."""
    from qwak_auto.builders import images
    from qwak_auto.errors import AutoError

    if not shutil.which("debootstrap"):
        missing_service(
            "docker", "debootstrap is not installed (bash .ci/system-packages.sh as root)"
        )
    out = io.StringIO()
    environ = {**os.environ, "DOCKER_HOST": docker_engine.host}
    try:
        with _cache_lock(CACHE):
            made = images.bootstrap(cache_dir=CACHE, environ=environ, out=out)
    except AutoError as exc:
        missing_service("docker", f"the base image could not be made: {exc.message}")
        raise
    return made.tag


# ---------------------------------------------------------------- build contexts
