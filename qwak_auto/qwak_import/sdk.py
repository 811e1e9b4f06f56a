"""What `auto import-qwak` knows of qwak-core's ``qwak.automations`` (0.7.160), as data.

Every class and enum the SDK defines is here: the classes an automation file builds, with
their fields in declaration order (so positional arguments map to the right field), and the
enums with their members. A class `auto` does not port is in :data:`REPORTED` with what
happens to it. The oracle test (tests/integration/qwak_oracle) introspects the installed SDK
and fails when a class, field or enum member is missing here, so nothing new in the SDK
is dropped silently.
"""

from __future__ import annotations

from collections.abc import Mapping

# Class -> its dataclass fields, in order.
SDK_FIELDS: Mapping[str, tuple[str, ...]] = {
    "Automation": (
        "id",
        "name",
        "model_id",
        "execute_immediately",
        "trigger",
        "action",
        "description",
        "environment",
        "is_enabled",
        "is_deleted",
        "is_sdk_v1",
        "create_audit",
        "on_error",
        "on_success",
        "jfrog_token_id",
        "platform_url",
    ),
    "AutomationAudit": ("date", "user_id"),
    "ScheduledTrigger": ("cron", "interval"),
    "MetricBasedTrigger": ("name", "metric", "direction", "threshold", "override_cron"),
    "NoneTrigger": (),
    "OnBoardingTrigger": (),
    "SqlMetric": ("sql_query",),
    "SlackNotification": ("webhook",),
    "CustomWebhook": ("url", "http_method", "headers", "data"),
    "QwakBuildDeploy": ("build_spec", "deployment_condition", "deployment_spec"),
    "BuildSpecifications": (
        "parameters",
        "git_uri",
        "tags",
        "git_access_token_secret",
        "git_branch",
        "main_dir",
        "base_image",
        "assumed_iam_role",
        "resources",
        "dependency_file_path",
        "env_vars",
        "git_ssh_token_secret",
        "gpu_compatible",
        "push_image",
        "purchase_option",
        "provision_instance_timeout",
        "service_account_key_secret_name",
    ),
    "CpuResources": ("cpu_fraction", "memory"),
    "GpuResources": ("gpu_type", "gpu_amount"),
    "ClientResources": ("instance", "gpu_resources", "cpu_resources"),
    "BuildMetric": ("metric_name", "direction", "threshold"),
    "DeployedBuildMetric": ("metric_name", "direction", "variation"),
    "DeploymentSpecifications": (
        "number_of_http_server_workers",
        "http_request_timeout_ms",
        "max_batch_size",
        "daemon_mode",
        "variation_name",
        "custom_iam_role_arn",
        "number_of_pods",
        "cpu_fraction",
        "memory",
        "gpu_resources",
        "auto_scale_config",
        "environments",
        "env_vars",
        "deployment_timeout",
        "instance",
        "service_account_key_secret_name",
    ),
    "AutoScalingConfig": (
        "min_replica_count",
        "max_replica_count",
        "polling_interval",
        "cool_down_period",
        "triggers",
    ),
    "AutoScalingPrometheusTrigger": ("query_spec", "threshold"),
    "AutoScaleQuerySpec": ("metric_type", "aggregation_type", "time_period"),
    # Classes that are reported, not ported (their fields are still known, so that a
    # positional argument is read right before the class is reported).
    "BatchExecution": ("build_id", "data_specifications", "execution_specifications"),
    "BatchJobDataSpecifications": (
        "access_token_secret_name",
        "access_secret_secret_name",
        "source_bucket",
        "source_folder",
        "input_file_type",
        "destination_bucket",
        "destination_folder",
        "output_file_type",
    ),
    "BatchJobExecutionSpecifications": (
        "job_timeout",
        "task_timeout",
        "executors",
        "cpu",
        "memory",
        "gpu_type",
        "gpu_amount",
        "custom_iam_role_arn",
        "params",
        "instance",
    ),
    "ExecutionRunDetails": (
        "start_time",
        "end_time",
        "error_details",
        "status",
        "task",
        "finish_cause",
    ),
    "AutomationExecution": ("execution_id", "run_details"),
    # Abstract base classes: never constructed in a valid file.
    "Action": (),
    "Trigger": (),
    "Metric": (),
    "Notification": (),
    "DeploymentCondition": (),
    "Resources": (),
    "AutoScaleTrigger": (),
}

