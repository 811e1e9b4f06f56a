"""What `auto validate --strict` accepts, the run accepts too (issue 14): a branch starting
with `-`, an env_vars value with a newline and a malformed role ARN passed validation and were
caught, or not, only at run time. Each value goes through the CLI as a user runs it and
through the check the run applies (the git source, the AWS role assumption)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qwak_auto.errors import SourceError
from qwak_auto.platform.aws import valid_role_arn
from qwak_auto.source import check_branch
from tests.integration.reliability.conftest import REPO

FILE = """\
name: agree
model_id: agree
trigger: {{none: {{}}}}
action:
  build_deploy:
    build_spec:
      git_uri: https://github.com/acme/model.git
      git_branch: {branch}
      assumed_iam_role: {role}
      env_vars: [{env}]
"""


def validate(tmp_path: Path, branch: str = "main", role: str = "", env: str = "A=1") -> set[str]:
    path = tmp_path / "agree.yaml"
    dump = json.dumps  # a JSON string is a YAML double-quoted string
    path.write_text(FILE.format(branch=dump(branch), role=dump(role), env=dump(env)))
    done = subprocess.run(
        [sys.executable, "-m", "qwak_auto", "validate", "--strict", "--format", "json", str(path)],
        env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    return {p["code"] for p in json.loads(done.stdout)["problems"]}


def run_accepts_branch(branch: str) -> bool:
    try:
        check_branch(branch)
    except SourceError:
        return False
    return True


@pytest.mark.parametrize(
    "branch", ["main", "release/1.10", "--upload-pack=touch /tmp/x", "-b", "a..b", "x.lock"]
)
def test_branches(tmp_path: Path, branch: str) -> None:
    codes = validate(tmp_path, branch=branch)
    assert (not codes) == run_accepts_branch(branch), codes


@pytest.mark.parametrize(
    "role",
    [
        "arn:aws:iam::123456789012:role/ml-build",
        "arn:aws:iam::123456789012:role/service-role/ml-build",
        "arn:aws:iam::12345:role/ml-build",
        "arn:aws:iam::123456789012:user/ml-build",
        "ml-build",
    ],
)
def test_roles(tmp_path: Path, role: str) -> None:
    codes = validate(tmp_path, role=role)
    assert (not codes) == valid_role_arn(role), codes


def test_env_values_with_control_characters(tmp_path: Path) -> None:
    assert validate(tmp_path, env="BANNER=one\ntwo") == {"env.control-character"}
    assert validate(tmp_path, env="BANNER=one\rtwo") == {"env.control-character"}
    assert validate(tmp_path, env="BANNER=one line") == set()
