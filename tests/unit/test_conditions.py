"""The gate (deployment conditions) and metric-trigger evaluation, on real DuckDB and SQLite
files, with a fake clock."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from qwak_auto.analytics.ingest import ingest_file
from qwak_auto.analytics.query import run_query
from qwak_auto.analytics.store import record_build
from qwak_auto.automation.deployment import DeploymentSpec
from qwak_auto.automation.model import (
    Automation,
    BuildDeploy,
    BuildMetric,
    BuildSpec,
    Direction,
    MetricTrigger,
    NoneTrigger,
)
from qwak_auto.config import Config, load_config
from qwak_auto.gate.conditions import MetricGate
from qwak_auto.run.contracts import BuildResult, Decision, RunContext
from qwak_auto.run.runner import decide
from qwak_auto.run.sink import AnalyticsSink
from qwak_auto.schedule.metric import evaluate_metric_trigger
from qwak_auto.state import open_store
from qwak_auto.state.base import BuildRecord, DeploymentRecord, StateStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config(env={"AUTO_HOME": os.environ["AUTO_HOME"]}, cwd=tmp_path)


@pytest.fixture
def store(config: Config) -> Iterator[StateStore]:
    s = open_store(config)
    yield s
    s.close()


def _automation(
    condition: BuildMetric | None, trigger: Any = None, environments: tuple[str, ...] = ()
) -> Automation:
    return Automation(
        name="churn-retrain",
        model_id="churn",
        trigger=trigger or NoneTrigger(),
        action=BuildDeploy(
            build_spec=BuildSpec(git_uri="https://example.invalid/repo.git"),
            deployment_condition=condition,
            deployment_spec=DeploymentSpec(environments=environments),
        ),
    )


def _build(build_id: str = "b2", **metrics: float) -> BuildResult:
    return BuildResult(
        build_id=build_id,
        model_id="churn",
        commit="c0ffee",
        builder="local",
        artifact_dir=Path("/tmp/artifact"),
        metrics=metrics,
        params={},
        log_path=Path("/tmp/build.log"),
    )


def _decide(
    config: Config,
    store: StateStore,
    condition: BuildMetric | None,
    build: BuildResult,
    environments: tuple[str, ...] = (),
) -> Decision:
    ctx = RunContext(
        run_id="r1",
        automation=_automation(condition, environments=environments),
        config=config,
        store=store,
        secrets=lambda name: name,
        trigger_reason="manual",
        started_at=T0,
        log_dir=config.home / "runs" / "r1",
    )
    decision = decide(MetricGate(), AnalyticsSink(config), build, ctx)
    json.dumps(dict(decision.detail), allow_nan=False)  # the runner stores it as JSON
    return decision


def _metric(threshold: str, direction: str = "ABOVE", **extra: Any) -> BuildMetric:
    return BuildMetric(
        metric_name="f1", direction=Direction(direction), threshold=threshold, **extra
    )


def test_no_condition_deploys_and_records_the_build(config: Config, store: StateStore) -> None:
    decision = _decide(config, store, None, _build(f1=0.5))
    assert decision.deploy
    assert decision.reason == "no deployment condition"
    assert run_query(config, "SELECT build_id, value FROM build_metrics").rows == (("b2", 0.5),)


@pytest.mark.parametrize(
    ("direction", "value", "threshold", "deploy"),
    [
        ("ABOVE", 0.71, "0.65", True),
        ("ABOVE", 0.65, "0.65", False),  # equal does not pass
        ("ABOVE", 0.60, "0.65", False),
        ("BELOW", 0.10, "0.2", True),
        ("BELOW", 0.2, "0.2", False),
        ("BELOW", 0.3, "0.2", False),
        ("ABOVE", 1.0, " 5e-1 ", True),
        ("EQUALS", 0.65, "0.65", True),
        ("EQUALS", 0.1 + 0.2, "0.3", True),  # equal up to floating-point rounding
        ("EQUALS", 0.66, "0.65", False),
        ("ABOVE_OR_EQUALS", 0.65, "0.65", True),
        ("ABOVE_OR_EQUALS", 0.7, "0.65", True),
        ("ABOVE_OR_EQUALS", 0.6, "0.65", False),
        ("BELOW_OR_EQUALS", 0.2, "0.2", True),
        ("BELOW_OR_EQUALS", 0.1, "0.2", True),
        ("BELOW_OR_EQUALS", 0.3, "0.2", False),
    ],
)
def test_static_threshold(
    config: Config, store: StateStore, direction: str, value: float, threshold: str, deploy: bool
) -> None:
    decision = _decide(config, store, _metric(threshold, direction), _build(f1=value))
    assert decision.deploy is deploy
    assert decision.value == value
    assert decision.threshold == float(threshold)
    assert decision.threshold_source == "static"
    assert decision.detail["verdict"] == ("deploy" if deploy else "not_deployed")
    assert "(static threshold)" in decision.reason


def test_static_reason_text(config: Config, store: StateStore) -> None:
    assert _decide(config, store, _metric("0.65"), _build(f1=0.71)).reason == (
        "f1 0.71 > 0.65 (static threshold)"
    )
    assert _decide(config, store, _metric("0.65"), _build(f1=0.65)).reason == (
        "f1 0.65 is not above 0.65 (static threshold)"
    )


def test_reason_text_of_the_qwak_directions(config: Config, store: StateStore) -> None:
    def reason(direction: str, value: float) -> str:
        return _decide(config, store, _metric("0.65", direction), _build(f1=value)).reason

    assert reason("EQUALS", 0.65) == "f1 0.65 == 0.65 (static threshold)"
    assert reason("EQUALS", 0.7) == "f1 0.7 is not equal to 0.65 (static threshold)"
    assert reason("ABOVE_OR_EQUALS", 0.65) == "f1 0.65 >= 0.65 (static threshold)"
    assert reason("BELOW_OR_EQUALS", 0.7) == (
        "f1 0.7 is not below or equal to 0.65 (static threshold)"
    )


def test_missing_metric_never_passes(config: Config, store: StateStore) -> None:
    decision = _decide(config, store, _metric("0.1"), _build(auc=0.9))
    assert not decision.deploy
    assert decision.reason == "metric f1 was not logged by build b2 (logged: auc); threshold 0.1"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_metric_never_passes(config: Config, store: StateStore, bad: float) -> None:
    for direction in Direction:
        decision = _decide(config, store, _metric("0.1", direction), _build(f1=bad))
        assert not decision.deploy
        assert "not a finite number" in decision.reason


def test_nan_threshold_never_passes(config: Config, store: StateStore) -> None:
    decision = _decide(config, store, _metric("nan"), _build(f1=0.5))
    assert not decision.deploy
    assert "not finite" in decision.reason


def _history(config: Config, tmp_path: Path) -> None:
    """Earlier builds' f1 in the store: 0.6, 0.7, 0.8 (avg 0.7)."""
    for i, value in enumerate((0.6, 0.7, 0.8)):
        record_build(config, _build(f"old{i}", f1=value), "churn-retrain")