# Enum -> its members, in order.
SDK_ENUMS: Mapping[str, tuple[str, ...]] = {
    "ThresholdDirection": ("ABOVE", "BELOW", "EQUALS", "BELOW_OR_EQUALS", "ABOVE_OR_EQUALS"),
    "MetricType": ("cpu", "latency", "memory", "error_rate", "throughput", "gpu"),
    "AggregationType": ("avg", "max", "min", "sum", "p50", "p90", "p95", "p99"),
    "ExecutionStatus": ("UNDEFINED", "RUNNING", "SUCCESSFUL", "FAILED"),
}

_ABSTRACT = "is the SDK's abstract base class and cannot be constructed"
_EXECUTIONS = (
    "{} describes a past execution (what `qwak automations executions list` shows), not an "
    "automation; `auto history` keeps auto's own"
)
_BATCH = (
    "{} belongs to Qwak's BatchExecution action (a batch inference job); auto has no batch "
    "action, so the automation is not converted"
)
_BATCH_HINT = "run the batch job from your own scheduler, or keep this automation on Qwak"
# Classes auto does not port -> (what happens, the hint). Each is a problem naming the class.
REPORTED: Mapping[str, tuple[str, str]] = {
    "BatchExecution": (
        "Qwak's BatchExecution action (a batch inference job over files in a bucket) has no "
        "counterpart in auto, so the automation is not converted",
        _BATCH_HINT,
    ),
    "BatchJobDataSpecifications": (_BATCH.format("BatchJobDataSpecifications"), _BATCH_HINT),
    "BatchJobExecutionSpecifications": (
        _BATCH.format("BatchJobExecutionSpecifications"),
        _BATCH_HINT,
    ),
    "DeployedBuildMetric": (
        "DeployedBuildMetric (deploy when the build beats the deployed build of a variation) "
        "has no exact counterpart: auto always compares with a threshold as well",
        "write build_metric with the metric, a direction, a threshold every build passes and "
        "`compare_to: deployed` (it compares with the same variation as deployment_spec)",
    ),
    "ExecutionRunDetails": (
        _EXECUTIONS.format("ExecutionRunDetails"),
        "remove it from the automation file",
    ),
    "AutomationExecution": (
        _EXECUTIONS.format("AutomationExecution"),
        "remove it from the automation file",
    ),
    **{
        name: (f"{name} {_ABSTRACT}", f"use one of its subclasses: {subclasses}")
        for name, subclasses in {
            "Action": "QwakBuildDeploy",
            "Trigger": "ScheduledTrigger, MetricBasedTrigger, NoneTrigger, OnBoardingTrigger",
            "Metric": "SqlMetric",
            "Notification": "SlackNotification, CustomWebhook",
            "DeploymentCondition": "BuildMetric",
            "Resources": "CpuResources, GpuResources, ClientResources",
            "AutoScaleTrigger": "AutoScalingPrometheusTrigger",
        }.items()
    },
}

# Automation(...) fields with no counterpart in an automation file: not written, and a
# warning says so (a stated value never disappears silently).
AUTOMATION_NOT_WRITTEN: Mapping[str, str] = {
    "id": "Qwak's server-side id; auto knows an automation by its name",
    "is_sdk_v1": "a Qwak-internal flag",
    "create_audit": "Qwak's audit record; auto records its own history",
    "jfrog_token_id": "a JFrog platform setting",
    "platform_url": "a JFrog platform setting",
}

# Qwak's defaults that differ from ours, or that the format has no "absent" for.
QWAK_WEBHOOK_METHOD = "GET"
QWAK_DIRECTION = "ABOVE"
