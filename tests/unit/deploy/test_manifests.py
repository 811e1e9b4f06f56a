"""Rendered Kubernetes objects, validated against the published schemas (1.30 and the newest
that kubernetes-validate ships) and the KEDA ScaledObject CRD (tests/kube_schemas.py)."""

from __future__ import annotations

from typing import Any

import pytest

from qwak_auto.automation.model import from_document
from qwak_auto.deploy.manifests import Target, prometheus_query, render, to_yaml
from qwak_auto.deploy.runner_manifest import render_runner
from qwak_auto.platform.kubernetes import GpuNodes
from tests.kube_schemas import validate_all

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
        # the variation's Service (the model's own Service is checked below)
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
        if o["metadata"]["name"] != "churn-v2"
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
    # ServiceAccount, the variation's Service, the model's Service, Deployment, ScaledObject
    assert text.count("\n---\n") == 4
    assert "kind: ScaledObject" in text


def test_runner_cronjob_validates():
    objects = render_runner(namespace="ops", schedule="*/10 * * * *")
    validate_all(objects)
    cron = objects[1]
    container = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["run", "--once", "/automations"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"


def test_the_model_service_selects_every_variation_but_shadows():
    main = {o["kind"] + o["metadata"]["name"]: o for o in render(automation(), TARGET)}
    shadow = {
        o["kind"] + o["metadata"]["name"]: o
        for o in render(automation(variation_name="shadow_b", shadow=True), TARGET)
    }
    # the model's own address: the same object whichever variation renders it
    assert main["Servicechurn-v2"] == shadow["Servicechurn-v2"]
    assert main["Servicechurn-v2"]["spec"]["selector"] == {
        "auto.qwak.ai/model": "churn_v2",
        "auto.qwak.ai/default-address": "true",
    }
    pod = main["Deploymentchurn-v2-default"]["spec"]["template"]["metadata"]["labels"]
    assert pod["auto.qwak.ai/default-address"] == "true"
    shadow_pod = shadow["Deploymentchurn-v2-shadow-b"]["spec"]["template"]["metadata"]["labels"]
    assert shadow_pod["auto.qwak.ai/default-address"] == "false"
    # the variation's own address still reaches the shadow's pods
    assert shadow["Servicechurn-v2-shadow-b"]["spec"]["selector"] == {
        "auto.qwak.ai/model": "churn_v2",
        "auto.qwak.ai/variation": "shadow_b",
    }


def test_api_keys_come_from_a_secret_volume_never_the_manifest():
    target = Target(
        build_id="b1",
        image="r/churn:b1",
        environment="prod",
        namespace="models",
        api_keys_version="3f2a9c1d0e4b5a67",
    )
    objects = render(automation(api_keys_secret="churn_keys"), target)
    validate_all(objects)
    dep = next(o for o in objects if o["kind"] == "Deployment")
    pod = dep["spec"]["template"]
    container = pod["spec"]["containers"][0]
    assert container["command"][-2:] == ["--api-keys-file", "/var/run/auto/api-keys/api_keys"]
    assert container["volumeMounts"] == [
        {"name": "api-keys", "mountPath": "/var/run/auto/api-keys", "readOnly": True}
    ]
    assert pod["spec"]["volumes"] == [
        {
            "name": "api-keys",
            "secret": {"secretName": "churn-v2-default-api-keys", "defaultMode": 0o400},
        }
    ]
    # a new set of keys restarts the pods (they read the keys once, at start)
    assert pod["metadata"]["annotations"]["auto.qwak.ai/api-keys-version"] == "3f2a9c1d0e4b5a67"
    assert not any(o["kind"] == "Secret" for o in objects)


def test_gpu_placement_follows_the_environment():
    nodes = {
        "NVIDIA_A10G": GpuNodes(
            node_selector={"node.kubernetes.io/instance-type": "g5.xlarge"},
            tolerations=(
                {"key": "gpu", "operator": "Equal", "value": "a10g", "effect": "NoSchedule"},
            ),
        )
    }
    target = Target(
        build_id="b1", image="i", environment="prod", gpu_nodes=nodes, pull_secret="regcred"
    )
    a10g = render(automation(gpu_resources={"gpu_type": "NVIDIA_A10G", "gpu_amount": 1}), target)
    t4 = render(automation(gpu_resources={"gpu_type": "NVIDIA_T4", "gpu_amount": 1}), target)
    validate_all(a10g + t4)
    a10g_pod = next(o for o in a10g if o["kind"] == "Deployment")["spec"]["template"]["spec"]
    assert a10g_pod["nodeSelector"] == {"node.kubernetes.io/instance-type": "g5.xlarge"}
    assert a10g_pod["tolerations"][0]["value"] == "a10g"
    assert a10g_pod["imagePullSecrets"] == [{"name": "regcred"}]
    t4_pod = next(o for o in t4 if o["kind"] == "Deployment")["spec"]["template"]["spec"]
    assert t4_pod["nodeSelector"] == {"auto.qwak.ai/gpu-type": "NVIDIA_T4"}
    assert t4_pod["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
