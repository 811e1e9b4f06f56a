"""A deployment with a ``rollout`` renders an Argo Rollout and its AnalysisTemplate instead of a
Deployment; both validate against the Argo Rollouts CRDs (tests/kube_schemas.py)."""

from __future__ import annotations

from typing import Any

import pytest

from qwak_auto.automation.model import from_document
from qwak_auto.deploy.manifests import Target, render
from qwak_auto.deploy.manifests_rollout import queries
from tests.kube_schemas import validate_all

TARGET = Target(
    build_id="churn-20261125-abc123",
    image="registry.example.com/ml/churn:abc",
    environment="prod",
    namespace="models",
    prometheus_url="http://prometheus.monitoring:9090",
)
ROLLOUT = {
    "canary_steps": [10, 50],
    "step_time": "1m",
    "bake_time": "5m",
    "max_error_rate": "0.02",
    "max_p99_latency_ms": 250,
    "min_requests": 30,
}
AUTOSCALE = {
    "min_replica_count": 2,
    "max_replica_count": 6,
    "triggers": [
        {
            "prometheus_trigger": {
                "query_spec": {
                    "metric_type": "latency",
                    "aggregation_type": "p99",
                    "time_period": 4,
                },
                "threshold": 200,
            }
        }
    ],
}


def automation(**deployment_spec: Any):
    return from_document(
        {
            "name": "retrain_churn",
            "model_id": "churn",
            "trigger": {"scheduled": {"cron": "0 3 * * *"}},
            "action": {
                "build_deploy": {
                    "build_spec": {"git_uri": "https://github.com/o/r.git"},
                    "deployment_spec": deployment_spec,
                }
            },
        }
    )


def by_kind(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["kind"]: o for o in objects if o["metadata"]["name"] != "churn"}


@pytest.mark.parametrize(
    "spec",
    [
        {"rollout": ROLLOUT},
        {"rollout": {}},
        {"rollout": {"canary_steps": [], "bake_time": "10m"}},
        {"rollout": {"canary_steps": []}},
        {"rollout": ROLLOUT, "auto_scale_config": AUTOSCALE},
        {
            "rollout": ROLLOUT,
            "gpu_resources": {"gpu_type": "NVIDIA_T4", "gpu_amount": 1},
            "api_keys_secret": "keys",
            "custom_iam_role_arn": "arn:aws:iam::1:role/r",
        },
    ],
    ids=["full", "defaults", "bake-only", "at-once", "autoscaled", "gpu-keys-irsa"],
)
def test_rollout_objects_validate(spec):
    objects = render(automation(**spec), TARGET)
    validate_all(objects)
    kinds = [o["kind"] for o in objects]
    assert "Deployment" not in kinds
    assert "Rollout" in kinds
    # the template is applied before the Rollout that names it
    if "AnalysisTemplate" in kinds:
        assert kinds.index("AnalysisTemplate") < kinds.index("Rollout")


def test_canary_steps_pause_for_step_time_then_bake_at_full_weight():
    rollout = by_kind(render(automation(rollout=ROLLOUT), TARGET))["Rollout"]
    canary = rollout["spec"]["strategy"]["canary"]
    assert canary["steps"] == [
        {"setWeight": 10},
        {"pause": {"duration": "60s"}},
        {"setWeight": 50},
        {"pause": {"duration": "60s"}},
        {"setWeight": 100},
        {"pause": {"duration": "300s"}},
    ]
    assert canary["analysis"] == {
        "templates": [{"templateName": "churn-default"}],
        "args": [{"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}],
    }
    assert rollout["spec"]["replicas"] == 2
    assert rollout["spec"]["progressDeadlineSeconds"] == 600
    assert rollout["spec"]["progressDeadlineAbort"] is True
    container = rollout["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example.com/ml/churn:abc"


def test_at_once_has_no_steps_and_no_analysis():
    rollout = by_kind(render(automation(rollout={"canary_steps": []}), TARGET))["Rollout"]
    assert rollout["spec"]["strategy"]["canary"]["steps"] == []
    assert "analysis" not in rollout["spec"]["strategy"]["canary"]


def test_analysis_judges_the_new_pods_against_the_limits():
    template = by_kind(render(automation(rollout=ROLLOUT), TARGET))["AnalysisTemplate"]
    assert template["spec"]["args"] == [{"name": "canary-hash"}]
    metrics = {m["name"]: m for m in template["spec"]["metrics"]}
    assert set(metrics) == {"requests", "error-rate", "p99-latency-ms"}
    for metric in metrics.values():
        prometheus = metric["provider"]["prometheus"]
        assert prometheus["address"] == "http://prometheus.monitoring:9090"
        assert (
            'namespace="models",pod=~"churn-default-{{args.canary-hash}}-.*"'
            in (prometheus["query"])
        )
        assert metric["interval"] == "60s"
        assert "[120s]" in prometheus["query"]
        assert prometheus["query"].count("(") == prometheus["query"].count(")")
    assert "failureCondition" not in metrics["requests"]
    error_rate = metrics["error-rate"]
    assert error_rate["failureCondition"] == "len(result) > 0 && result[0] > 0.02"
    assert error_rate["failureLimit"] == 0
    assert 'code=~"5.."' in error_rate["provider"]["prometheus"]["query"]
    # too few answers: no sample, so no verdict from traffic (min_requests)
    assert error_rate["provider"]["prometheus"]["query"].endswith(
        'sum(increase(auto_model_requests_total{namespace="models",'
        'pod=~"churn-default-{{args.canary-hash}}-.*"}[120s])) >= 30)'
    )
    latency = metrics["p99-latency-ms"]
    assert latency["failureCondition"] == "len(result) > 0 && result[0] > 250"
    assert "histogram_quantile(0.99" in latency["provider"]["prometheus"]["query"]
    assert (
        "auto_model_request_duration_seconds_bucket" in (latency["provider"]["prometheus"]["query"])
    )


def test_no_latency_limit_no_latency_metric():
    auto = automation(rollout={"max_error_rate": "0.1"})
    rollout = auto.action.deployment_spec.rollout
    assert set(queries(auto, TARGET, rollout)) == {"requests", "error-rate"}


def test_short_steps_measure_more_often():
    auto = automation(rollout={"step_time": "10s"})
    template = by_kind(render(auto, TARGET))["AnalysisTemplate"]
    metric = template["spec"]["metrics"][0]
    assert metric["interval"] == "15s"
    assert "[60s]" in metric["provider"]["prometheus"]["query"]


def test_keda_scales_the_rollout():
    objects = by_kind(render(automation(rollout=ROLLOUT, auto_scale_config=AUTOSCALE), TARGET))
    assert objects["ScaledObject"]["spec"]["scaleTargetRef"] == {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "name": "churn-default",
    }
    assert "replicas" not in objects["Rollout"]["spec"]
