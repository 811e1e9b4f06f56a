"""The whole qwak.automations SDK through the converter: enums, newer fields, ClientResources,
credential headers, and the classes and fields that are reported instead of ported."""

from __future__ import annotations

import ast
from typing import Any

import pytest

from qwak_auto.qwak_import.convert import convert
from qwak_auto.qwak_import.evaluate import Evaluator, SdkCall, scan

HEAD = "from qwak.automations import *\n"
ACTION = 'QwakBuildDeploy(build_spec=BuildSpecifications(git_uri="https://g/r.git"{build}), deployment_condition={condition}, deployment_spec={spec})'


def one(source: str):
    module = scan("m.py", ast.parse(HEAD + source))
    ((_, node),) = module.automations
    call = Evaluator(module).value(node)
    assert isinstance(call, SdkCall)
    return convert(call)


def automation(
    *, build: str = "", condition: str = "None", spec: str = "None", **fields: str
) -> str:
    extra = "".join(f", {k}={v}" for k, v in fields.items())
    action = ACTION.format(build=build, condition=condition, spec=spec)
    return (
        f'a = Automation(name="a", model_id="m", trigger=NoneTrigger(), action={action}{extra})\n'
    )


def errors(conversion) -> list[tuple[str, str]]:
    return [(i.path, i.message) for i in conversion.issues if not i.warning]


def warnings(conversion) -> list[tuple[str, str]]:
    return [(i.path, i.message) for i in conversion.issues if i.warning]


BUILD = ("action", "build_deploy", "build_spec")


def build_of(conversion) -> dict[str, Any]:
    build: dict[str, Any] = conversion.doc["action"]["build_deploy"]["build_spec"]
    return build


# ---------------------------------------------------------------- enums


@pytest.mark.parametrize(
    "member", ["ABOVE", "BELOW", "EQUALS", "ABOVE_OR_EQUALS", "BELOW_OR_EQUALS"]
)
@pytest.mark.parametrize(
    "spelling",
    [
        "ThresholdDirection.{m}",
        "qwak.automations.ThresholdDirection.{m}",
        'ThresholdDirection["{m}"]',
        '"{m}"',
        "ThresholdDirection.{m}.name",
    ],
)
def test_threshold_direction_members_and_strings(member: str, spelling: str) -> None:
    value = spelling.format(m=member)
    condition = f'BuildMetric(metric_name="f1", direction={value}, threshold="0.5")'
    trigger = f'MetricBasedTrigger(name="t", metric=SqlMetric(sql_query="SELECT 1"), direction={value}, threshold="1")'
    conversion = one(automation(condition=condition).replace("NoneTrigger()", trigger))
    assert errors(conversion) == []
    gate = conversion.doc["action"]["build_deploy"]["deployment_condition"]["build_metric"]
    assert gate["direction"] == member
    assert conversion.doc["trigger"]["metric_based"]["direction"] == member


def test_an_alias_of_an_sdk_enum_is_followed() -> None:
    source = "from qwak.automations import ThresholdDirection as D\n" + automation(
        condition='BuildMetric(metric_name="f1", direction=D.ABOVE_OR_EQUALS, threshold="1")'
    )
    gate = one(source).doc["action"]["build_deploy"]["deployment_condition"]["build_metric"]
    assert gate["direction"] == "ABOVE_OR_EQUALS"


def test_direction_defaults_to_qwaks_above() -> None:
    conversion = one(automation(condition='BuildMetric(metric_name="f1", threshold="1")'))
    gate = conversion.doc["action"]["build_deploy"]["deployment_condition"]["build_metric"]
    assert gate["direction"] == "ABOVE"


def test_an_unknown_enum_member_names_the_real_ones() -> None:
    conversion = one(
        automation(
            condition='BuildMetric(metric_name="f1", direction=ThresholdDirection.OVER, threshold="1")'
        )
    )
    (issue,) = [i for i in conversion.issues if not i.warning]
    assert "ThresholdDirection.OVER" in issue.message
    assert "ABOVE_OR_EQUALS" in issue.hint


@pytest.mark.parametrize(
    ("metric", "aggregation", "expected"),
    [
        ("MetricType.gpu", "AggregationType.p95", ("gpu", "p95")),
        ("MetricType.gpu.name", "AggregationType.p95.name", ("gpu", "p95")),
        ('"ERROR_RATE"', '"P99"', ("error_rate", "p99")),
        ('"Throughput"', '"avg"', ("throughput", "avg")),
    ],
)
def test_autoscaling_enums(metric: str, aggregation: str, expected: tuple[str, str]) -> None:
    trigger = (
        f"AutoScalingPrometheusTrigger(query_spec=AutoScaleQuerySpec(metric_type={metric}, "
        f"aggregation_type={aggregation}, time_period=3), threshold=80)"
    )
    spec = f"DeploymentSpecifications(auto_scale_config=AutoScalingConfig(min_replica_count=1, max_replica_count=3, triggers=[{trigger}]))"
    conversion = one(automation(spec=spec))
    assert errors(conversion) == []
    scale = conversion.doc["action"]["build_deploy"]["deployment_spec"]["auto_scale_config"]
    query = scale["triggers"][0]["prometheus_trigger"]["query_spec"]
    assert (query["metric_type"], query["aggregation_type"]) == expected


