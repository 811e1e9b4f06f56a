"""Tests never install system packages (issue 14): as root, the Docker and image-registry
fixtures ran ``apt-get install docker.io debootstrap docker-registry`` from inside the test
session. Now .ci/system-packages.sh provisions them and a session without them skips.

The session fixtures run in a pytest of their own whose PATH has every program of this
machine except the Docker engine, the registry and debootstrap, and an ``apt-get`` (and
``apt``, ``dpkg``) that only records being called.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.integration.reliability.conftest import REPO

HIDDEN = {"docker", "dockerd", "docker-registry", "debootstrap"}
RECORDER = '#!/bin/sh\necho "$0 $*" >> {log}\nexit 1\n'
NEEDS = """\
def test_engine(docker_engine):
    pass


def test_registry(image_registry):
    pass


def test_base_image(base_image):
    pass
"""


def _path_without_services(bin_dir: Path, log: Path) -> str:
    bin_dir.mkdir()
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        if not os.path.isdir(folder):
            continue
        for name in os.listdir(folder):
            target = bin_dir / name
            if name not in HIDDEN and not target.exists():
                target.symlink_to(Path(folder) / name)
    for name in ("apt-get", "apt", "dpkg"):
        recorder = bin_dir / name
        recorder.unlink(missing_ok=True)
        recorder.write_text(RECORDER.format(log=log))
        recorder.chmod(0o755)
    return str(bin_dir)


def test_absent_services_skip_and_nothing_is_installed(tmp_path: Path) -> None:
    log = tmp_path / "installers.log"
    (tmp_path / "test_needs_services.py").write_text(NEEDS)
    env = {
        **os.environ,
        "PATH": _path_without_services(tmp_path / "bin", log),
        "PYTHONPATH": str(REPO),
        "AUTO_TEST_REQUIRE": "",
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         "-p", "tests.services.docker", "-p", "tests.services.registry",
         "test_needs_services.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert not log.exists(), log.read_text()  # no installer was started
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 skipped" in done.stdout, done.stdout
    assert ".ci/system-packages.sh" in done.stdout  # the skip says how to provision


def test_ci_provisions_what_the_fixtures_need() -> None:
    script = (REPO / ".ci" / "system-packages.sh").read_text()
    for package in ("docker.io", "debootstrap", "postgresql", "docker-registry", "chromium"):
        assert package in script
    run = (REPO / ".ci" / "run").read_text()
    assert run.index("system-packages.sh") < run.index("make test")
