"""The oracle's matrix: one Qwak automation module per field of every SDK class, per enum
member, per GPU type and per HTTP method, each differing from a valid base automation in that
one place. :data:`SAMPLES` must name every field of every class the SDK has (the test checks
it against the installed SDK), so a field added to the SDK fails the test until it is mapped
or reported here and in ``qwak_auto/qwak_import/sdk.py``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

HEAD = """\
import datetime
from qwak.automations import *
from qwak.automations.automations import OnBoardingTrigger
from qwak.automations.build_and_deploy_action import ClientResources, DeployedBuildMetric
from qwak.automations.automation_executions import (
    AutomationExecution, ExecutionRunDetails, ExecutionStatus,
)
"""
GIT_URI = '"https://github.com/acme/model.git#models/churn"'
METRIC_TRIGGER = {
    "name": '"drift"',
    "metric": 'SqlMetric(sql_query="SELECT avg(score) FROM predictions")',
    "direction": "ThresholdDirection.ABOVE",
    "threshold": '"0.3"',
}
CONDITION = {
    "metric_name": '"f1"',
    "direction": "ThresholdDirection.ABOVE",
    "threshold": '"0.5"',
}
PROM = (
    "AutoScalingPrometheusTrigger(query_spec=AutoScaleQuerySpec(metric_type={metric}, "
    "aggregation_type={aggregation}, time_period={period}), threshold={threshold})"
)
SCALE = {"min_replica_count": "1", "max_replica_count": "4"}


@dataclass(frozen=True)
class Case:
    id: str
    source: str
    # "ok": valid Qwak code that imports; "lenient": Qwak's to_proto refuses it, the import
    # still reads it as meant; "reported:<Class>": a problem names the class, nothing written.
    expect: str = "ok"
    # YAML paths the import must write, because the file states them (defaults included).
    stated: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # import warnings (paths) the case must produce


def call(name: str, kwargs: Mapping[str, str]) -> str:
    return f"{name}(" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


@dataclass
class Slots:
    """The base automation, slot by slot; a case replaces or adds one value."""

    automation: dict[str, str] = field(default_factory=dict)
    trigger: str = "NoneTrigger()"
    build: dict[str, str] = field(default_factory=lambda: {"git_uri": GIT_URI})
    condition: str = call("BuildMetric", CONDITION)
    deploy: dict[str, str] = field(default_factory=dict)
    action: str | None = None

    def source(self, name: str) -> str:
        action = self.action or call(
            "QwakBuildDeploy",
            {
                "build_spec": call("BuildSpecifications", self.build),
                "deployment_condition": self.condition,
                "deployment_spec": call("DeploymentSpecifications", self.deploy),
            },
        )
        kwargs = {
            "name": f'"{name}"',
            "model_id": '"churn"',
            "trigger": self.trigger,
            "action": action,
            **self.automation,
        }
        return HEAD + f"\nautomation = {call('Automation', kwargs)}\n"


def case_id(*parts: str) -> str:
    return "_".join(p.strip("_") for p in parts if p).replace(".", "_").lower()[:63]


# (class, field) -> samples: (source of the value, where it lands, what it states)
# Each sample is (value, stated YAML path or "", expect).
S = tuple[str, str, str]
AUTO, BS, DS = "", "action.build_deploy.build_spec", "action.build_deploy.deployment_spec"
BM = "action.build_deploy.deployment_condition.build_metric"
SAMPLES: dict[tuple[str, str], tuple[S, ...]] = {
    ("Automation", "id"): (('"a1b2c3"', "", "ok"), ('""', "", "ok")),
    ("Automation", "name"): (('"other_name"', "name", "ok"),),
    ("Automation", "model_id"): (('"fraud"', "model_id", "ok"),),
    ("Automation", "execute_immediately"): (
        ("True", "execute_immediately", "ok"),
        ("False", "execute_immediately", "ok"),
    ),
    ("Automation", "trigger"): (("OnBoardingTrigger()", "trigger.on_boarding", "ok"),),
    ("Automation", "action"): (("", "action.build_deploy.build_spec", "ok"),),
    ("Automation", "description"): (('"Weekly"', "description", "ok"), ('""', "description", "ok")),
    ("Automation", "environment"): (('"prod"', "environment", "ok"),),
    ("Automation", "is_enabled"): (("False", "enabled", "ok"), ("True", "enabled", "ok")),
    ("Automation", "is_deleted"): (("False", "", "ok"), ("True", "", "reported:is_deleted")),
    ("Automation", "is_sdk_v1"): (("True", "", "ok"),),
    ("Automation", "create_audit"): (
        ('AutomationAudit(user_id="u1", date=datetime.datetime(2024, 1, 2))', "", "ok"),
    ),
    ("Automation", "on_error"): (
        (
            'SlackNotification(webhook="https://hooks.slack.com/services/T0/B0/abc")',
            "on_error.slack.webhook_secret",
            "ok",
        ),
    ),
    ("Automation", "on_success"): (
        (
            'CustomWebhook(url="https://hooks.example.com/x")',
            "on_success.webhook.http_method",
            "ok",
        ),
    ),
    ("Automation", "jfrog_token_id"): (('"jf-123"', "", "ok"),),
    ("Automation", "platform_url"): (('"https://acme.jfrog.io"', "", "ok"),),
    ("AutomationAudit", "date"): (("datetime.datetime(2024, 5, 1)", "", "ok"),),
    ("AutomationAudit", "user_id"): (('"someone"', "", "ok"),),
    ("ScheduledTrigger", "cron"): (('"0 3 * * *"', "trigger.scheduled.cron", "ok"),),
    ("ScheduledTrigger", "interval"): (
        ('"6h"', "trigger.scheduled.interval", "ok"),
        ('"Daily"', "trigger.scheduled.interval", "ok"),
    ),
    ("MetricBasedTrigger", "name"): (('"score_drift"', "trigger.metric_based.name", "ok"),),
    ("MetricBasedTrigger", "metric"): (
        ('SqlMetric(sql_query="SELECT 1")', "trigger.metric_based.sql_query", "ok"),
    ),
    ("MetricBasedTrigger", "direction"): (
        ("ThresholdDirection.BELOW", "trigger.metric_based.direction", "ok"),
    ),
    ("MetricBasedTrigger", "threshold"): (
        ('"0.25"', "trigger.metric_based.threshold", "ok"),
        ('"SELECT 0.5"', "trigger.metric_based.threshold", "ok"),
    ),
    ("MetricBasedTrigger", "override_cron"): (
        ('"*/15 * * * *"', "trigger.metric_based.override_cron", "ok"),
    ),
    ("SqlMetric", "sql_query"): (
        ('"SELECT count(*) FROM predictions"', "trigger.metric_based.sql_query", "ok"),
    ),
    ("SlackNotification", "webhook"): (
        ('"https://hooks.slack.com/services/T1/B1/zzz"', "on_error.slack.webhook_secret", "ok"),
    ),
    ("CustomWebhook", "url"): (('"https://hooks.example.com/y"', "on_error.webhook.url", "ok"),),
    ("CustomWebhook", "http_method"): (('"PUT"', "on_error.webhook.http_method", "ok"),),
    ("CustomWebhook", "headers"): (
        ('{"X-Team": "ml"}', "on_error.webhook.headers.X-Team", "ok"),
        (
            '{"Authorization": "Bearer abcdef0123456789", "X-Api-Key": "k-0123456789"}',
            "on_error.webhook.secret_headers.Authorization",
            "ok",
        ),
    ),
    ("CustomWebhook", "data"): (('{"team": "ml"}', "on_error.webhook.data.team", "ok"),),
    ("QwakBuildDeploy", "build_spec"): (("", f"{BS}.git_uri", "ok"),),
    ("QwakBuildDeploy", "deployment_condition"): (("", f"{BM}.metric_name", "ok"),),
    ("QwakBuildDeploy", "deployment_spec"): (("", "action.build_deploy.deployment_spec", "ok"),),
    ("BuildSpecifications", "parameters"): (
        ('{"n_estimators": "300"}', f"{BS}.parameters.n_estimators", "ok"),
        ("{}", f"{BS}.parameters", "ok"),
    ),
    ("BuildSpecifications", "git_uri"): (
        ('"git@github.com:acme/model.git#m"', f"{BS}.git_uri", "ok"),
    ),
    ("BuildSpecifications", "tags"): (('["prod"]', f"{BS}.tags", "ok"), ("[]", f"{BS}.tags", "ok")),
    ("BuildSpecifications", "git_access_token_secret"): (
        ('"gh_token"', f"{BS}.git_access_token_secret", "ok"),
    ),
    ("BuildSpecifications", "git_branch"): (
        ('"main"', f"{BS}.git_branch", "ok"),
        ('"release/1.10"', f"{BS}.git_branch", "ok"),
    ),
    ("BuildSpecifications", "main_dir"): (
        ('"main"', f"{BS}.main_dir", "ok"),
        ('"src"', f"{BS}.main_dir", "ok"),
    ),
    ("BuildSpecifications", "base_image"): (('"python:3.11-slim"', f"{BS}.base_image", "ok"),),
    ("BuildSpecifications", "assumed_iam_role"): (
        ('"arn:aws:iam::123456789012:role/b"', f"{BS}.assumed_iam_role", "ok"),
    ),
    ("BuildSpecifications", "resources"): (
        ('CpuResources(cpu_fraction=4, memory="8Gi")', f"{BS}.resources.cpu", "ok"),
    ),
    ("BuildSpecifications", "dependency_file_path"): (
        ('"main/requirements.txt"', f"{BS}.dependency_file_path", "ok"),
    ),
    ("BuildSpecifications", "env_vars"): (('["A=1"]', f"{BS}.env_vars", "ok"),),
    ("BuildSpecifications", "git_ssh_token_secret"): (
        ('"deploy_key"', f"{BS}.git_ssh_key_secret", "ok"),
    ),
    ("BuildSpecifications", "gpu_compatible"): (
        ("True", f"{BS}.gpu_compatible", "ok"),
        ("False", f"{BS}.gpu_compatible", "ok"),
    ),
    ("BuildSpecifications", "push_image"): (
        ("False", f"{BS}.push_image", "ok"),
        ("True", f"{BS}.push_image", "ok"),
    ),
    ("BuildSpecifications", "purchase_option"): (
        ('"ondemand"', f"{BS}.purchase_option", "ok"),
        ('"SPOT"', f"{BS}.purchase_option", "ok"),
    ),
    ("BuildSpecifications", "provision_instance_timeout"): (
        ("30", f"{BS}.provision_instance_timeout", "ok"),
    ),
    ("BuildSpecifications", "service_account_key_secret_name"): (
        ('"gcp_key"', f"{BS}.service_account_key_secret_name", "ok"),
    ),
    ("CpuResources", "cpu_fraction"): (("0.5", f"{BS}.resources.cpu.cpu_fraction", "ok"),),
    ("CpuResources", "memory"): (
        ('"1024Mib"', f"{BS}.resources.cpu.memory", "ok"),
        ('"4Gi"', f"{BS}.resources.cpu.memory", "ok"),
    ),
    ("GpuResources", "gpu_type"): (('"NVIDIA_A10G"', f"{BS}.resources.gpu.gpu_type", "ok"),),
    ("GpuResources", "gpu_amount"): (("2", f"{BS}.resources.gpu.gpu_amount", "ok"),),
    ("ClientResources", "instance"): (('"gpu.t4.xl"', f"{BS}.resources.instance", "ok"),),
    ("ClientResources", "gpu_resources"): (
        ('GpuResources(gpu_type="NVIDIA_H100_SXM", gpu_amount=1)', f"{BS}.resources.gpu", "ok"),
    ),
    ("ClientResources", "cpu_resources"): (
        ('CpuResources(cpu_fraction=3, memory="6Gi")', f"{BS}.resources.cpu", "ok"),
    ),
    ("BuildMetric", "metric_name"): (('"auc"', f"{BM}.metric_name", "ok"),),
    ("BuildMetric", "direction"): (("ThresholdDirection.BELOW", f"{BM}.direction", "ok"),),
    ("BuildMetric", "threshold"): (
        ('"0.75"', f"{BM}.threshold", "ok"),
        ('"SELECT avg(value) FROM build_metrics"', f"{BM}.threshold", "ok"),
    ),
    ("DeployedBuildMetric", "metric_name"): (('"f1"', "", "reported:DeployedBuildMetric"),),
    ("DeployedBuildMetric", "direction"): (
        ("ThresholdDirection.ABOVE", "", "reported:DeployedBuildMetric"),
    ),
    ("DeployedBuildMetric", "variation"): (('"challenger"', "", "reported:DeployedBuildMetric"),),
    ("DeploymentSpecifications", "number_of_http_server_workers"): (
        ("4", f"{DS}.number_of_http_server_workers", "ok"),
        ("2", f"{DS}.number_of_http_server_workers", "ok"),
    ),
    ("DeploymentSpecifications", "http_request_timeout_ms"): (
        ("3000", f"{DS}.http_request_timeout_ms", "ok"),
    ),
    ("DeploymentSpecifications", "max_batch_size"): (("100", f"{DS}.max_batch_size", "ok"),),
    ("DeploymentSpecifications", "daemon_mode"): (("True", f"{DS}.daemon_mode", "ok"),),
    ("DeploymentSpecifications", "variation_name"): (
        ('"challenger"', f"{DS}.variation_name", "ok"),
        ('"default"', f"{DS}.variation_name", "ok"),
    ),
    ("DeploymentSpecifications", "custom_iam_role_arn"): (
        ('"arn:aws:iam::123456789012:role/s"', f"{DS}.custom_iam_role_arn", "ok"),
    ),
    ("DeploymentSpecifications", "number_of_pods"): (("3", f"{DS}.number_of_pods", "ok"),),
    ("DeploymentSpecifications", "cpu_fraction"): (("0.5", f"{DS}.cpu_fraction", "ok"),),
    ("DeploymentSpecifications", "memory"): (
        ('"512Mib"', f"{DS}.memory", "ok"),
        ('"2Gi"', f"{DS}.memory", "ok"),
    ),
    ("DeploymentSpecifications", "gpu_resources"): (
        ('GpuResources(gpu_type="NVIDIA_T4", gpu_amount=1)', f"{DS}.gpu_resources", "ok"),
    ),
    ("DeploymentSpecifications", "auto_scale_config"): (
        (call("AutoScalingConfig", SCALE), f"{DS}.auto_scale_config.min_replica_count", "ok"),
    ),
    ("DeploymentSpecifications", "environments"): (('["prod"]', f"{DS}.environments", "ok"),),
    ("DeploymentSpecifications", "env_vars"): (('["K=V"]', f"{DS}.env_vars", "ok"),),
    ("DeploymentSpecifications", "deployment_timeout"): (
        ("900", f"{DS}.deployment_process_timeout_limit", "ok"),
        ("0", f"{DS}.deployment_process_timeout_limit", "ok"),
    ),
    ("DeploymentSpecifications", "instance"): (('"medium"', f"{DS}.instance", "ok"),),
    ("DeploymentSpecifications", "service_account_key_secret_name"): (
        ('"gcp_serving_key"', f"{DS}.service_account_key_secret_name", "ok"),
    ),
    ("AutoScalingConfig", "min_replica_count"): (
        ("2", f"{DS}.auto_scale_config.min_replica_count", "ok"),
    ),
    ("AutoScalingConfig", "max_replica_count"): (
        ("8", f"{DS}.auto_scale_config.max_replica_count", "ok"),
    ),
    ("AutoScalingConfig", "polling_interval"): (
        ("15", f"{DS}.auto_scale_config.polling_interval", "ok"),
    ),
    ("AutoScalingConfig", "cool_down_period"): (
        ("600", f"{DS}.auto_scale_config.cool_down_period", "ok"),
    ),
    ("AutoScalingConfig", "triggers"): (
        (
            "[" + PROM.format(metric='"cpu"', aggregation='"avg"', period=2, threshold=70) + "]",
            f"{DS}.auto_scale_config.triggers",
            "ok",
        ),
    ),
    ("AutoScalingPrometheusTrigger", "query_spec"): (
        ("", f"{DS}.auto_scale_config.triggers", "ok"),
    ),
    ("AutoScalingPrometheusTrigger", "threshold"): (
        ("", f"{DS}.auto_scale_config.triggers", "ok"),
    ),
    ("AutoScaleQuerySpec", "metric_type"): (("", f"{DS}.auto_scale_config.triggers", "ok"),),
    ("AutoScaleQuerySpec", "aggregation_type"): (("", f"{DS}.auto_scale_config.triggers", "ok"),),
    ("AutoScaleQuerySpec", "time_period"): (("", f"{DS}.auto_scale_config.triggers", "ok"),),
}
# Classes whose every field is reported with the class (by the class's own case).
REPORTED_CLASSES = {
    "BatchExecution": 'BatchExecution(build_id="b1", data_specifications=BatchJobDataSpecifications(source_bucket="in", destination_bucket="out", input_file_type="csv", output_file_type="csv"), execution_specifications=BatchJobExecutionSpecifications(executors=2, cpu=1, memory="2Gi"))',
    "BatchJobDataSpecifications": "",
    "BatchJobExecutionSpecifications": "",
    "AutomationExecution": "AutomationExecution()",
    "ExecutionRunDetails": "ExecutionRunDetails(status=ExecutionStatus.{member})",
}
ABSTRACT = (
    "Action",
    "Trigger",
    "Metric",
    "Notification",
    "DeploymentCondition",
    "Resources",
    "AutoScaleTrigger",
)


def _place(cls: str, fld: str, value: str) -> Slots:
    """The base automation with ``cls(fld=value)`` in the place the class goes."""
    slots = Slots()
    if cls == "Automation":
        if fld == "action":
            return slots
        if fld in ("name", "model_id", "trigger"):
            slots.automation[fld] = value  # overrides the base value
        else:
            slots.automation[fld] = value
    elif cls == "AutomationAudit":
        slots.automation["create_audit"] = f"AutomationAudit({fld}={value})"
    elif cls == "ScheduledTrigger":
        slots.trigger = f"ScheduledTrigger({fld}={value})"
    elif cls in ("MetricBasedTrigger", "SqlMetric"):
        kwargs = dict(METRIC_TRIGGER)
        if cls == "SqlMetric":
            kwargs["metric"] = f"SqlMetric({fld}={value})"
        else:
            kwargs[fld] = value
        slots.trigger = call("MetricBasedTrigger", kwargs)
    elif cls == "SlackNotification":
        slots.automation["on_error"] = f"SlackNotification({fld}={value})"
    elif cls == "CustomWebhook":
        kwargs = {"url": '"https://hooks.example.com/x"', fld: value}
        slots.automation["on_error"] = call("CustomWebhook", kwargs)
    elif cls == "BuildSpecifications":
        slots.build[fld] = value
    elif cls in ("CpuResources", "GpuResources"):
        base = {"gpu_type": '"NVIDIA_T4"', "gpu_amount": "1"} if cls == "GpuResources" else {}
        slots.build["resources"] = call(cls, {**base, fld: value})
    elif cls == "ClientResources":
        slots.build["resources"] = f"ClientResources({fld}={value})"
    elif cls in ("BuildMetric", "DeployedBuildMetric"):
        base = dict(CONDITION) if cls == "BuildMetric" else {}
        slots.condition = call(cls, {**base, fld: value})
    elif cls == "DeploymentSpecifications":
        slots.deploy[fld] = value
    elif cls == "AutoScalingConfig":
        slots.deploy["auto_scale_config"] = call("AutoScalingConfig", {**SCALE, fld: value})
    elif cls in ("AutoScalingPrometheusTrigger", "AutoScaleQuerySpec"):
        trigger = PROM.format(metric='"latency"', aggregation='"max"', period=4, threshold=60)
        slots.deploy["auto_scale_config"] = call(
            "AutoScalingConfig", {**SCALE, "triggers": f"[{trigger}]"}
        )
    return slots


def field_cases() -> Iterator[Case]:
    for (cls, fld), samples in SAMPLES.items():
        for index, (value, stated, expect) in enumerate(samples):
            name = case_id("f", cls, fld, str(index))
            slots = _place(cls, fld, value)
            yield Case(
                name, slots.source(name.replace("-", "_")), expect, (stated,) if stated else ()
            )


def enum_cases(members: Mapping[str, list[str]]) -> Iterator[Case]:
    for member in members["ThresholdDirection"]:
        for place in ("gate", "trigger"):
            slots = Slots()
            direction = f"ThresholdDirection.{member}"
            if place == "gate":
                slots.condition = call("BuildMetric", {**CONDITION, "direction": direction})
                stated = f"{BM}.direction"
            else:
                slots.trigger = call(
                    "MetricBasedTrigger", {**METRIC_TRIGGER, "direction": direction}
                )
                stated = "trigger.metric_based.direction"
            name = case_id("e", member, place)
            yield Case(name, slots.source(name), "ok", (stated,))
    for enum, key in (("MetricType", "metric"), ("AggregationType", "aggregation")):
        for member in members[enum]:
            spellings = {
                "name": f"{enum}.{member}.name",  # what valid Qwak code writes
                "upper": f'"{member.upper()}"',  # Qwak lower-cases the string
                "member": f"{enum}.{member}",  # Qwak's to_proto refuses it; imported as meant
            }
            for how, value in spellings.items():
                values = {"metric": '"cpu"', "aggregation": '"avg"', key: value}
                trigger = PROM.format(**values, period=3, threshold=50)
                slots = Slots(
                    deploy={
                        "auto_scale_config": call(
                            "AutoScalingConfig", {**SCALE, "triggers": f"[{trigger}]"}
                        )
                    }
                )
                name = case_id("e", enum, member, how)
                expect = "lenient" if how == "member" else "ok"
                yield Case(name, slots.source(name), expect, (f"{DS}.auto_scale_config.triggers",))
    for member in members["ExecutionStatus"]:
        name = case_id("e", "ExecutionStatus", member)
        slots = Slots(
            automation={"on_error": REPORTED_CLASSES["ExecutionRunDetails"].format(member=member)}
        )
        yield Case(name, slots.source(name), "reported:ExecutionRunDetails")


def class_cases() -> Iterator[Case]:
    batch = Slots(action=REPORTED_CLASSES["BatchExecution"])
    yield Case("c_batchexecution", batch.source("c_batch"), "reported:BatchExecution")
    execution = Slots(automation={"on_success": REPORTED_CLASSES["AutomationExecution"]})
    yield Case("c_automationexecution", execution.source("c_exec"), "reported:AutomationExecution")
    for base in ABSTRACT:
        slots = Slots()
        if base == "Action":
            slots.action = "Action()"
        elif base == "Trigger":
            slots.trigger = "Trigger()"
        elif base == "Metric":
            slots.trigger = call("MetricBasedTrigger", {**METRIC_TRIGGER, "metric": "Metric()"})
        elif base == "Notification":
            slots.automation["on_error"] = "Notification()"
        elif base == "DeploymentCondition":
            slots.condition = "DeploymentCondition()"
        elif base == "Resources":
            slots.build["resources"] = "Resources()"
        else:
            slots.deploy["auto_scale_config"] = call(
                "AutoScalingConfig", {**SCALE, "triggers": "[AutoScaleTrigger()]"}
            )
        name = case_id("c", base)
        yield Case(name, slots.source(name), f"reported:{base}")


def value_cases(gpu_types: list[str], http_methods: list[str]) -> Iterator[Case]:
    for gpu in gpu_types:
        slots = Slots()
        slots.build["resources"] = (
            f'ClientResources(gpu_resources=GpuResources(gpu_type="{gpu}", gpu_amount=1))'
        )
        name = case_id("g", gpu)
        yield Case(name, slots.source(name), "ok", (f"{BS}.resources.gpu.gpu_type",))
    for method in http_methods:
        for spelled in (method, method.lower()):
            slots = Slots()
            hook = call(
                "CustomWebhook",
                {"url": '"https://hooks.example.com/x"', "http_method": f'"{spelled}"'},
            )
            slots.automation["on_success"] = hook
            name = case_id("h", spelled, "lower" if spelled.islower() else "")
            yield Case(name, slots.source(name), "ok", ("on_success.webhook.http_method",))
    # Qwak's defaults stated and combined in one file, and the precedence rules
    slots = Slots()
    slots.build["resources"] = 'ClientResources(instance="small", cpu_resources=CpuResources())'
    slots.trigger = 'ScheduledTrigger(cron="0 1 * * *", interval="Weekly")'
    yield Case(
        "p_precedence",
        slots.source("p_precedence"),
        "ok",
        (f"{BS}.resources.instance", "trigger.scheduled.interval"),
        (f"{BS}.resources.cpu_resources", "trigger.scheduled.cron"),
    )
