"""`auto run / trigger / status / history / plan` as a user types them (in-process main()),
with the fake builder and deployer plugged in as a plugin distribution."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from qwak_auto.cli import main
from tests.integration.run.conftest import model_repo, write_cron
from tests.integration.run.fake_steps import use_fake_steps

REPO = Path(__file__).resolve().parents[2]
NOW = "2026-05-01T12:00:00Z"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    use_fake_steps(tmp_path, monkeypatch)
    monkeypatch.setenv("FAKE_BUILD_SECONDS", "0")
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "automations"
    f.mkdir()
    write_cron(f, "hourly", "0 * * * *")
    write_cron(f, "berlin", "30 2 * * *", timezone="Europe/Berlin")
    return f


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    rc = main([*argv, "--format", "json"])
    return rc, json.loads(capsys.readouterr().out)


def test_run_once_then_status_and_history(folder, capsys) -> None:
    rc, tick = run_json(capsys, "run", "--once", str(folder), "--now", NOW)
    assert rc == 0
    assert [r["automation"] for r in tick["runs"]] == ["hourly"]
    assert tick["runs"][0]["status"] == "succeeded"

    rc, status = run_json(capsys, "status", str(folder))
    assert rc == 0
    rows = {r["name"]: r for r in status["automations"]}
    assert rows["hourly"]["last_run"]["status"] == "succeeded"
    assert rows["hourly"]["trigger"] == "cron 0 * * * * (UTC)"
    assert rows["berlin"]["trigger"] == "cron 30 2 * * * (Europe/Berlin)"
    assert rows["hourly"]["deployed"][0]["build_id"].startswith("b-")
    assert rows["berlin"]["last_run"] is None

    rc, history = run_json(capsys, "history", "hourly")
    assert rc == 0
    (run,) = history["runs"]
    assert run["trigger_reason"] == "schedule"
    rc, detail = run_json(capsys, "history", "--run", run["run_id"])
    assert [s["name"] for s in detail["steps"]] == [
        "source",
        "build",
        "condition",
        "deploy",
        "notify",
    ]
    assert all(s["duration_s"] is not None for s in detail["steps"])

    capsys.readouterr()
    assert main(["history", "--run", run["run_id"][:10]]) == 0
    text = capsys.readouterr().out
    assert "succeeded" in text
    assert "condition" in text
    assert "deploy: no deployment condition" in text  # the gate step's reason
    assert main(["status", str(folder)]) == 0
    assert "cron 30 2 * * * (Europe/Berlin)" in capsys.readouterr().out


def test_invalid_file_exit_1_but_valid_ones_run(folder, capsys) -> None:
    (folder / "broken.yaml").write_text("name: [unclosed\n")
    capsys.readouterr()
    assert main(["run", "--once", str(folder), "--now", NOW]) == 1
    out = capsys.readouterr().out
    assert "broken.yaml" in out
    assert "hourly: succeeded" in out


def test_trigger_runs_now_and_is_recorded_as_manual(folder, capsys) -> None:
    rc, detail = run_json(capsys, "trigger", "berlin", str(folder))
    assert rc == 0
    assert detail["trigger_reason"] == "manual"
    assert detail["run_key"].startswith("berlin@manual:")
    assert detail["status"] == "succeeded"


def test_trigger_unknown_name_suggests(folder, capsys) -> None:
    capsys.readouterr()
    assert main(["trigger", "berlyn", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "no automation named 'berlyn'" in err
    assert "did you mean `berlin`?" in err


def test_trigger_refuses_a_name_defined_twice(folder, capsys) -> None:
    write_cron(folder, "zz_copy")
    copy = folder / "zz_copy.yaml"
    copy.write_text(copy.read_text().replace("name: zz_copy", "name: hourly"))
    capsys.readouterr()
    assert main(["trigger", "hourly", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "'hourly' is defined more than once" in err
    assert f"{folder / 'hourly.yaml'}:1" in err
    assert f"{copy}:1" in err
    _, history = run_json(capsys, "history")
    assert history["runs"] == []  # neither copy ran


def test_plan_shows_dst_notes_and_what_a_run_does(folder, capsys) -> None:
    (folder.parent / "auto.yaml").unlink()  # the built-in parts, not the fake ones
    rc, plan = run_json(
        capsys, "plan", str(folder), "--count", "2", "--now", "2026-03-28T12:00:00Z"
    )
    assert rc == 0
    berlin = next(p for p in plan["automations"] if p["name"] == "berlin")
    assert berlin["next"][0]["utc"] == "2026-03-29T01:00:00+00:00"
    assert "does not exist on 2026-03-29" in berlin["next"][0]["note"]
    assert berlin["action"]["source"] == str(model_repo())
    assert berlin["action"]["environments"] == [{"name": "dev", "deployer": "local"}]
    capsys.readouterr()
    assert main(["plan", str(folder), "--count", "1", "--now", "2026-03-28T12:00:00Z"]) == 0
    text = capsys.readouterr().out
    assert "03:00 CEST" in text
    assert "right after the jump" in text


def test_plan_on_examples(capsys) -> None:
    valid = sorted(str(p) for p in (REPO / "examples").glob("*.yaml"))
    rc, plan = run_json(capsys, "plan", *valid, "--now", "2026-03-07T12:00:00Z")
    assert rc == 0
    assert plan["problems"] == []
    names = {p["name"] for p in plan["automations"]}
    assert "pricing_champion_nightly" in names
    nightly = next(p for p in plan["automations"] if p["name"] == "pricing_champion_nightly")
    assert nightly["next"][0]["note"].startswith("02:30 does not exist on 2026-03-08")
    assert nightly["action"]["approval"] == {"required": True, "timeout_s": 8 * 3600}
    challenger = next(p for p in plan["automations"] if p["name"] == "pricing_challenger_nightly")
    assert challenger["action"]["approval"] == {"required": False, "timeout_s": None}
    capsys.readouterr()
    assert main(["plan", str(REPO / "examples" / "pricing-ab-test.yaml")]) == 0
    text = capsys.readouterr().out
    assert (
        "then waits for approval (`auto approve RUN_ID`) before it deploys; expires after 8h"
    ) in text


def test_bad_format_is_a_usage_error(folder, capsys) -> None:
    assert main(["status", str(folder), "--format", "yaml"]) == 2
