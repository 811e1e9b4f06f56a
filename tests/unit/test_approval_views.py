"""Waiting runs as `auto status`, `auto history` and the dashboard show them (issue 16), on a
real SQLite store in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from qwak_auto.config import Config, load_config
from qwak_auto.state import open_store
from qwak_auto.state.base import ApprovalRecord, ApprovalState, ClaimRequest, StateStore
from qwak_auto.ui.app import Dashboard
from qwak_auto.views import approvals, history

DETAIL = {
    "build": {"build_id": "b-7", "commit": "0123456789abcdef"},
    "decision": {"metric_name": "f1", "value": 0.71, "threshold": 0.65, "threshold_source": "sql"},
    "targets": [{"environment": "prod", "deployer": "local", "variation": "default"}],
}


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config((), env={"AUTO_HOME": str(tmp_path / ".auto")}, cwd=tmp_path)


@pytest.fixture
def store(config: Config) -> Iterator[StateStore]:
    s = open_store(config)
    yield s
    s.close()


@pytest.fixture
def waiting(store: StateStore) -> str:
    """A run of `churn` that has waited 90 minutes (the dashboard asks the real clock)."""
    asked = datetime.now(UTC) - timedelta(minutes=90)
    store.upsert_automation(
        name="churn", model_id="churn", spec_hash="h", file="f", enabled=True, now=asked
    )
    claim = store.claim(
        ClaimRequest(
            automation="churn",
            run_key="churn@1",
            trigger_reason="schedule",
            scheduled_for=None,
            owner="o",
            now=asked - timedelta(minutes=5),
            lease_seconds=60,
            forbid_overlap=True,
        )
    )
    assert claim.run is not None
    record = ApprovalRecord(
        run_id=claim.run.run_id, automation="churn", model_id="churn", build_id="b-7",
        state=ApprovalState.WAITING, requested_at=asked, expires_at=asked + timedelta(hours=24),
        detail=DETAIL,
    )  # fmt: skip
    assert store.request_approval(record, "o") == []
    return claim.run.run_id


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5, "5s"), (60, "1m"), (90 * 60, "1h 30m"), (3600, "1h"), (86400 * 2 + 3600 * 4, "2d 4h")],
)
def test_age(seconds: float, text: str) -> None:
    assert approvals.age(seconds) == text


def test_status_lists_the_waiting_run_with_age_and_what_it_deploys(
    store: StateStore, config: Config, waiting: str
) -> None:
    (asked,) = store.approvals("churn")
    now = asked.requested_at + timedelta(minutes=90)
    (item,) = approvals.waiting(store, now, "churn")
    assert item["run_id"] == waiting
    assert item["age"] == "1h 30m"
    assert item["would_deploy"] == "build b-7 (commit 0123456789ab) to prod/default"
    assert item["metric"] == "f1 0.71 vs threshold 0.65 (sql)"
    assert item["approve_command"] == f"auto approve {waiting}"
    expires = (now + timedelta(hours=22, minutes=30)).strftime("%Y-%m-%d %H:%M")
    assert approvals.line(item) == (
        f"waiting 1h 30m, expires {expires} UTC; approving deploys build b-7"
        " (commit 0123456789ab) to prod/default (gate: f1 0.71 vs threshold 0.65 (sql));"
        f" approve: auto approve {waiting}"
    )
    (row,) = history.status((), store, config, now)  # recorded, not in the files
    assert [w["run_id"] for w in row["waiting"]] == [waiting]
    (run,) = history.history(store, "churn")
    assert run["status"] == "awaiting_approval"
    assert run["approval"]["state"] == "waiting"
    detail = history.run_detail(store, waiting[:8])
    assert detail is not None
    assert detail["approval"]["would_deploy"].startswith("build b-7")
    assert detail["steps"][-1]["name"] == "approval"


def test_an_approved_run_waits_for_a_runner(store: StateStore, waiting: str) -> None:
    now = datetime.now(UTC)
    decided = store.decide_approval(waiting, approve=True, by="alice", comment="", now=now)
    assert decided is not None
    (item,) = approvals.waiting(store, now)
    assert approvals.line(item) == (
        "approved by alice; the next runner tick deploys build b-7 (commit 0123456789ab)"
        " to prod/default"
    )


def call(app: Dashboard, path: str) -> tuple[str, str]:
    seen: dict[str, Any] = {}

    def start(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"] = status

    body = b"".join(app({"REQUEST_METHOD": "GET", "PATH_INFO": path}, start)).decode()
    return seen["status"], body


def test_dashboard_shows_waiting_runs(config: Config, waiting: str) -> None:
    app = Dashboard([], config, sample_every=3600)
    status, body = call(app, "/")
    assert status.startswith("200")
    assert "<h2>Waiting for approval</h2>" in body
    assert f'href="/runs/{waiting}"' in body
    assert "1h 30m" in body
    assert "build b-7 (commit 0123456789ab) to prod/default" in body
    assert f"<code>auto approve {waiting}</code>" in body
    status, page = call(app, f"/runs/{waiting}")
    assert status.startswith("200")
    assert "approving deploys" in page
    assert f"auto approve {waiting}" in page
