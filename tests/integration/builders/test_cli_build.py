"""`auto build PATH --name NAME` and `auto logs BUILD_ID` as a user types them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from qwak_auto.cli import main
from tests.integration.builders.conftest import commit_tree

AUTOMATION = """\
name: tiny-retrain
model_id: tiny
trigger:
  none: {{}}
action:
  build_deploy:
    build_spec:
      git_uri: {repo}
      git_branch: main
      parameters:
        score: "{score}"
"""

MODEL = """\
from qwak_auto.runtime import Model, log_metric


class Tiny(Model):
    def build(self):
        log_metric("score", float(self.parameters["score"]))

    def predict(self, df):
        return df
"""


def write(tmp_path: Path, score: str, uri: str | None = None) -> Path:
    commit_tree(tmp_path / "repo", {"main/__init__.py": "", "main/model.py": MODEL})
    spec = tmp_path / "automations" / "tiny.yaml"
    spec.parent.mkdir(exist_ok=True)
    spec.write_text(
        AUTOMATION.format(repo=uri or f"file://{tmp_path / 'repo'}", score=score), encoding="utf-8"
    )
    return spec


@pytest.mark.usefixtures("home")
def test_build_then_logs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write(tmp_path, "0.75", uri="../repo")  # relative to the automation file
    assert main(["build", str(spec), "--name", "tiny-retrain", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "succeeded"
    assert out["metrics"] == {"score": 0.75}
    assert Path(out["artifact"], "model.pkl").is_file()

    assert main(["logs", out["build_id"]]) == 0
    assert f"==> build {out['build_id']} succeeded" in capsys.readouterr().out


@pytest.mark.usefixtures("home")
def test_failed_build_exits_1_and_keeps_its_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write(tmp_path, "not-a-number")
    assert main(["build", str(spec), "--name", "tiny-retrain"]) == 1
    err = capsys.readouterr().err
    assert "ValueError: could not convert string to float" in err
    match = re.search(r"^error: build (\S+) failed: build\(\) raised ValueError", err, re.M)
    assert match is not None
    build_id = match.group(1)
    assert main(["logs", build_id]) == 0
    assert "Traceback" in capsys.readouterr().out


@pytest.mark.usefixtures("home")
def test_unknown_automation_and_unknown_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write(tmp_path, "1")
    assert main(["build", str(spec), "--name", "nope"]) == 2
    assert "valid automations here: tiny-retrain" in capsys.readouterr().err
    assert main(["logs", "no-such-build"]) == 1
    assert "no log for build 'no-such-build'" in capsys.readouterr().err