SQL_AVG = "SELECT avg(value) FROM build_metrics WHERE metric = 'f1' AND build_id LIKE 'old%'"


def test_sql_threshold(config: Config, store: StateStore, tmp_path: Path) -> None:
    _history(config, tmp_path)
    decision = _decide(config, store, _metric(SQL_AVG), _build(f1=0.75))
    assert decision.deploy
    assert decision.threshold == pytest.approx(0.7)
    assert decision.threshold_source == "sql"
    assert decision.sql == SQL_AVG
    assert decision.detail["sql_value"] == pytest.approx(0.7)
    assert "threshold from SQL" in decision.reason
    assert not _decide(config, store, _metric(SQL_AVG), _build(f1=0.65)).deploy


def test_sql_threshold_equal_does_not_pass(config: Config, store: StateStore) -> None:
    decision = _decide(config, store, _metric("SELECT 0.75::DOUBLE"), _build(f1=0.75))
    assert not decision.deploy


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("SELECT value FROM build_metrics WHERE false", "no rows"),
        ("SELECT * FROM (VALUES (0.1), (0.2))", "returned 2 rows"),
        ("SELECT 'low'", "not a number"),
        ("SELECT 'nan'::DOUBLE", "not a finite number"),
        ("SELECT NULL::DOUBLE", "NULL"),
        ("SELECT no_such FROM predictions", "the query failed"),
        ("DELETE FROM builds", "only SELECT"),
        ("SELECT * FROM read_csv('/etc/passwd')", "external access off"),
    ],
)
def test_sql_threshold_that_does_not_count_never_passes(
    config: Config, store: StateStore, sql: str, why: str
) -> None:
    decision = _decide(config, store, _metric(sql), _build(f1=1e9))
    assert not decision.deploy
    assert why in decision.reason
    assert decision.value == 1e9
    assert decision.detail["inputs"]["threshold"] == sql


