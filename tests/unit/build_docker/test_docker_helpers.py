"""The docker builder's output parsing and registration (no programs started)."""

from __future__ import annotations

import pytest

from qwak_auto.builders import docker, docker_deps
from qwak_auto.errors import BuildError
from qwak_auto.registry import BUILDERS


def test_registered_as_the_docker_builder() -> None:
    builder = BUILDERS.get("docker").factory()
    assert isinstance(builder, docker.DockerBuilder)
    assert builder.name == "docker"


def test_install_output_gives_site_packages_and_freeze() -> None:
    output = (
        "Collecting pandas\n==> installed\nfreeze: pandas==2.2.3\nfreeze: numpy==2.1.0\n"
        "site-packages: /opt/venv/lib/python3.11/site-packages\n"
    )
    site, freeze = docker_deps.parse_install(output)
    assert site == "/opt/venv/lib/python3.11/site-packages"
    assert freeze == ["pandas==2.2.3", "numpy==2.1.0"]
    with pytest.raises(BuildError, match="site-packages"):
        docker_deps.parse_install("==> installed\n")


def test_last_error_line_is_the_reason() -> None:
    output = (
        "Collecting nosuchpkg\n"
        "ERROR: Could not find a version that satisfies the requirement nosuchpkg\n"
        "ERROR: No matching distribution found for nosuchpkg\n\n"
    )
    assert docker_deps.last_error(output) == "ERROR: No matching distribution found for nosuchpkg"
    assert docker_deps.last_error("just\nlines\n") == "lines"
    assert docker_deps.last_error("") == "no output"


def test_timeout_comes_from_the_environment() -> None:
    # the runner's build-step timeout less a margin, as for the local builder
    assert docker.DockerBuilder()._timeout({"AUTO_TIMEOUT_BUILD": "120"}) == 108.0
    assert docker.DockerBuilder(timeout=5)._timeout({"AUTO_TIMEOUT_BUILD": "120"}) == 5
    assert docker.DockerBuilder()._timeout({"AUTO_TIMEOUT_BUILD": "x"}) == 3540.0
