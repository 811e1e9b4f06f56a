"""Issue 18, point 3: a cron problem names the field and its allowed range, at the
file:line:col of the cron value like every other problem (`auto validate`, text and JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qwak_auto.cli import main

AUTOMATION = """\
name: nightly
model_id: m
trigger:
  scheduled:
    cron: "{cron}"
    timezone: Europe/Berlin
action:
  build_deploy:
    build_spec: {{git_uri: "https://example.com/r.git"}}
"""


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("0 25 * * 0", "hour 25: must be 0-23"),
        ("60 3 * * *", "minute 60: must be 0-59"),
        ("0 3 0 * *", "day-of-month 0: must be 1-31"),
        ("0 3 * 13 *", "month 13: must be 1-12 or JAN-DEC"),
        ("0 3 * * 8", "day-of-week 8: must be 0-7 or SUN-SAT"),
        ("0 3 * * MON-FRY", "day-of-week `FRY`: must be a number or a name (0-7 or SUN-SAT)"),
        ("*/0 3 * * *", "minute `*/0`: the step after `/` must be at least 1"),
        ("0 1-24 * * *", "hour 24: must be 0-23"),
    ],
)
def test_cron_problems_name_the_field_and_its_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cron: str, message: str
) -> None:
    path = tmp_path / "nightly.yaml"
    path.write_text(AUTOMATION.format(cron=cron))
    capsys.readouterr()
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:5:11: error: trigger.scheduled.cron: `{cron}`: {message} [cron.invalid]" in out
    assert "hint: the five fields are minute (0-59), hour (0-23)" in out
    assert main(["validate", str(path), "--format", "json"]) == 1
    (problem,) = json.loads(capsys.readouterr().out)["problems"]
    assert (problem["line"], problem["column"], problem["path"]) == (
        5,
        11,
        "trigger.scheduled.cron",
    )
    assert problem["message"].endswith(message)


def test_the_metric_triggers_cron_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "drift.yaml"
    path.write_text(
        "name: drift\nmodel_id: m\ntrigger:\n  metric_based:\n    name: d\n"
        "    sql_query: SELECT 1\n    direction: ABOVE\n    threshold: '0.3'\n"
        "    override_cron: '*/30 * 32 * *'\n"
        "action: {build_deploy: {build_spec: {git_uri: 'https://example.com/r.git'}}}\n"
    )
    capsys.readouterr()
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:9:20: error: trigger.metric_based.override_cron:" in out
    assert "day-of-month 32: must be 1-31" in out
