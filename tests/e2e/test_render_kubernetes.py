"""`auto render` as a user types it, for Kubernetes: a deployment with a rollout prints the
Argo Rollout and its AnalysisTemplate, and `--build AUTOMATION` the objects of the
automation's build; everything printed validates against the published schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from qwak_auto.cli import main
from tests.kube_schemas import validate_all

AUTO_YAML = """\
builder: kubernetes
default_environment: prod
environments:
  prod:
    deployer: kubernetes
    namespace: models
    image_registry: registry.example.com/ml
    prometheus_url: http://prometheus.monitoring:9090
    registry_secret: regcred
    gpu_nodes:
      NVIDIA_A10G: {node_selector: {node.kubernetes.io/instance-type: g5.xlarge}}
"""
AUTOMATION = """\
name: retrain_churn
model_id: churn
trigger: {scheduled: {cron: "0 3 * * *"}}
action:
  build_deploy:
    build_spec:
      git_uri: https://github.com/org/models.git#churn
      git_access_token_secret: gh_token
      assumed_iam_role: arn:aws:iam::123456789012:role/churn-build
      resources: {gpu: {gpu_type: NVIDIA_A10G, gpu_amount: 1}}
    deployment_spec:
      api_keys_secret: churn_keys
      rollout: {canary_steps: [10, 50], step_time: 2m, max_p99_latency_ms: 300}
      auto_scale_config: {min_replica_count: 2, max_replica_count: 5}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "auto.yaml").write_text(AUTO_YAML, encoding="utf-8")
    (tmp_path / "churn.yaml").write_text(AUTOMATION, encoding="utf-8")
    return tmp_path


def render(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[list[dict[str, Any]], str]:
    capsys.readouterr()
    assert main(["render", *argv]) == 0
    shown = capsys.readouterr()
    return [d for d in YAML(typ="safe").load_all(shown.out) if d], shown.err


def test_render_prints_the_rollout(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    objects, err = render(capsys, str(project))
    validate_all(objects)
    kinds = [o["kind"] for o in objects]
    assert kinds == [
        "ServiceAccount",
        "Service",
        "Service",
        "AnalysisTemplate",
        "Rollout",
        "ScaledObject",
    ]
    assert objects[-1]["spec"]["scaleTargetRef"]["kind"] == "Rollout"
    assert "the Secret 'churn-default-api-keys'" in err
    assert "kubectl -n models create secret generic churn-default-api-keys" in err


def test_render_build_prints_the_job(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    objects, err = render(capsys, str(project), "--build", "retrain_churn")
    validate_all(objects)
    assert [o["kind"] for o in objects] == ["ServiceAccount", "Job"]
    job = objects[1]
    assert job["metadata"]["name"] == "build-churn-review"
    pod = job["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"node.kubernetes.io/instance-type": "g5.xlarge"}
    assert pod["initContainers"][1]["resources"]["limits"] == {"nvidia.com/gpu": "1"}
    assert objects[0]["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/churn-build"
    }
    assert "the Secret 'build-churn-review-git'" in err
    assert "it is not printed" in err
    assert "kind: Secret" not in err


def test_render_build_of_an_unknown_automation(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    capsys.readouterr()
    assert main(["render", str(project), "--build", "retrain"]) == 2
    err = capsys.readouterr().err
    assert "--build: no valid automation named 'retrain' here" in err
    assert "valid automations here: retrain_churn" in err


def add_challenger(project: Path, fields: str) -> None:
    """A second automation of the model: variation `challenger` with these deployment fields."""
    challenger = AUTOMATION.replace("name: retrain_churn", "name: retrain_churn_b").replace(
        "      api_keys_secret: churn_keys\n", f"      variation_name: challenger\n{fields}"
    )
    (project / "churn_b.yaml").write_text(challenger, encoding="utf-8")


def test_variations_share_one_model_service(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    add_challenger(project, "      shadow: true\n")
    objects, err = render(capsys, str(project))
    validate_all(objects)
    services = [o["metadata"]["name"] for o in objects if o["kind"] == "Service"]
    assert sorted(services) == ["churn", "churn-challenger", "churn-default"]
    assert "retrain_churn_b: shadow: its pods take no requests from the model's address" in err


def test_a_traffic_weight_says_how_plain_services_split(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    add_challenger(project, "      traffic_weight: 10\n      number_of_pods: 1\n")
    (project / "churn.yaml").write_text(
        AUTOMATION.replace("deployment_spec:\n", "deployment_spec:\n      number_of_pods: 3\n"),
        encoding="utf-8",
    )
    objects, err = render(capsys, str(project))
    validate_all(objects)
    assert (
        "retrain_churn_b: traffic_weight 10: the model's Service splits its requests by ready "
        "pods, not by weight (this variation: 1 of 4 pods, about 25 % before KEDA scales it)"
    ) in err
    assert "Gateway API HTTPRoute" in err
    assert "retrain_churn: traffic_weight" not in err
