"""`auto import-qwak` inside a Qwak model repository whose requirements float suggests
dependencies_as_of with the day the dependency file last changed (a real git repository)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from qwak_auto.cli import main

AUTOMATION = """\
from qwak.automations import Automation, BuildSpecifications, QwakBuildDeploy, ScheduledTrigger
from qwak.automations import BuildMetric, DeploymentSpecifications

weekly = Automation(
    name="weekly",
    model_id="churn",
    trigger=ScheduledTrigger(cron="0 0 * * 0"),
    action=QwakBuildDeploy(
        build_spec=BuildSpecifications(git_uri="https://github.com/acme/churn.git"),
        deployment_condition=BuildMetric(metric_name="f1", threshold="0.5"),
        deployment_spec=DeploymentSpecifications(),
    ),
)
"""


def _git(repo: Path, *args: str, date: str | None = None) -> None:
    env = dict(os.environ)
    if date:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=env, timeout=60)


def test_floating_requirements_get_the_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "churn-model"
    (repo / "main").mkdir(parents=True)
    (repo / "automations").mkdir()
    (repo / "main" / "requirements.txt").write_text("pandas\nnumpy==1.26.4\nscikit-learn>=1.0\n")
    (repo / "automations" / "weekly.py").write_text(AUTOMATION)
    _git(repo, "init", "--quiet", "--initial-branch=main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "--quiet", "-m", "model", date="2023-05-04T10:00:00+00:00")
    (repo / "automations" / "weekly.py").write_text(AUTOMATION + "\n")  # a later change
    _git(repo, "commit", "--quiet", "-am", "later", date="2024-01-02T10:00:00+00:00")

    code = main(["import-qwak", str(repo / "automations"), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert (
        'add `dependencies_as_of: "2023-05-04" (the day main/requirements.txt last changed)`' in err
    )
    assert "(pandas, scikit-learn)" in err
    # the files are written as the Qwak file says: the suggestion changes nothing
    assert "dependencies_as_of" not in (tmp_path / "out" / "weekly.yaml").read_text()


def test_pinned_requirements_get_none(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "pinned"
    (repo / "main").mkdir(parents=True)
    (repo / "main" / "requirements.txt").write_text("pandas==2.0.3\nnumpy<2\n")
    (repo / "weekly.py").write_text(AUTOMATION)
    assert main(["import-qwak", str(repo / "weekly.py"), "-o", str(tmp_path / "out")]) == 0
    assert "dependencies_as_of" not in capsys.readouterr().err