# ---------------------------------------------------------------- build_spec


def test_every_build_spec_field_is_written_as_stated() -> None:
    build = (
        ', git_branch="main", main_dir="main", tags=[], env_vars=[], base_image="",'
        ' assumed_iam_role="", dependency_file_path="main/requirements.txt",'
        ' git_access_token_secret="gh", git_ssh_token_secret="ssh_key", gpu_compatible=True,'
        ' push_image=False, purchase_option="OnDemand", provision_instance_timeout=30,'
        ' service_account_key_secret_name="gcp", parameters={"n": 3, "lr": 0.1, "x": "y"},'
        ' resources=CpuResources(cpu_fraction=2, memory="512Mib")'
    )
    conversion = one(automation(build=build))
    assert conversion.issues == []
    assert build_of(conversion) == {
        "git_uri": "https://g/r.git",
        "git_branch": "main",
        "main_dir": "main",
        "tags": [],
        "env_vars": [],
        "base_image": "",
        "assumed_iam_role": "",
        "dependency_file_path": "main/requirements.txt",
        "git_access_token_secret": "gh",
        "git_ssh_key_secret": "ssh_key",  # Qwak's git_ssh_token_secret
        "gpu_compatible": True,
        "push_image": False,
        "purchase_option": "ondemand",
        "provision_instance_timeout": 30,
        "service_account_key_secret_name": "gcp",
        "parameters": {"n": "3", "lr": "0.1", "x": "y"},
        "resources": {"cpu": {"cpu_fraction": 2, "memory": "512Mi"}},
    }


def test_empty_secret_names_mean_none() -> None:
    build = ', git_access_token_secret=None, service_account_key_secret_name=""'
    assert build_of(one(automation(build=build))) == {"git_uri": "https://g/r.git"}


@pytest.mark.parametrize(
    ("resources", "expected", "ignored"),
    [
        ('ClientResources(instance="gpu.t4.xl")', {"instance": "gpu.t4.xl"}, []),
        (
            'ClientResources(gpu_resources=GpuResources(gpu_type="NVIDIA_H100_NVL", gpu_amount=2))',
            {"gpu": {"gpu_type": "NVIDIA_H100_NVL", "gpu_amount": 2}},
            [],
        ),
        (
            'ClientResources(cpu_resources=CpuResources(cpu_fraction=4, memory="8Gi"))',
            {"cpu": {"cpu_fraction": 4, "memory": "8Gi"}},
            [],
        ),
        (  # Qwak's order: instance, then gpu, then cpu
            'ClientResources(instance="small", cpu_resources=CpuResources(cpu_fraction=1))',
            {"instance": "small"},
            ["cpu_resources"],
        ),
        (
            'ClientResources(cpu_resources=CpuResources(), gpu_resources=GpuResources(gpu_type="NVIDIA_T4", gpu_amount=1))',
            {"gpu": {"gpu_type": "NVIDIA_T4", "gpu_amount": 1}},
            ["cpu_resources"],
        ),
    ],
)
def test_client_resources_are_followed(
    resources: str, expected: dict[str, Any], ignored: list[str]
) -> None:
    conversion = one(automation(build=f", resources={resources}"))
    assert errors(conversion) == []
    assert build_of(conversion)["resources"] == expected
    path = "action.build_deploy.build_spec.resources"
    assert [p for p, _ in warnings(conversion)] == [f"{path}.{i}" for i in ignored]


def test_lenient_numbers_where_qwak_types_strings() -> None:
    condition = 'BuildMetric(metric_name="f1", threshold=0.65)'
    build = ', resources=GpuResources(gpu_type="NVIDIA_T4", gpu_amount="2")'
    conversion = one(automation(build=build, condition=condition))
    assert errors(conversion) == []
    gate = conversion.doc["action"]["build_deploy"]["deployment_condition"]["build_metric"]
    assert gate["threshold"] == "0.65"
    assert build_of(conversion)["resources"]["gpu"]["gpu_amount"] == 2


# ---------------------------------------------------------------- deployment_spec


