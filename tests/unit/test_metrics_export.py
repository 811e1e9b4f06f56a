"""`auto metrics` text from a real SQLite state store (no programs started)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from qwak_auto.errors import UsageError
from qwak_auto.state import open_url
from qwak_auto.state.base import (
    ApprovalRecord,
    ApprovalState,
    ClaimRequest,
    DeploymentRecord,
    EvaluationRecord,
    RunStatus,
    StateStore,
    StepStatus,
)
from qwak_auto.views.prometheus import collect, write_textfile

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _run(store: StateStore, key: str, start: datetime, status: RunStatus, deploy: bool) -> str:
    claim = store.claim(
        ClaimRequest(
            automation="churn-retrain",
            run_key=f"churn-retrain@{key}",
            trigger_reason="schedule",
            scheduled_for=start,
            owner="host:1:x",
            now=start,
            lease_seconds=60,
            forbid_overlap=False,
        )
    )
    assert claim.run is not None
    run_id = claim.run.run_id
    store.start_step(run_id, "build", start)
    store.finish_step(run_id, "build", StepStatus.OK, "built", {}, start + timedelta(seconds=40))
    store.start_step(run_id, "condition", start + timedelta(seconds=40))
    store.finish_step(
        run_id,
        "condition",
        StepStatus.OK,
        "f1",
        {"deploy": deploy, "value": 0.71, "threshold": 0.65},
        start + timedelta(seconds=45),
    )
    store.finish_run(run_id, status, "", start + timedelta(seconds=60))
    return run_id


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    store = open_url(f"sqlite:///{tmp_path / 'state.db'}")
    store.upsert_automation(
        name="churn-retrain", model_id="churn", spec_hash="h", file="a.yaml", enabled=True, now=T0
    )
    store.upsert_automation(
        name="idle", model_id="other", spec_hash="h", file="b.yaml", enabled=False, now=T0
    )
    _run(store, "1", T0, RunStatus.SUCCEEDED, True)
    _run(store, "2", T0 + timedelta(hours=1), RunStatus.NOT_DEPLOYED, False)
    store.save_deployment(
        DeploymentRecord(
            deployment_id="d1",
            model_id="churn",
            build_id="b-1",
            environment="dev",
            variation="default",
            deployer="local",
            status="serving",
            created_at=T0 + timedelta(minutes=1),
        )
    )
    store.record_evaluation(
        EvaluationRecord(
            automation="churn-retrain",
            evaluated_at=T0 + timedelta(hours=2),
            value=0.42,
            breached=True,
            fired=False,
        )
    )
    yield store
    store.close()


def _samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def test_collect(store: StateStore) -> None:
    samples = _samples(collect(store))
    a = 'automation="churn-retrain"'
    hour = (T0 + timedelta(hours=1)).timestamp()
    assert samples[f'auto_automation_info{{{a},enabled="true",model_id="churn"}}'] == 1
    assert samples['auto_automation_info{automation="idle",enabled="false",model_id="other"}'] == 1
    assert samples[f"auto_last_run_timestamp_seconds{{{a}}}"] == hour
    assert samples[f'auto_last_run_status{{{a},status="not_deployed"}}'] == 1
    assert samples[f'auto_last_run_status{{{a},status="failed"}}'] == 0
    assert samples[f"auto_last_run_duration_seconds{{{a}}}"] == 60
    assert samples[f'auto_last_run_step_duration_seconds{{{a},step="build"}}'] == 40
    assert samples[f'auto_last_run_step_duration_seconds{{{a},step="condition"}}'] == 5
    assert samples[f"auto_last_success_timestamp_seconds{{{a}}}"] == T0.timestamp() + 60
    assert samples[f"auto_last_completed_timestamp_seconds{{{a}}}"] == hour + 60
    assert samples[f"auto_last_gate_deploy{{{a}}}"] == 0
    assert samples[f"auto_last_gate_value{{{a}}}"] == 0.71
    assert samples[f"auto_last_gate_threshold{{{a}}}"] == 0.65
    assert samples[f"auto_metric_trigger_value{{{a}}}"] == 0.42
    assert samples[f"auto_metric_trigger_breached{{{a}}}"] == 1
    info = (
        f'auto_deployed_build_info{{{a},build_id="b-1",deployment_id="d1",'
        'environment="dev",model_id="churn",variation="default"}'
    )
    assert samples[info] == 1
    assert not any(
        k.startswith('auto_last_run_timestamp_seconds{automation="idle"') for k in samples
    )


def test_empty_store(tmp_path: Path) -> None:
    store = open_url(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        text = collect(store)
    finally:
        store.close()
    assert "# TYPE auto_last_run_status gauge" in text
    assert _samples(text) == {}


def test_write_textfile_is_atomic_and_readable(tmp_path: Path) -> None:
    target = tmp_path / "auto.prom"
    target.write_text("old\n")
    write_textfile(target, "auto_x 1\n")
    assert target.read_text() == "auto_x 1\n"
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in tmp_path.iterdir()] == ["auto.prom"]


def test_textfile_directory_must_exist(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        write_textfile(tmp_path / "nope" / "auto.prom", "x 1\n")


def test_textfile_that_is_a_folder_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is a folder") as caught:
        write_textfile(tmp_path, "x 1\n")
    assert "auto.prom" in caught.value.hint
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


def test_waiting_runs_are_counted(store: StateStore) -> None:
    a = 'automation="churn-retrain"'
    assert _samples(collect(store))[f"auto_runs_awaiting_approval{{{a}}}"] == 0
    for key, minutes in (("w1", 0), ("w2", 30)):
        at = T0 + timedelta(hours=3, minutes=minutes)
        claim = store.claim(
            ClaimRequest(
                automation="churn-retrain",
                run_key=f"churn-retrain@{key}",
                trigger_reason="manual",
                scheduled_for=None,
                owner="host:1:x",
                now=at,
                lease_seconds=60,
                forbid_overlap=False,
            )
        )
        assert claim.run is not None
        waiting = ApprovalRecord(
            run_id=claim.run.run_id, automation="churn-retrain", model_id="churn",
            build_id="b", state=ApprovalState.WAITING, requested_at=at,
            expires_at=at + timedelta(days=1),
        )  # fmt: skip
        assert store.request_approval(waiting, "host:1:x") is not None
    samples = _samples(collect(store))
    # the second supersedes the first: one run waits, since 03:30
    assert samples[f"auto_runs_awaiting_approval{{{a}}}"] == 1
    since = (T0 + timedelta(hours=3, minutes=30)).timestamp()
    assert samples[f"auto_oldest_awaiting_approval_timestamp_seconds{{{a}}}"] == since
    assert samples['auto_runs_awaiting_approval{automation="idle"}'] == 0
