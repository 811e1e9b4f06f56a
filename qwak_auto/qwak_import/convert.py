"""Map evaluated Qwak SDK objects to an automation document of our format.

Where our default differs from Qwak's, the value the Qwak file meant is written explicitly
(a webhook's method defaults to GET in Qwak and to POST here). Plaintext credentials (a Slack
webhook URL) never reach the YAML: they become secret names, and a notice says where to store
the value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qwak_auto.qwak_import.evaluate import SdkCall, SdkEnum, Unknown


@dataclass(frozen=True, slots=True)
class Issue:
    line: int
    column: int
    path: str
    message: str
    hint: str


@dataclass(frozen=True, slots=True)
class SecretNotice:
    name: str  # the secret name written into the YAML
    path: str  # where it is used
    line: int
    what: str  # "Slack incoming-webhook URL", ...


@dataclass
class Conversion:
    doc: dict[str, Any] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    secrets: list[SecretNotice] = field(default_factory=list)


_SECRET_SAFE = re.compile(r"[^A-Za-z0-9_]+")


def secret_name(automation: str, purpose: str) -> str:
    return _SECRET_SAFE.sub("_", f"{automation}_{purpose}").strip("_")[:128]


class Converter:
    def __init__(self, call: SdkCall) -> None:
        self.root = call
        self.result = Conversion()
        self.automation_name = "automation"

    # ------------------------------------------------------------ plumbing

    def _issue(self, line: int, column: int, path: str, message: str, hint: str) -> None:
        self.result.issues.append(Issue(line, column, path, message, hint))

    def _plain(self, value: Any, path: str, call: SdkCall) -> Any:
        """A value with every Unknown reported (returns None for unknowns)."""
        if isinstance(value, Unknown):
            self._issue(value.line, value.column, path, f"cannot know {value.what}", value.hint)
            return None
        if isinstance(value, list):
            items = [self._plain(v, f"{path}[{i}]", call) for i, v in enumerate(value)]
            return None if any(i is None for i in items) else items
        if isinstance(value, dict):
            out = {str(k): self._plain(v, f"{path}.{k}", call) for k, v in value.items()}
            return None if any(v is None for v in out.values()) else out
        if isinstance(value, SdkEnum):
            return value.member
        if isinstance(value, SdkCall):
            self._issue(
                value.line,
                value.column,
                path,
                f"{value.name}(...) is not expected here",
                "check the Qwak SDK signature of the enclosing call",
            )
            return None
        return value

    def _call(
        self, value: Any, path: str, expected: tuple[str, ...], parent: SdkCall
    ) -> SdkCall | None:
        if isinstance(value, SdkCall) and value.name in expected:
            for problem in value.problems:
                self._issue(
                    problem.line, problem.column, path, f"cannot know {problem.what}", problem.hint
                )
            return value
        if isinstance(value, Unknown):
            self._issue(value.line, value.column, path, f"cannot know {value.what}", value.hint)
            return None
        if value is None:
            return None
        got = value.name if isinstance(value, SdkCall) else type(value).__name__
        self._issue(
            parent.line,
            parent.column,
            path,
            f"expected {' or '.join(expected)}(...), found {got}",
            "use the Qwak SDK class the field expects",
        )
        return None

    def _get(self, call: SdkCall, key: str, path: str) -> Any:
        if key not in call.kwargs:
            return None
        return self._plain(call.kwargs[key], f"{path}.{key}" if path else key, call)

    @staticmethod
    def _set(doc: dict[str, Any], key: str, value: Any, default: Any = None) -> None:
        if value is None or value == default:
            return
        doc[key] = value

    @staticmethod
    def _text(value: Any) -> Any:
        """Numbers where Qwak types a string (thresholds, gpu_amount in Qwak) become strings."""
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int | float):
            return repr(value) if isinstance(value, float) else str(value)
        return value

    # ------------------------------------------------------------ automation

    def convert(self) -> Conversion:
        call = self.root
        for problem in call.problems:
            self._issue(
                problem.line, problem.column, "", f"cannot know {problem.what}", problem.hint
            )
        doc = self.result.doc
        name = self._get(call, "name", "")
        if isinstance(name, str) and name:
            self.automation_name = name
        doc["name"] = name
        doc["model_id"] = self._get(call, "model_id", "")
        for key, required in (("name", True), ("model_id", True)):
            if key not in call.kwargs and required:
                self._issue(
                    call.line, call.column, key, f"Automation(...) has no {key}", f'add {key}="..."'
                )
        self._set(doc, "description", self._get(call, "description", ""), "")
        self._set(doc, "environment", self._get(call, "environment", ""), "")
        self._set(doc, "enabled", self._get(call, "is_enabled", ""), True)
        self._set(doc, "execute_immediately", self._get(call, "execute_immediately", ""), False)
        doc["trigger"] = self._trigger(call)
        doc["action"] = {"build_deploy": self._action(call)}
        for qwak_key in ("on_success", "on_error"):
            notification = self._notification(call, qwak_key)
            if notification:
                doc[qwak_key] = notification
        return self.result

    def _trigger(self, parent: SdkCall) -> dict[str, Any]:
        if "trigger" not in parent.kwargs:
            # Qwak's default trigger is the abstract base: nothing fires but a manual run.
            return {"none": {}}
        call = self._call(
            parent.kwargs["trigger"],
            "trigger",
            ("ScheduledTrigger", "MetricBasedTrigger", "NoneTrigger", "OnBoardingTrigger"),
            parent,
        )
        if call is None:
            return {"none": {}}
        if call.name == "NoneTrigger":
            return {"none": {}}
        if call.name == "OnBoardingTrigger":
            return {"on_boarding": {}}
        if call.name == "ScheduledTrigger":
            cron = self._get(call, "cron", "trigger.scheduled")
            interval = self._get(call, "interval", "trigger.scheduled")
            if interval:
                return {"scheduled": {"interval": str(interval)}}
            if not cron:
                self._issue(
                    call.line,
                    call.column,
                    "trigger.scheduled",
                    "ScheduledTrigger has neither cron nor interval",
                    'add cron="..." or interval="..."',
                )
            return {"scheduled": {"cron": cron}}
        out: dict[str, Any] = {}
        path = "trigger.metric_based"
        out["name"] = self._get(call, "name", path)
        metric = self._call(call.kwargs.get("metric"), f"{path}.metric", ("SqlMetric",), call)
        out["sql_query"] = self._get(metric, "sql_query", f"{path}.metric") if metric else None
        if metric is None and "metric" not in call.kwargs:
            self._issue(
                call.line,
                call.column,
                path,
                "MetricBasedTrigger has no metric",
                'add metric=SqlMetric(sql_query="...")',
            )
        direction = self._get(call, "direction", path)
        out["direction"] = direction or "ABOVE"  # the SDK's default
        out["threshold"] = self._text(self._get(call, "threshold", path))
        self._set(out, "override_cron", self._get(call, "override_cron", path), "")
        return {"metric_based": out}

    def _action(self, parent: SdkCall) -> dict[str, Any]:
        call = self._call(parent.kwargs.get("action"), "action", ("QwakBuildDeploy",), parent)
        if call is None:
            if "action" not in parent.kwargs:
                self._issue(
                    parent.line,
                    parent.column,
                    "action",
                    "Automation(...) has no action",
                    "add action=QwakBuildDeploy(...)",
                )
            return {"build_spec": {"git_uri": ""}}
        out: dict[str, Any] = {"build_spec": self._build_spec(call)}
        condition = self._condition(call)
        if condition:
            out["deployment_condition"] = condition
        spec = self._deployment_spec(call)
        if spec:
            out["deployment_spec"] = spec
        return out

    def _build_spec(self, parent: SdkCall) -> dict[str, Any]:
        path = "action.build_deploy.build_spec"
        call = self._call(parent.kwargs.get("build_spec"), path, ("BuildSpecifications",), parent)
        out: dict[str, Any] = {}
        if call is None:
            self._issue(
                parent.line,
                parent.column,
                path,
                "QwakBuildDeploy has no build_spec",
                "add build_spec=BuildSpecifications(git_uri=...)",
            )
            return {"git_uri": ""}
        out["git_uri"] = self._get(call, "git_uri", path)
        if not out["git_uri"]:
            self._issue(
                call.line,
                call.column,
                f"{path}.git_uri",
                "BuildSpecifications has no git_uri",
                'add git_uri="https://..."',
            )
        self._set(out, "git_branch", self._get(call, "git_branch", path), "main")
        self._set(out, "git_access_token_secret", self._get(call, "git_access_token_secret", path))
        self._set(out, "main_dir", self._get(call, "main_dir", path), "main")
        self._set(out, "dependency_file_path", self._get(call, "dependency_file_path", path))
        self._set(out, "tags", self._get(call, "tags", path), [])
        params = self._get(call, "parameters", path)
        if params:
            out["parameters"] = {str(k): self._text(v) for k, v in params.items()}
        self._set(out, "env_vars", self._get(call, "env_vars", path), [])
        self._set(out, "base_image", self._get(call, "base_image", path), "")
        self._set(out, "assumed_iam_role", self._get(call, "assumed_iam_role", path), "")
        if "resources" in call.kwargs:
            res = self._call(
                call.kwargs["resources"],
                f"{path}.resources",
                ("CpuResources", "GpuResources"),
                call,
            )
            if res is not None and res.name == "GpuResources":
                out["resources"] = {"gpu": self._gpu(res, f"{path}.resources.gpu")}
            elif res is not None:
                cpu: dict[str, Any] = {}
                self._set(
                    cpu, "cpu_fraction", self._get(res, "cpu_fraction", f"{path}.resources.cpu")
                )
                self._set(cpu, "memory", self._get(res, "memory", f"{path}.resources.cpu"))
                out["resources"] = {"cpu": cpu or {"cpu_fraction": 2, "memory": "2Gi"}}
        return out

    def _gpu(self, call: SdkCall, path: str) -> dict[str, Any]:
        amount = self._get(call, "gpu_amount", path)
        try:
            amount_int = int(amount) if amount is not None else 1
        except (TypeError, ValueError):
            self._issue(
                call.line,
                call.column,
                f"{path}.gpu_amount",
                f"gpu_amount {amount!r} is not a whole number",
                "write a whole number such as 1",
            )
            amount_int = 1
        return {"gpu_type": self._get(call, "gpu_type", path), "gpu_amount": amount_int}

    def _condition(self, parent: SdkCall) -> dict[str, Any] | None:
        path = "action.build_deploy.deployment_condition"
        call = self._call(parent.kwargs.get("deployment_condition"), path, ("BuildMetric",), parent)
        if call is None:
            return None
        sub = f"{path}.build_metric"
        return {
            "build_metric": {
                "metric_name": self._get(call, "metric_name", sub),
                "direction": self._get(call, "direction", sub) or "ABOVE",
                "threshold": self._text(self._get(call, "threshold", sub)),
            }
        }

    def _deployment_spec(self, parent: SdkCall) -> dict[str, Any] | None:
        path = "action.build_deploy.deployment_spec"
        call = self._call(
            parent.kwargs.get("deployment_spec"), path, ("DeploymentSpecifications",), parent
        )
        if call is None:
            return None
        out: dict[str, Any] = {}
        simple = (
            ("number_of_http_server_workers", 2),
            ("http_request_timeout_ms", 5000),
            ("daemon_mode", False),
            ("custom_iam_role_arn", ""),
            ("max_batch_size", 1),
            ("number_of_pods", 2),
            ("cpu_fraction", 2),
            ("memory", "2Gi"),
            ("variation_name", "default"),
        )
        for key, default in simple:
            self._set(out, key, self._get(call, key, path), default)
        timeout = self._get(call, "deployment_timeout", path)
        if timeout:  # Qwak's 0 meant "the platform default"
            out["deployment_process_timeout_limit"] = timeout
        if "gpu_resources" in call.kwargs:
            gpu = self._call(
                call.kwargs["gpu_resources"], f"{path}.gpu_resources", ("GpuResources",), call
            )
            if gpu is not None:
                out["gpu_resources"] = self._gpu(gpu, f"{path}.gpu_resources")
        self._set(out, "env_vars", self._get(call, "env_vars", path), [])
        self._set(out, "environments", self._get(call, "environments", path), [])
        if "auto_scale_config" in call.kwargs:
            scale = self._autoscale(
                call.kwargs["auto_scale_config"], f"{path}.auto_scale_config", call
            )
            if scale:
                out["auto_scale_config"] = scale
        return out

    def _autoscale(self, value: Any, path: str, parent: SdkCall) -> dict[str, Any] | None:
        call = self._call(value, path, ("AutoScalingConfig",), parent)
        if call is None:
            return None
        out: dict[str, Any] = {}
        for key in (
            "min_replica_count",
            "max_replica_count",
            "polling_interval",
            "cool_down_period",
        ):
            self._set(out, key, self._get(call, key, path))
        if not out:
            return None  # the SDK's empty default: no autoscaling
        triggers = call.kwargs.get("triggers") or []
        if isinstance(triggers, Unknown):
            self._plain(triggers, f"{path}.triggers", call)
            triggers = []
        rendered = []
        for index, item in enumerate(triggers):
            tpath = f"{path}.triggers[{index}].prometheus_trigger"
            trig = self._call(item, tpath, ("AutoScalingPrometheusTrigger",), call)
            if trig is None:
                continue
            spec = self._call(
                trig.kwargs.get("query_spec"), f"{tpath}.query_spec", ("AutoScaleQuerySpec",), trig
            )
            query: dict[str, Any] = {}
            if spec is not None:
                for key in ("metric_type", "aggregation_type", "time_period"):
                    val = self._get(spec, key, f"{tpath}.query_spec")
                    query[key] = val.lower() if isinstance(val, str) else val
            rendered.append(
                {
                    "prometheus_trigger": {
                        "query_spec": query,
                        "threshold": self._get(trig, "threshold", tpath),
                    }
                }
            )
        if rendered:
            out["triggers"] = rendered
        return out

    def _notification(self, parent: SdkCall, key: str) -> dict[str, Any] | None:
        if key not in parent.kwargs or parent.kwargs[key] is None:
            return None
        call = self._call(parent.kwargs[key], key, ("SlackNotification", "CustomWebhook"), parent)
        if call is None:
            return None
        if call.name == "SlackNotification":
            name = secret_name(self.automation_name, f"{key}_slack_webhook")
            self.result.secrets.append(
                SecretNotice(
                    name, f"{key}.slack.webhook_secret", call.line, "Slack incoming-webhook URL"
                )
            )
            # The URL itself (a credential) is deliberately not read into the output.
            return {"slack": {"webhook_secret": name}}
        path = f"{key}.webhook"
        out: dict[str, Any] = {"url": self._get(call, "url", path)}
        method = self._get(call, "http_method", path)
        out["http_method"] = str(method or "GET").upper()  # Qwak's default is GET, ours POST
        headers = self._get(call, "headers", path)
        if headers:
            out["headers"] = {str(k): self._text(v) for k, v in headers.items()}
        data = self._get(call, "data", path)
        if data:
            out["data"] = {str(k): self._text(v) for k, v in data.items()}
        return {"webhook": out}


def convert(call: SdkCall) -> Conversion:
    return Converter(call).convert()


def mask_credentials(doc: Mapping[str, Any]) -> list[str]:
    """Paths whose values look like plaintext credentials (for the caller to rewrite)."""
    found: list[str] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{path}[{i}]")
        elif isinstance(value, str) and re.search(r"hooks\.slack\.com/services/", value):
            found.append(path)

    walk(doc, "")
    return found