def test_every_deployment_spec_field_is_written_as_stated() -> None:
    spec = (
        "DeploymentSpecifications(number_of_http_server_workers=2, http_request_timeout_ms=5000,"
        ' max_batch_size=1, daemon_mode=False, variation_name="default", custom_iam_role_arn="",'
        ' number_of_pods=2, cpu_fraction=2, memory="2Gi", environments=["prod"],'
        ' env_vars=["A=1"], deployment_timeout=0, instance="medium",'
        ' service_account_key_secret_name="gcp", gpu_resources=None,'
        " auto_scale_config=AutoScalingConfig())"
    )
    conversion = one(automation(spec=spec))
    assert conversion.issues == []
    assert conversion.doc["action"]["build_deploy"]["deployment_spec"] == {
        "number_of_http_server_workers": 2,
        "http_request_timeout_ms": 5000,
        "max_batch_size": 1,
        "daemon_mode": False,
        "variation_name": "default",
        "custom_iam_role_arn": "",
        "number_of_pods": 2,
        "cpu_fraction": 2,
        "memory": "2Gi",
        "environments": ["prod"],
        "env_vars": ["A=1"],
        "instance": "medium",
        "deployment_process_timeout_limit": 600,  # Qwak's 0 meant the platform default
        "service_account_key_secret_name": "gcp",
    }


# ---------------------------------------------------------------- notifications


def test_credential_headers_become_secret_headers() -> None:
    hook = (
        'CustomWebhook(url="https://h/x", http_method="HEAD", headers={"Authorization":'
        ' "Bearer s3cr3t-value", "X-Api-Key": os.environ["KEY"], "X-Team": "ml"})'
    )
    conversion = one("import os\n" + automation(on_error=hook))
    assert conversion.issues == []
    webhook = conversion.doc["on_error"]["webhook"]
    assert webhook == {
        "url": "https://h/x",
        "http_method": "HEAD",
        "headers": {"X-Team": "ml"},
        "secret_headers": {
            "Authorization": "a_on_error_header_authorization",
            "X-Api-Key": "a_on_error_header_x_api_key",
        },
    }
    assert "s3cr3t" not in repr(conversion)
    assert [s.name for s in conversion.secrets] == [
        "a_on_error_header_authorization",
        "a_on_error_header_x_api_key",
    ]


def test_webhook_method_qwaks_default_is_written() -> None:
    conversion = one(automation(on_success='CustomWebhook(url="https://h/x")'))
    assert conversion.doc["on_success"]["webhook"]["http_method"] == "GET"


# ---------------------------------------------------------------- reported, not ported


def test_batch_execution_is_a_problem_naming_it() -> None:
    source = (
        'a = Automation(name="a", model_id="m", trigger=NoneTrigger(),'
        ' action=BatchExecution(build_id="b1", data_specifications=BatchJobDataSpecifications(),'
        " execution_specifications=BatchJobExecutionSpecifications()))\n"
    )
    (issue,) = [i for i in one(source).issues if i.path == "action"]
    assert "BatchExecution" in issue.message
    assert not issue.warning


def test_deployed_build_metric_is_a_problem_with_the_way_to_write_it() -> None:
    source = "from qwak.automations.build_and_deploy_action import DeployedBuildMetric\n"
    source += automation(condition='DeployedBuildMetric(metric_name="f1", variation="default")')
    (issue,) = errors(one(source))
    assert "DeployedBuildMetric" in issue[1]


@pytest.mark.parametrize("base", ["Trigger()", "Action()"])
def test_abstract_base_classes_are_problems(base: str) -> None:
    source = (
        automation().replace("NoneTrigger()", base)
        if base == "Trigger()"
        else ('a = Automation(name="a", model_id="m", trigger=NoneTrigger(), action=Action())\n')
    )
    assert any("abstract base class" in message for _, message in errors(one(source)))


def test_automation_fields_without_counterpart_are_warnings() -> None:
    conversion = one(
        automation(
            id='"a1b2"',
            is_sdk_v1="True",
            jfrog_token_id='"tok-id"',
            platform_url='"https://jfrog.example"',
            create_audit='AutomationAudit(date=datetime.now(), user_id="u")',
            is_deleted="False",
        )
    )
    assert errors(conversion) == []
    assert sorted(p for p, _ in warnings(conversion)) == [
        "create_audit",
        "id",
        "is_sdk_v1",
        "jfrog_token_id",
        "platform_url",
    ]
    deleted = one(automation(is_deleted="True"))
    assert [p for p, _ in errors(deleted)] == ["is_deleted"]


def test_a_field_the_sdk_does_not_have_is_a_problem() -> None:
    conversion = one(automation(build=", git_brnch='dev'"))
    ((path, message),) = errors(conversion)
    assert path == "action.build_deploy.build_spec.git_brnch"
    assert "has no field `git_brnch`" in message


def test_cron_and_interval_keep_qwaks_choice() -> None:
    source = automation().replace(
        "NoneTrigger()", 'ScheduledTrigger(cron="0 1 * * *", interval="Daily")'
    )
    conversion = one(source)
    assert conversion.doc["trigger"] == {"scheduled": {"interval": "Daily"}}
    assert [p for p, _ in warnings(conversion)] == ["trigger.scheduled.cron"]