def test_sql_threshold_over_predictions(config: Config, store: StateStore, tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {"model_id": "churn", "ts": "2026-01-01T00:00:00Z", "prediction": {"score": s}}
            )
            + "\n"
            for s in (0.2, 0.4)
        )
    )
    assert ingest_file(config, path).ok
    sql = "SELECT avg(score) FROM predictions WHERE model_id = 'churn'"
    decision = _decide(config, store, _metric(sql), _build(f1=0.31))
    assert decision.deploy
    assert decision.threshold == pytest.approx(0.3)


def test_gate_loads_prediction_segments(config: Config, store: StateStore) -> None:
    folder = config.home / "predictions" / "churn" / "default"
    folder.mkdir(parents=True)
    (folder / "b1-1-1.jsonl").write_text(
        json.dumps({"model_id": "churn", "ts": "2026-01-01T00:00:00Z", "prediction": {"p": 1}})
        + "\n"
    )
    decision = _decide(config, store, _metric("SELECT count(*) FROM predictions"), _build(f1=0.5))
    assert not decision.deploy  # 0.5 is not above 1
    assert decision.threshold == 1.0
    assert "1 new prediction rows loaded" in decision.detail["analytics"]


# ---------------------------------------------------------------- compare_to: deployed


def _serving(config: Config, store: StateStore, build_id: str, f1: float | None, env: str) -> None:
    metrics = {} if f1 is None else {"f1": f1}
    store.save_build(
        BuildRecord(
            build_id=build_id,
            model_id="churn",
            automation="churn-retrain",
            run_id="",
            status="succeeded",
            started_at=T0,
            metrics=metrics,
        )
    )
    store.save_deployment(
        DeploymentRecord(
            deployment_id=f"d-{build_id}-{env}",
            model_id="churn",
            build_id=build_id,
            environment=env,
            variation="default",
            deployer="local",
            status="serving",
            created_at=T0,
        )
    )


def test_compare_to_with_nothing_deployed_falls_back(config: Config, store: StateStore) -> None:
    decision = _decide(config, store, _metric("0.5", compare_to="deployed"), _build(f1=0.6))
    assert decision.deploy
    assert "nothing deployed yet in dev/default" in decision.reason
    assert "threshold alone decides" in decision.reason


@pytest.mark.parametrize(
    ("candidate", "extra", "deploy"),
    [
        (0.81, {}, True),
        (0.80, {}, False),  # equal to serving: not better
        (0.79, {}, False),
        (0.83, {"min_delta": "0.02"}, True),
        (0.815, {"min_delta": "0.02"}, False),
        (0.89, {"min_relative_delta": "10%"}, True),
        (0.87, {"min_relative_delta": "0.1"}, False),
    ],
)
def test_compare_to_deployed(
    config: Config, store: StateStore, candidate: float, extra: dict[str, str], deploy: bool
) -> None:
    _serving(config, store, "b1", 0.80, "dev")
    condition = _metric("0.5", compare_to="deployed", **extra)
    decision = _decide(config, store, condition, _build(f1=candidate))
    assert decision.deploy is deploy, decision.reason
    assert "serving build b1 in dev/default (0.8)" in decision.reason
    assert decision.threshold_source == "deployed"
    assert decision.detail["compare_to"][0]["serving_value"] == 0.8


def test_compare_to_must_pass_the_threshold_first(config: Config, store: StateStore) -> None:
    _serving(config, store, "b1", 0.1, "dev")
    decision = _decide(config, store, _metric("0.5", compare_to="deployed"), _build(f1=0.4))
    assert not decision.deploy
    assert "is not above 0.5" in decision.reason


def test_compare_to_below(config: Config, store: StateStore) -> None:
    _serving(config, store, "b1", 0.30, "dev")
    condition = _metric("1", "BELOW", compare_to="deployed", min_delta="0.05")
    assert _decide(config, store, condition, _build(f1=0.2)).deploy
    assert not _decide(config, store, condition, _build(f1=0.26)).deploy


def test_compare_to_every_environment(config: Config, store: StateStore) -> None:
    _serving(config, store, "b1", 0.70, "dev")
    _serving(config, store, "b0", 0.90, "prod")
    condition = _metric("0.5", compare_to="deployed")
    decision = _decide(config, store, condition, _build(f1=0.8), environments=("dev", "prod"))
    assert not decision.deploy
    assert "does not beat serving build b0 in prod/default" in decision.reason


def test_compare_to_serving_metric_from_analytics(config: Config, store: StateStore) -> None:
    _serving(config, store, "b1", None, "dev")  # the state store lacks it ...
    record_build(config, _build("b1", f1=0.9), "churn-retrain")  # ... the analytics store has it
    decision = _decide(config, store, _metric("0.5", compare_to="deployed"), _build(f1=0.85))
    assert not decision.deploy
    assert "(0.9)" in decision.reason


