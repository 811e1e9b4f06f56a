"""Rendered Kubernetes objects, validated against the published schemas (1.30 and the newest
that kubernetes-validate ships) and the KEDA ScaledObject CRD."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from qwak_auto.automation.model import from_document
from qwak_auto.deploy.manifests import Target, prometheus_query, render, to_yaml
from qwak_auto.deploy.runner_manifest import render_runner

ROOT = Path(__file__).parents[3]
KEDA_CRD = ROOT / "schemas" / "external" / "keda.sh_scaledobjects.yaml"
K8S_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())

BASE: dict[str, Any] = {
    "name": "retrain_churn",
    "model_id": "churn_v2",
    "trigger": {"scheduled": {"cron": "0 3 * * *"}},
    "action": {"build_deploy": {"build_spec": {"git_uri": "https://github.com/o/r.git"}}},
}
TARGET = Target(
    build_id="churn-20261125-abc123",
    image="registry.example.com/ml/churn:abc",
    environment="prod",
    namespace="models",
    prometheus_url="http://prometheus.monitoring:9090",
)


def automation(**deployment_spec: Any):
    doc = {**BASE, "action": {"build_deploy": {**BASE["action"]["build_deploy"]}}}
    doc["action"]["build_deploy"]["deployment_spec"] = deployment_spec
    return from_document(doc)


def keda_validator():
    import jsonschema
    from ruamel.yaml import YAML

    crd = YAML(typ="safe").load(KEDA_CRD.read_text())
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1")
    return jsonschema.Draft7Validator(version["schema"]["openAPIV3Schema"])


def validate_all(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        if obj["kind"] == "ScaledObject":
            errors = list(keda_validator().iter_errors(obj))
            assert not errors, [e.message for e in errors]
            continue
        for version in K8S_VERSIONS:
            kubernetes_validate.validate(obj, version, strict=True)


AUTOSCALE = {
    "min_replica_count": 1,
    "max_replica_count": 6,
    "polling_interval": 15,
    "cool_down_period": 120,
    "triggers": [
        {
            "prometheus_trigger": {
                "query_spec": {"metric_type": m, "aggregation_type": a, "time_period": 4},
                "threshold": 60,
            }
        }
        for m in ("cpu", "gpu", "memory", "latency")
        for a in ("min", "max", "avg", "sum")
    ],
}


@pytest.mark.parametrize(
    "spec",
    [
        {},
        {"number_of_pods": 3, "cpu_fraction": 0.5, "memory": "512Mi", "env_vars": ["A=1"]},
        {"gpu_resources": {"gpu_type": "NVIDIA_T4", "gpu_amount": 2}, "memory": "16Gi"},
        {"custom_iam_role_arn": "arn:aws:iam::123456789012:role/churn", "variation_name": "b"},
        {"auto_scale_config": AUTOSCALE},
        {"auto_scale_config": {"min_replica_count": 0, "max_replica_count": 2}},
    ],
    ids=["defaults", "sized", "gpu", "irsa", "autoscaled", "autoscaled-no-triggers"],
)
def test_rendered_objects_validate(spec):
    validate_all(render(automation(**spec), TARGET))


def test_deployment_carries_the_spec():
    objs = {
        o["kind"]: o
        for o in render(
            automation(
                number_of_pods=3,
                cpu_fraction=0.5,
                memory="512Mi",
                number_of_http_server_workers=4,
                http_request_timeout_ms=2500,
                max_batch_size=50,
                deployment_process_timeout_limit=300,
                env_vars=["LOG_LEVEL=debug"],
                gpu_resources={"gpu_type": "NVIDIA_T4", "gpu_amount": 1},
                custom_iam_role_arn="arn:aws:iam::1:role/r",
            ),
            TARGET,
        )
    }
    dep = objs["Deployment"]
    assert dep["metadata"]["name"] == "churn-v2-default"
    assert dep["spec"]["replicas"] == 3
    assert dep["spec"]["progressDeadlineSeconds"] == 300
    # the build label is on pods but never in the immutable selector
    selector = dep["spec"]["selector"]["matchLabels"]
    assert not any(k.endswith("/build") for k in selector)
    pod = dep["spec"]["template"]
    assert pod["metadata"]["labels"]["auto.qwak.ai/build"] == "churn-20261125-abc123"
    container = pod["spec"]["containers"][0]
    assert container["resources"]["requests"] == {
        "cpu": "500m",
        "memory": "512Mi",
        "nvidia.com/gpu": "1",
    }
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    cmd = container["command"]
    assert cmd[cmd.index("--workers") + 1] == "4"
    assert cmd[cmd.index("--timeout-ms") + 1] == "2500"
    assert cmd[cmd.index("--max-batch-size") + 1] == "50"
    assert {"name": "LOG_LEVEL", "value": "debug"} in container["env"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert pod["spec"]["serviceAccountName"] == "churn-v2-default"
    sa = objs["ServiceAccount"]
    assert sa["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r"}
    assert objs["Service"]["spec"]["selector"] == selector


def test_autoscaled_deployment_leaves_replicas_to_keda():
    objs = {o["kind"]: o for o in render(automation(auto_scale_config=AUTOSCALE), TARGET)}
    assert "replicas" not in objs["Deployment"]["spec"]
    scaled = objs["ScaledObject"]["spec"]
    assert scaled["minReplicaCount"] == 1
    assert scaled["maxReplicaCount"] == 6
    assert scaled["pollingInterval"] == 15
    assert scaled["cooldownPeriod"] == 120
    assert len(scaled["triggers"]) == 16
    assert scaled["triggers"][0]["metadata"]["serverAddress"] == "http://prometheus.monitoring:9090"
    assert scaled["triggers"][0]["metadata"]["threshold"] == "60"


@pytest.mark.parametrize(
    ("metric", "agg", "expected"),
    [
        ("cpu", "avg", "100 * avg(sum by (pod) (rate(container_cpu_usage_seconds_total{"),
        (
            "memory",
            "max",
            "100 * max(sum by (pod) (avg_over_time(container_memory_working_set_bytes{",
        ),
        ("gpu", "min", "min(avg by (pod) (avg_over_time(DCGM_FI_DEV_GPU_UTIL{"),
        (
            "latency",
            "sum",
            "1000 * sum(sum by (pod) (rate(auto_model_request_duration_seconds_sum{",
        ),
        ("latency", "p99", "1000 * histogram_quantile(0.99, sum by (le) (rate(auto_model_request"),
        ("error_rate", "avg", "100 * avg(sum by (pod) (rate(auto_model_requests_total{"),
        ("throughput", "sum", "sum(sum by (pod) (rate(auto_model_requests_total{"),
    ],
)
def test_documented_queries(metric, agg, expected):
    spec = {
        "min_replica_count": 1,
        "max_replica_count": 2,
        "triggers": [
            {
                "prometheus_trigger": {
                    "query_spec": {
                        "metric_type": metric,
                        "aggregation_type": agg,
                        "time_period": 5,
                    },
                    "threshold": 1,
                }
            }
        ],
    }
    auto = automation(auto_scale_config=spec, cpu_fraction=2)
    trigger = auto.action.deployment_spec.auto_scale_config.triggers[0]
    query = prometheus_query(trigger, auto, TARGET)
    assert query.startswith(expected)
    assert 'namespace="models",pod=~"churn-v2-default-.*"' in query
    assert "[5m]" in query


def test_yaml_is_multi_document():
    text = to_yaml(render(automation(auto_scale_config=AUTOSCALE), TARGET))
    assert text.count("\n---\n") == 3
    assert "kind: ScaledObject" in text


def test_runner_cronjob_validates():
    objects = render_runner(namespace="ops", schedule="*/10 * * * *")
    validate_all(objects)
    cron = objects[1]
    container = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["run", "--once", "/automations"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
