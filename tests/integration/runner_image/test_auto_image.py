"""The image of `auto` itself (the repository's Dockerfile), built with the session's Docker
engine on the locally bootstrapped base image (no registry is reachable here), then run as
the CronJob of `auto render --runner` runs it: `auto run --once /automations`, as a non-root
user, without a network."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.services.docker import Engine

ROOT = Path(__file__).parents[3]
AUTOMATION = """\
name: manual_only
model_id: m
trigger: {none: {}}
action: {build_deploy: {build_spec: {git_uri: "https://example.com/r.git"}}}
"""


@pytest.fixture(scope="module")
def auto_image(
    docker_engine: Engine, base_image: str, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """`make image` as a user runs it, in a copy of what a checkout holds (the wheelhouse it
    makes stays out of this repository), with the session's engine and base image."""
    context = tmp_path_factory.mktemp("image-context")
    for name in ("Makefile", "Dockerfile", ".dockerignore", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, context / name)
    shutil.copytree(
        ROOT / "qwak_auto", context / "qwak_auto", ignore=shutil.ignore_patterns("__pycache__")
    )
    tag = f"auto-runner-test:{uuid.uuid4().hex[:8]}"
    done = subprocess.run(
        [
            "make", "-C", str(context), "image", f"IMAGE={tag}", f"BASE_IMAGE={base_image}",
            f"WHEEL_PYTHON={sys.executable}",
        ],
        env={**docker_engine.env(), "MAKEFLAGS": ""},
        capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert f"==> built {tag}; push it with: docker push {tag}" in done.stdout
    # The image installed from the wheelhouse, and the build context stayed small.
    assert "--no-index --find-links /wheels" in done.stdout
    sent = re.search(r"Sending build context to Docker daemon\s+([\d.]+)([kMG]B)", done.stdout)
    assert sent is not None
    assert sent.group(2) != "GB"
    return tag


@pytest.mark.docker
@pytest.mark.slow
def test_the_image_runs_auto_as_the_cronjob_does(
    docker_engine: Engine, auto_image: str, tmp_path: Path
) -> None:
    assert docker_engine.docker("run", "--rm", "--network", "none", auto_image, "--version") == (
        "auto 0.1.0\n"
    )
    whoami = docker_engine.docker("run", "--rm", "--entrypoint", "id", auto_image, "-u")
    assert whoami.strip() == "10001"
    git = docker_engine.docker("run", "--rm", "--entrypoint", "git", auto_image, "--version")
    assert git.startswith("git version")

    automations = tmp_path / "automations"
    automations.mkdir()
    (automations / "manual.yaml").write_text(AUTOMATION)
    automations.chmod(0o755)
    (automations / "manual.yaml").chmod(0o644)
    out = docker_engine.docker(
        "run", "--rm", "--network", "none", "-v", f"{automations}:/automations:ro",
        auto_image, "run", "--once", "/automations",
    )  # fmt: skip
    assert "1 automation(s), 0 run(s)" in out  # the state home /var/lib/auto is writable
    out = docker_engine.docker(
        "run", "--rm", "--network", "none", "-v", f"{ROOT / 'examples'}:/automations:ro",
        auto_image, "validate", "/automations/churn-weekly.yaml",
    )  # fmt: skip
    assert "no problems" in out