def test_compare_to_serving_without_the_metric(config: Config, store: StateStore) -> None:
    _serving(config, store, "b1", None, "dev")
    decision = _decide(config, store, _metric("0.5", compare_to="deployed"), _build(f1=0.6))
    assert decision.deploy
    assert "serving build b1 in dev/default has no f1" in decision.reason


def test_compare_to_inclusive_direction_lets_a_tie_pass(config: Config, store: StateStore) -> None:
    _serving(config, store, "b1", 0.8, "dev")
    tie = _build(f1=0.8)
    strict = _decide(config, store, _metric("0.5", compare_to="deployed"), tie)
    assert not strict.deploy
    assert "does not beat serving build b1 in dev/default (0.8) by any amount" in strict.reason
    inclusive = _metric("0.5", "ABOVE_OR_EQUALS", compare_to="deployed")
    decision = _decide(config, store, inclusive, tie)
    assert decision.deploy
    assert "beats serving build b1 in dev/default (0.8) (a tie passes)" in decision.reason
    margin = _metric("0.5", "ABOVE_OR_EQUALS", compare_to="deployed", min_delta="0.1")
    assert _decide(config, store, margin, _build(f1=0.9)).deploy  # exactly the margin
    assert not _decide(config, store, margin, _build(f1=0.85)).deploy


def test_compare_to_below_or_equals_prefers_lower(config: Config, store: StateStore) -> None:
    _serving(config, store, "b1", 0.3, "dev")
    condition = _metric("1", "BELOW_OR_EQUALS", compare_to="deployed", min_relative_delta="0.1")
    assert _decide(config, store, condition, _build(f1=0.27)).deploy  # 10% lower: enough
    assert not _decide(config, store, condition, _build(f1=0.28)).deploy


def test_compare_to_with_equals_never_deploys(config: Config, store: StateStore) -> None:
    _serving(config, store, "b1", 0.5, "dev")
    decision = _decide(
        config, store, _metric("0.5", "EQUALS", compare_to="deployed"), _build(f1=0.5)
    )
    assert not decision.deploy
    assert "EQUALS has no better side" in decision.reason


# ---------------------------------------------------------------- metric triggers


def _trigger(sql: str, threshold: str = "0.5", **extra: Any) -> MetricTrigger:
    return MetricTrigger(
        name="drift", sql_query=sql, direction=Direction.ABOVE, threshold=threshold, **extra
    )


def _set_metric(config: Config, value: float) -> None:
    record_build(config, _build("probe", drift=value), "churn-retrain")


SQL_DRIFT = "SELECT value FROM build_metrics WHERE build_id = 'probe' AND metric = 'drift'"


def test_trigger_fires_above_threshold(config: Config, store: StateStore) -> None:
    trigger = _trigger(SQL_DRIFT)
    automation = _automation(None, trigger)
    _set_metric(config, 0.4)
    verdict = evaluate_metric_trigger(automation, trigger, store, config, T0)
    assert (verdict.fire, verdict.value, verdict.breached) == (False, 0.4, False)
    assert verdict.reason == "value 0.4 is not above 0.5"
    _set_metric(config, 0.5)
    assert not evaluate_metric_trigger(automation, trigger, store, config, T0).fire
    _set_metric(config, 0.6)
    verdict = evaluate_metric_trigger(automation, trigger, store, config, T0)
    assert verdict.fire
    assert verdict.reason == "value 0.6 > 0.5"
    evaluations = store.evaluations("churn-retrain")
    assert len(evaluations) == 3
    newest = evaluations[0]
    assert (newest.value, newest.breached, newest.fired, newest.sql) == (0.6, True, True, SQL_DRIFT)


@pytest.mark.parametrize(
    ("direction", "fires_at"),
    [
        ("EQUALS", (0.5,)),
        ("ABOVE_OR_EQUALS", (0.5, 0.6)),
        ("BELOW_OR_EQUALS", (0.4, 0.5)),
        ("BELOW", (0.4,)),
    ],
)
def test_trigger_directions(
    config: Config, store: StateStore, direction: str, fires_at: tuple[float, ...]
) -> None:
    trigger = MetricTrigger(
        name="drift", sql_query=SQL_DRIFT, direction=Direction(direction), threshold="0.5"
    )
    automation = _automation(None, trigger)
    for value in (0.4, 0.5, 0.6):
        _set_metric(config, value)
        verdict = evaluate_metric_trigger(automation, trigger, store, config, T0)
        assert verdict.fire is (value in fires_at), (direction, value, verdict.reason)


