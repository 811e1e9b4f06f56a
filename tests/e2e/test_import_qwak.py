"""`auto import-qwak` as a user types it, on realistic Qwak files."""

from __future__ import annotations

from pathlib import Path

from qwak_auto.cli import main

FIXTURES = Path(__file__).parents[1] / "fixtures" / "qwak"
UNCONVERTIBLE = Path(__file__).parents[1] / "fixtures" / "qwak_unconvertible"


def test_import_writes_files_that_validate(tmp_path, capsys):
    out = tmp_path / "automations"
    code = main(["import-qwak", str(FIXTURES / "churn_automations.py"), "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    written = sorted(p.name for p in out.glob("*.yaml"))
    assert written == ["retrain_churn_on_drift.yaml", "retrain_churn_weekly.yaml"]
    # the plaintext Slack URL is nowhere: not in files, not in output
    for path in out.glob("*.yaml"):
        assert "hooks.slack.com" not in path.read_text()
    assert "hooks.slack.com" not in captured.out + captured.err
    assert "retrain_churn_weekly_on_error_slack_webhook" in captured.err
    assert "AUTO_SECRET_RETRAIN_CHURN_WEEKLY_ON_ERROR_SLACK_WEBHOOK" in captured.err
    assert main(["validate", str(out)]) == 0
    text = (out / "retrain_churn_weekly.yaml").read_text()
    assert "threshold: '0.65'" in text or 'threshold: "0.65"' in text


def test_every_fixture_imports_and_passes_strict_validation(tmp_path, capsys):
    out = tmp_path / "automations"
    code = main(["import-qwak", str(FIXTURES), "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "not converted" not in captured.err
    written = sorted(p.stem for p in out.glob("*.yaml"))
    assert written == [
        "fraud_precision_guard",
        "retrain_churn_on_drift",
        "retrain_churn_weekly",
        "vision_manual",
        "vision_onboarding",
    ]
    assert main(["validate", "--strict", str(out)]) == 0, capsys.readouterr().out
    # the literal Authorization header became a secret header; its value is nowhere
    fraud = (out / "fraud_precision_guard.yaml").read_text()
    assert "Authorization: fraud_precision_guard_on_error_header_authorization" in fraud
    assert "0123456789abcdef" not in fraud + captured.out + captured.err
    assert "AUTO_SECRET_FRAUD_PRECISION_GUARD_ON_ERROR_HEADER_AUTHORIZATION" in captured.err
    assert "memory: 1024Mi\n" in fraud  # Qwak's 1024Mib, normalised: no legacy-unit warning


def test_import_reports_dynamic_values_and_exits_1(tmp_path, capsys):
    out = tmp_path / "automations"
    code = main(["import-qwak", str(UNCONVERTIBLE / "dynamic_values.py"), "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    assert not list(out.glob("*.yaml")) if out.exists() else True
    assert "dynamic_values.py:13:" in captured.err
    assert "f-string" in captured.err
    assert "not converted" in captured.err


def test_import_to_stdout_is_yaml(capsys):
    code = main(["import-qwak", str(FIXTURES / "churn_automations.py")])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.out.count("name: retrain_churn") == 2
    assert "\n---\n" in captured.out


def test_missing_path_is_a_usage_error(tmp_path, capsys):
    assert main(["import-qwak", str(tmp_path / "nope.py")]) == 2
