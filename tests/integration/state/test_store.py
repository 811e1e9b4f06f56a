"""Round trips of every StateStore method, on SQLite and on PostgreSQL (the `store` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from qwak_auto.state import open_url
from qwak_auto.state.base import (
    BuildRecord,
    ClaimRequest,
    DeploymentRecord,
    EvaluationRecord,
    RunStatus,
    StateStore,
    StepStatus,
)
from qwak_auto.state.sql import MIGRATIONS

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


def claim(store: StateStore, key: str, *, now: datetime = T0, owner: str = "o1", **kw: object):
    args: dict[str, object] = {
        "automation": key.split("@")[0],
        "run_key": key,
        "trigger_reason": "schedule",
        "scheduled_for": now,
        "owner": owner,
        "now": now,
        "lease_seconds": 60,
        "forbid_overlap": True,
    }
    args.update(kw)
    return store.claim(ClaimRequest(**args))  # type: ignore[arg-type]


def test_reopen_keeps_schema_and_data(store_url: str) -> None:
    first = open_url(store_url)
    first.set_value("s", "k", 1)
    first.close()
    again = open_url(store_url)
    assert again.get_value("s", "k") == 1
    assert again.schema_version() == MIGRATIONS[-1][0]  # type: ignore[attr-defined]
    again.close()


def test_automations_keep_first_seen(store: StateStore) -> None:
    a = store.upsert_automation(
        name="churn", model_id="m", spec_hash="h1", file="a.yaml", enabled=True, now=T0
    )
    later = T0 + timedelta(hours=1)
    b = store.upsert_automation(
        name="churn", model_id="m", spec_hash="h2", file="b.yaml", enabled=False, now=later
    )
    assert a.first_seen == T0 == b.first_seen
    assert (b.last_seen, b.spec_hash, b.file, b.enabled) == (later, "h2", "b.yaml", False)
    assert store.automation("churn") == b
    assert store.automation("nope") is None
    store.upsert_automation(name="a0", model_id="m", spec_hash="h", file="f", enabled=True, now=T0)
    assert [x.name for x in store.automations()] == ["a0", "churn"]
    assert b.first_seen.tzinfo is not None
    assert b.first_seen.utcoffset() == timedelta(0)


def test_datetimes_are_utc_in_and_out(store: StateStore) -> None:
    berlin = timezone(timedelta(hours=2))
    local = datetime(2026, 6, 1, 12, 0, 0, 123456, tzinfo=berlin)
    c = claim(store, "a@1", now=local)
    assert c.run is not None
    assert c.run.started_at == local
    assert c.run.started_at.tzinfo == UTC
    assert c.run.started_at.hour == 10
    assert c.run.started_at.microsecond == 123456
    with pytest.raises(ValueError, match="naive"):
        claim(store, "a@2", now=datetime(2026, 1, 1), forbid_overlap=False)


def test_claim_once_then_already_claimed(store: StateStore) -> None:
    c = claim(store, "nightly@2026-03-29T00:30")
    assert c.claimed
    assert c.run is not None
    run = c.run
    assert (run.status, run.attempt, run.owner, run.error) == (RunStatus.RUNNING, 1, "o1", "")
    assert run.lease_expires_at == T0 + timedelta(seconds=60)
    assert len(run.run_id) == 32
    again = claim(store, "nightly@2026-03-29T00:30", owner="o2")
    assert (again.claimed, again.run, again.reason) == (False, None, "already claimed")
    assert store.run(run.run_id) == run
    assert store.run("missing") is None


def test_overlap_forbidden_records_skip_once(store: StateStore) -> None:
    first = claim(store, "a@1")
    assert first.claimed
    skip = claim(store, "a@2", now=T0 + timedelta(seconds=10))
    assert (skip.claimed, skip.reason) == (False, "still running")
    assert claim(store, "a@2", now=T0 + timedelta(seconds=11)).reason == "already claimed"
    skipped = [r for r in store.runs("a") if r.status == RunStatus.SKIPPED]
    assert len(skipped) == 1
    assert skipped[0].error == "still running"
    assert skipped[0].ended_at is not None
    # allowed overlap, or a finished first run: claims go through
    third = claim(store, "a@3", forbid_overlap=False)
    assert third.run is not None
    assert first.run is not None
    store.finish_run(first.run.run_id, RunStatus.SUCCEEDED, "", T0 + timedelta(seconds=20))
    store.finish_run(third.run.run_id, RunStatus.SUCCEEDED, "", T0 + timedelta(seconds=20))
    assert claim(store, "a@4", now=T0 + timedelta(seconds=30)).claimed
    # another automation is never in the way
    assert claim(store, "b@1").claimed


def test_overlap_ignores_expired_lease(store: StateStore) -> None:
    assert claim(store, "a@1").claimed
    assert claim(store, "a@2", now=T0 + timedelta(seconds=61)).claimed


def test_heartbeat_only_for_the_owner_of_a_running_run(store: StateStore) -> None:
    c = claim(store, "a@1")
    assert c.run is not None
    rid = c.run.run_id
    assert store.heartbeat(rid, "o1", T0 + timedelta(seconds=30), 60)
    run = store.run(rid)
    assert run is not None
    assert run.lease_expires_at == T0 + timedelta(seconds=90)
    assert run.heartbeat_at == T0 + timedelta(seconds=30)
    assert not store.heartbeat(rid, "intruder", T0 + timedelta(seconds=31), 600)
    store.finish_run(rid, RunStatus.FAILED, "build failed: exit 1", T0 + timedelta(seconds=40))
    assert not store.heartbeat(rid, "o1", T0 + timedelta(seconds=41), 60)
    done = store.run(rid)
    assert done is not None
    assert (done.status, done.error) == (RunStatus.FAILED, "build failed: exit 1")
    assert done.ended_at == T0 + timedelta(seconds=40)
    assert done.lease_expires_at is None


def test_finish_run_with_owner_needs_the_lease(store: StateStore) -> None:
    c = claim(store, "a@1")
    assert c.run is not None
    store.abandon_expired(T0 + timedelta(seconds=61))
    retry = claim(store, "a@1", owner="o2", now=T0 + timedelta(seconds=62))
    assert retry.claimed
    # the first runner comes back late: its result must not overwrite the retry
    store.finish_run(c.run.run_id, RunStatus.SUCCEEDED, "", T0 + timedelta(seconds=63), owner="o1")
    run = store.run(c.run.run_id)
    assert run is not None
    assert (run.status, run.owner, run.attempt) == (RunStatus.RUNNING, "o2", 2)
    store.finish_run(c.run.run_id, RunStatus.NOT_DEPLOYED, "", T0 + timedelta(seconds=64), "o2")
    run = store.run(c.run.run_id)
    assert run is not None
    assert run.status == RunStatus.NOT_DEPLOYED


def test_abandon_expired_and_retry_once(store: StateStore) -> None:
    c = claim(store, "a@1")
    assert c.run is not None
    rid = c.run.run_id
    store.start_step(rid, "source", T0)
    store.finish_step(rid, "source", StepStatus.OK, "abc123", {"commit": "abc123"}, T0)
    store.start_step(rid, "build", T0)
    assert store.abandon_expired(T0 + timedelta(seconds=60)) == ()  # lease still valid
    gone = store.abandon_expired(T0 + timedelta(seconds=61))
    assert [r.run_id for r in gone] == [rid]
    assert gone[0].status == RunStatus.ABANDONED
    assert gone[0].error.startswith("runner o1 stopped heart-beating at 2026-03-29T00:30:00")
    assert "retried once" in gone[0].error
    assert store.abandon_expired(T0 + timedelta(seconds=62)) == ()
    steps = store.steps(rid)
    assert [(s.name, s.status) for s in steps] == [
        ("source", StepStatus.OK),
        ("build", StepStatus.INTERRUPTED),
    ]
    assert steps[1].reason.startswith("interrupted: runner o1")

    later = T0 + timedelta(seconds=70)
    retry = claim(store, "a@1", owner="o2", now=later)
    assert retry.claimed
    assert retry.run is not None
    assert (retry.run.run_id, retry.run.attempt, retry.run.owner) == (rid, 2, "o2")
    assert (retry.run.status, retry.run.error, retry.run.ended_at) == (RunStatus.RUNNING, "", None)
    assert claim(store, "a@1", owner="o3", now=later).reason == "already claimed"
    store.start_step(rid, "source", later)
    assert store.steps(rid)[-1].attempt == 2

    second = store.abandon_expired(later + timedelta(seconds=61))
    assert [r.attempt for r in second] == [2]
    assert "not retried again" in second[0].error
    third = claim(store, "a@1", owner="o3", now=later + timedelta(seconds=62))
    assert (third.claimed, third.reason) == (False, "already claimed")


def test_abandoned_slot_waits_while_another_run_holds_the_automation(store: StateStore) -> None:
    assert claim(store, "a@1").claimed
    store.abandon_expired(T0 + timedelta(seconds=61))
    assert claim(store, "a@2", now=T0 + timedelta(seconds=62)).claimed
    wait = claim(store, "a@1", owner="o2", now=T0 + timedelta(seconds=63))
    assert (wait.claimed, wait.reason) == (False, "still running")
    assert [r.status for r in store.runs("a")].count(RunStatus.SKIPPED) == 0


def test_runs_newest_first_and_last_run(store: StateStore) -> None:
    for i in range(5):
        c = claim(store, f"a@{i}", now=T0 + timedelta(minutes=i), forbid_overlap=False)
        assert c.claimed
    claim(store, "b@0", now=T0 + timedelta(hours=1))
    assert [r.run_key for r in store.runs("a", limit=3)] == ["a@4", "a@3", "a@2"]
    assert [r.run_key for r in store.runs(limit=2)] == ["b@0", "a@4"]
    last = store.last_run("a")
    assert last is not None
    assert last.run_key == "a@4"
    assert store.last_run("zzz") is None
    assert store.last_slot("a") == T0 + timedelta(minutes=4)
    assert store.last_slot("zzz") is None
    manual = claim(store, "a@manual:x", scheduled_for=None, trigger_reason="manual",
                   forbid_overlap=False, now=T0 + timedelta(hours=2))  # fmt: skip
    assert manual.run is not None
    assert manual.run.scheduled_for is None
    assert manual.run.trigger_reason == "manual"


def test_steps_in_order_with_detail(store: StateStore) -> None:
    c = claim(store, "a@1")
    assert c.run is not None
    rid = c.run.run_id
    for i, name in enumerate(("source", "build", "condition")):
        store.start_step(rid, name, T0 + timedelta(seconds=i))
        end = T0 + timedelta(seconds=i, milliseconds=500)
        store.finish_step(rid, name, StepStatus.OK, f"{name} done", {"n": i, "x": [1, "a"]}, end)
    # a step that never started (skipped) is recorded as it ends
    store.finish_step(
        rid, "deploy", StepStatus.SKIPPED, "gate said no", {}, T0 + timedelta(seconds=9)
    )
    steps = store.steps(rid)
    assert [s.name for s in steps] == ["source", "build", "condition", "deploy"]
    assert steps[1].detail == {"n": 1, "x": [1, "a"]}
    assert steps[1].reason == "build done"
    assert steps[1].ended_at == T0 + timedelta(seconds=1, milliseconds=500)
    assert steps[3].status == StepStatus.SKIPPED
    assert steps[3].started_at == steps[3].ended_at
    assert store.steps("other") == ()


def _build(build_id: str, started: datetime, **kw: object) -> BuildRecord:
    base: dict[str, object] = {
        "build_id": build_id,
        "model_id": "churn",
        "automation": "nightly",
        "run_id": "r1",
        "status": "running",
        "started_at": started,
    }
    base.update(kw)
    return BuildRecord(**base)  # type: ignore[arg-type]


def test_builds_upsert_and_order(store: StateStore) -> None:
    store.save_build(_build("b1", T0))
    done = _build(
        "b1", T0, status="succeeded", ended_at=T0 + timedelta(minutes=3), commit="abc",
        builder="local", artifact="/a", image="img:1", log_path="/l",
        metrics={"f1": 0.91}, params={"depth": "3"}, provenance={"repo": "x", "n": [1]},
        reason="ok",
    )  # fmt: skip
    store.save_build(done)
    store.save_build(_build("b2", T0 + timedelta(hours=1), model_id="other"))
    store.save_build(_build("b3", T0 + timedelta(hours=2)))
    assert store.build("b1") == done
    assert store.build("zz") is None
    assert [b.build_id for b in store.builds()] == ["b3", "b2", "b1"]
    assert [b.build_id for b in store.builds("churn", limit=1)] == ["b3"]


def _deployment(dep_id: str, created: datetime, **kw: object) -> DeploymentRecord:
    base: dict[str, object] = {
        "deployment_id": dep_id,
        "model_id": "churn",
        "build_id": "b1",
        "environment": "dev",
        "variation": "default",
        "deployer": "local",
        "status": "starting",
        "created_at": created,
    }
    base.update(kw)
    return DeploymentRecord(**base)  # type: ignore[arg-type]


def test_deployments_and_serving(store: StateStore) -> None:
    assert store.serving("churn", "dev", "default") is None
    d1 = _deployment("d1", T0, status="serving", address="http://127.0.0.1:1", detail={"pid": 1})
    store.save_deployment(d1)
    assert store.serving("churn", "dev", "default") == d1
    store.save_deployment(_deployment("d2", T0 + timedelta(minutes=1)))  # starting
    assert store.serving("churn", "dev", "default") == d1
    store.save_deployment(
        _deployment("d2", T0 + timedelta(minutes=1), status="serving", build_id="b2")
    )
    retired = _deployment("d1", T0, status="retired", retired_at=T0 + timedelta(minutes=2))
    store.save_deployment(retired)
    serving = store.serving("churn", "dev", "default")
    assert serving is not None
    assert serving.build_id == "b2"
    store.save_deployment(
        _deployment("d3", T0 + timedelta(minutes=5), environment="prod", status="serving")
    )
    assert store.serving("churn", "dev", "canary") is None
    assert [d.deployment_id for d in store.deployments()] == ["d3", "d2", "d1"]
    assert [d.deployment_id for d in store.deployments(environment="dev")] == ["d2", "d1"]
    assert [d.deployment_id for d in store.deployments("churn", status="retired")] == ["d1"]
    assert store.deployments(model_id="x") == ()
    assert store.deployments(limit=1)[0].deployment_id == "d3"
    got = store.deployments(status="retired")[0]
    assert got == retired


def test_evaluations_newest_first(store: StateStore) -> None:
    for i, value in enumerate((0.5, None, 0.75)):
        store.record_evaluation(
            EvaluationRecord(
                automation="a", evaluated_at=T0 + timedelta(minutes=i), value=value,
                breached=value is not None and value > 0.6, fired=i == 2,
                reason=f"r{i}", sql="SELECT 1",
            )
        )  # fmt: skip
    got = store.evaluations("a")
    assert [e.value for e in got] == [0.75, None, 0.5]
    assert (got[0].breached, got[0].fired, got[0].reason, got[0].sql) == (
        True,
        True,
        "r2",
        "SELECT 1",
    )
    assert got[0].evaluated_at == T0 + timedelta(minutes=2)
    assert len(store.evaluations("a", limit=2)) == 2
    assert store.evaluations("b") == ()


@pytest.mark.parametrize("value", [1, 2.5, "text", True, None, [1, "a"], {"n": {"m": [1]}}])
def test_kv_json_values(store: StateStore, value: object) -> None:
    store.set_value("auto", "k", value)
    assert store.get_value("auto", "k") == value
    assert store.get_value("auto", "other") is None
    assert store.get_value("scope2", "k") is None
    store.set_value("auto", "k", {"replaced": True})
    assert store.get_value("auto", "k") == {"replaced": True}


def test_json_fields_store_alike_on_both_backends(store: StateStore) -> None:
    odd = {"nan": float("nan"), "inf": float("-inf"), "path": Path("/x"), "t": (1, 2), "ok": 0.5}
    store.save_build(_build("b1", T0, metrics=odd, provenance={"nested": odd}))
    got = store.build("b1")
    assert got is not None
    expected = {"nan": None, "inf": None, "path": "/x", "t": [1, 2], "ok": 0.5}
    assert got.metrics == expected
    assert got.provenance == {"nested": expected}


def test_unique_constraint_is_the_last_word(store: StateStore, monkeypatch: pytest.MonkeyPatch):
    """Had two claims both passed the existence check, the second insert fails on the
    unique run_key and reads as 'already claimed' (the race the constraint closes)."""
    from qwak_auto.state.base import Claim
    from qwak_auto.state.claims import SqlStore
    from qwak_auto.state.sql import Tx

    assert isinstance(store, SqlStore)

    def blind(tx: Tx, request: ClaimRequest, *rest: object) -> Claim:
        store._insert_run(tx, request, T0, RunStatus.RUNNING, "", T0)
        return Claim(claimed=True)

    monkeypatch.setattr(store, "_claim", blind)
    assert claim(store, "a@1").claimed
    assert (claim(store, "a@1").claimed, claim(store, "a@1").reason) == (False, "already claimed")
    monkeypatch.undo()
    assert claim(store, "a@2", forbid_overlap=False).claimed  # the connection is still usable