def test_trigger_for_and_cool_down_on_a_fake_clock(config: Config, store: StateStore) -> None:
    trigger = _trigger(SQL_DRIFT, for_count=3, cool_down_seconds=3600)
    automation = _automation(None, trigger)
    clock = iter(T0 + timedelta(minutes=30 * i) for i in range(20))

    def tick(value: float) -> bool:
        _set_metric(config, value)
        return evaluate_metric_trigger(automation, trigger, store, config, next(clock)).fire

    # t0, t30: breaches 1 and 2; t60: a dip resets; then three in a row fire at t150
    assert [tick(v) for v in (0.9, 0.9, 0.1, 0.9, 0.9, 0.9)] == [False] * 5 + [True]
    assert (
        store.get_value("churn-retrain", "last_fired") == (T0 + timedelta(minutes=150)).isoformat()
    )
    # still breaching: the cool-down holds at t180 (< 1 h after t150), it is over at t210
    # (fires again), and holds again at t240
    assert [tick(0.9), tick(0.9), tick(0.9)] == [False, True, False]
    reasons = [e.reason for e in store.evaluations("churn-retrain", limit=3)]
    assert "in cool-down until 2026-03-01T16:30:00+00:00" in reasons[0]
    assert "in cool-down until 2026-03-01T15:30:00+00:00" in reasons[2]
    assert (
        "breach 1 of 3 in a row needed" in store.evaluations("churn-retrain", limit=20)[-1].reason
    )


@pytest.mark.parametrize(("on_no_data", "fire"), [("skip", False), ("fire", True)])
def test_trigger_on_no_data(config: Config, store: StateStore, on_no_data: str, fire: bool) -> None:
    trigger = _trigger("SELECT max(value) FROM build_metrics", on_no_data=on_no_data)
    verdict = evaluate_metric_trigger(_automation(None, trigger), trigger, store, config, T0)
    assert verdict.fire is fire
    assert verdict.value is None
    assert f"on_no_data: {on_no_data}" in verdict.reason


@pytest.mark.parametrize(
    "sql", ["SELECT 'x'", "SELECT * FROM range(2)", "COPY builds TO '/tmp/x'", "SELECT nope"]
)
def test_trigger_bad_query_never_fires(config: Config, store: StateStore, sql: str) -> None:
    trigger = _trigger(sql, on_no_data="fire")
    verdict = evaluate_metric_trigger(_automation(None, trigger), trigger, store, config, T0)
    assert not verdict.fire
    assert verdict.reason.endswith("not fired")
    assert store.evaluations("churn-retrain")[0].fired is False


def test_trigger_sql_threshold(config: Config, store: StateStore) -> None:
    _set_metric(config, 0.6)
    trigger = _trigger(SQL_DRIFT, threshold="SELECT 0.55::DOUBLE")
    verdict = evaluate_metric_trigger(_automation(None, trigger), trigger, store, config, T0)
    assert verdict.fire
    assert verdict.threshold == 0.55


def test_trigger_loads_segments(config: Config, store: StateStore) -> None:
    folder = config.home / "predictions" / "churn" / "default"
    folder.mkdir(parents=True)
    line = json.dumps({"model_id": "churn", "ts": "2026-01-01T00:00:00Z", "prediction": 1})
    (folder / "b1-1-1.jsonl.open").write_text(line + "\n" + line + "\n")
    trigger = _trigger("SELECT count(*) FROM predictions", threshold="1")
    verdict = evaluate_metric_trigger(_automation(None, trigger), trigger, store, config, T0)
    assert verdict.fire
    assert verdict.value == 2.0


def test_trigger_evaluates_on_what_is_there_when_busy(config: Config, store: StateStore) -> None:
    from qwak_auto.analytics.query import open_reader

    folder = config.home / "predictions" / "churn" / "default"
    folder.mkdir(parents=True)
    line = json.dumps({"model_id": "churn", "ts": "2026-01-01T00:00:00Z", "prediction": 1})
    (folder / "b1-1-1.jsonl").write_text(line + "\n")
    trigger = _trigger("SELECT count(*) FROM predictions", threshold="0")
    blocker = open_reader(config)  # holds the file with another configuration
    try:
        verdict = evaluate_metric_trigger(_automation(None, trigger), trigger, store, config, T0)
    finally:
        blocker.close()
    assert not verdict.fire
    assert verdict.value == 0.0
    assert "new prediction segments not loaded (the store is busy)" in verdict.reason
