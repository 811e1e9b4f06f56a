from __future__ import annotations

from pathlib import Path

from qwak_auto.builders.local import LocalBuilder, harness_env
from qwak_auto.builders.session import DEFAULT_TIMEOUT


def test_timeout_follows_the_runner_build_step_with_a_margin() -> None:
    assert LocalBuilder(timeout=5)._timeout({"AUTO_TIMEOUT_BUILD": "100"}) == 5
    assert LocalBuilder()._timeout({"AUTO_TIMEOUT_BUILD": "100"}) == 90
    assert LocalBuilder()._timeout({"AUTO_TIMEOUT_BUILD": "7200"}) == 7140
    assert LocalBuilder()._timeout({"AUTO_TIMEOUT_BUILD": "soon"}) == DEFAULT_TIMEOUT - 60


def test_harness_env_puts_the_build_env_first_and_leaves_secrets_out(tmp_path: Path) -> None:
    env = harness_env(
        tmp_path,
        {
            "PATH": "/usr/bin",
            "HOME": "/root",
            "AUTO_SECRET_GIT_TOKEN": "x",
            "AWS_ACCESS_KEY_ID": "y",
        },
    )
    assert env["PATH"].split(":")[0] == str(tmp_path / "bin")
    assert env["VIRTUAL_ENV"] == str(tmp_path)
    assert env["HOME"] == "/root"
    assert "AUTO_SECRET_GIT_TOKEN" not in env
    assert "AWS_ACCESS_KEY_ID" not in env
