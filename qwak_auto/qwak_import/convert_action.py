"""``QwakBuildDeploy(...)`` to ``action.build_deploy``: build spec, resources, deployment
condition, deployment spec and autoscaling, field by field."""

from __future__ import annotations

from typing import Any

from qwak_auto.qwak_import.convert_base import MISSING, Base, memory, text
from qwak_auto.qwak_import.evaluate import SdkCall
from qwak_auto.qwak_import.sdk import QWAK_DIRECTION, SDK_FIELDS

ACTION = "action.build_deploy"
# BuildSpecifications fields written under the same name, as stated.
_BUILD_SAME = (
    "git_branch",
    "main_dir",
    "dependency_file_path",
    "tags",
    "env_vars",
    "base_image",
    "assumed_iam_role",
    "gpu_compatible",
    "push_image",
    "provision_instance_timeout",
)
# Secret names: Qwak's "" / None mean "no secret", which the format writes by leaving it out.
_BUILD_SECRETS = {
    "git_access_token_secret": "git_access_token_secret",
    "git_ssh_token_secret": "git_ssh_key_secret",  # Qwak's spelling
    "service_account_key_secret_name": "service_account_key_secret_name",
}
# DeploymentSpecifications fields written under the same name: all but those
# deployment_spec() converts on its own.
_DEPLOY_OWN = (
    "memory",
    "gpu_resources",
    "auto_scale_config",
    "deployment_timeout",
    "service_account_key_secret_name",
)
_DEPLOY_SAME = tuple(
    key for key in SDK_FIELDS["DeploymentSpecifications"] if key not in _DEPLOY_OWN
)
# What Qwak's deployment_timeout=0 meant ("the platform's default"), in the format's terms.
DEFAULT_DEPLOYMENT_TIMEOUT = 600


class ActionConverter(Base):
    def action(self, parent: SdkCall) -> dict[str, Any]:
        raw = self.take_raw(parent, "action")
        call = self.call(raw, "action", ("QwakBuildDeploy",), parent)
        if call is None:
            if raw is MISSING:
                self.issue(
                    parent.line,
                    parent.column,
                    "action",
                    "Automation(...) has no action",
                    "add action=QwakBuildDeploy(...)",
                )
            return {"build_spec": {"git_uri": ""}}
        out: dict[str, Any] = {"build_spec": self.build_spec(call)}
        condition = self.condition(call)
        if condition:
            out["deployment_condition"] = condition
        spec = self.deployment_spec(call)
        if spec is not None:
            out["deployment_spec"] = spec
        self.done(call, ACTION)
        return out

    # ------------------------------------------------------------ build

    def build_spec(self, parent: SdkCall) -> dict[str, Any]:
        path = f"{ACTION}.build_spec"
        call = self.take_call(parent, "build_spec", path, ("BuildSpecifications",))
        if call is None:
            self.issue(
                parent.line,
                parent.column,
                path,
                "QwakBuildDeploy has no build_spec",
                "add build_spec=BuildSpecifications(git_uri=...)",
            )
            return {"git_uri": ""}
        out: dict[str, Any] = {"git_uri": self.take(call, "git_uri", path)}
        if out["git_uri"] in (MISSING, None, ""):
            out["git_uri"] = ""
            self.issue(
                call.line,
                call.column,
                f"{path}.git_uri",
                "BuildSpecifications has no git_uri",
                'add git_uri="https://..."',
            )
        for key in _BUILD_SAME:
            self.put(out, key, self.take(call, key, path))
        for qwak_key, key in _BUILD_SECRETS.items():
            value = self.take(call, qwak_key, path)
            self.put(out, key, value or None)
        params = self.take(call, "parameters", path)
        if isinstance(params, dict):
            out["parameters"] = {str(k): text(v) for k, v in params.items()}
        purchase = self.take(call, "purchase_option", path)
        self.put(
            out, "purchase_option", purchase.lower() if isinstance(purchase, str) else purchase
        )
        resources = self.resources(call, f"{path}.resources")
        if resources is not None:
            out["resources"] = resources
        self.done(call, path)
        return out

    def resources(self, parent: SdkCall, path: str) -> dict[str, Any] | None:
        expected = ("CpuResources", "GpuResources", "ClientResources")
        res = self.take_call(parent, "resources", path, expected)
        if res is None:
            return None
        if res.name == "GpuResources":
            return {"gpu": self.gpu(res, f"{path}.gpu")}
        if res.name == "CpuResources":
            return {"cpu": self.cpu(res, f"{path}.cpu")}
        return self.client_resources(res, path)

    def client_resources(self, call: SdkCall, path: str) -> dict[str, Any] | None:
        """Qwak's ClientResources: instance wins, then gpu, then cpu (its to_proto order)."""
        instance = self.take(call, "instance", path)
        gpu = self.take_call(call, "gpu_resources", path, ("GpuResources",))
        cpu = self.take_call(call, "cpu_resources", path, ("CpuResources",))
        chosen: dict[str, Any] | None = None
        given = [
            name
            for name, value in (
                ("instance", instance),
                ("gpu_resources", gpu),
                ("cpu_resources", cpu),
            )
            if value not in (MISSING, None, "")
        ]
        if isinstance(instance, str) and instance:
            chosen = {"instance": instance}
        elif gpu is not None:
            chosen = {"gpu": self.gpu(gpu, f"{path}.gpu")}
        elif cpu is not None:
            chosen = {"cpu": self.cpu(cpu, f"{path}.cpu")}
        for ignored in given[1:]:
            if ignored == "gpu_resources" and gpu is not None:
                self.gpu(gpu, f"{path}.gpu")  # still read, so its own problems show
            if ignored == "cpu_resources" and cpu is not None:
                self.cpu(cpu, f"{path}.cpu")
            self.warn(
                call,
                f"{path}.{ignored}",
                f"ClientResources({ignored}=...) is ignored because {given[0]} is given, as "
                "Qwak ignores it",
                f"remove {ignored}, or write it as the only resource",
            )
        self.done(call, path)
        return chosen

    def cpu(self, call: SdkCall, path: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        self.put(out, "cpu_fraction", self.take(call, "cpu_fraction", path))
        self.put(out, "memory", memory(self.take(call, "memory", path)))
        self.done(call, path)
        return out or {"cpu_fraction": 2, "memory": "2Gi"}  # CpuResources()'s defaults

    def gpu(self, call: SdkCall, path: str) -> dict[str, Any]:
        gpu_type = self.take(call, "gpu_type", path)
        amount = self.take(call, "gpu_amount", path)
        if amount in (MISSING, None):
            amount = 1
        try:
            amount_int = int(amount)
        except (TypeError, ValueError):
            self.issue(
                call.line,
                call.column,
                f"{path}.gpu_amount",
                f"gpu_amount {amount!r} is not a whole number",
                "write a whole number such as 1",
            )
            amount_int = 1
        self.done(call, path)
        out: dict[str, Any] = {"gpu_amount": amount_int}
        if gpu_type in (MISSING, None):
            self.issue(
                call.line,
                call.column,
                path,
                "GpuResources has no gpu_type",
                'add gpu_type="NVIDIA_T4"',
            )
        else:
            out = {"gpu_type": gpu_type, **out}
        return out

    # ------------------------------------------------------------ gate

    def condition(self, parent: SdkCall) -> dict[str, Any] | None:
        path = f"{ACTION}.deployment_condition"
        call = self.take_call(parent, "deployment_condition", path, ("BuildMetric",))
        if call is None:
            return None
        sub = f"{path}.build_metric"
        direction = self.take(call, "direction", sub)
        out = {
            "metric_name": self.take(call, "metric_name", sub),
            "direction": QWAK_DIRECTION if direction is MISSING else direction,
            "threshold": text(self.take(call, "threshold", sub)),
        }
        self.done(call, sub)
        return {"build_metric": {k: v for k, v in out.items() if v is not MISSING}}

    # ------------------------------------------------------------ deploy

    def deployment_spec(self, parent: SdkCall) -> dict[str, Any] | None:
        path = f"{ACTION}.deployment_spec"
        call = self.take_call(parent, "deployment_spec", path, ("DeploymentSpecifications",))
        if call is None:
            return None
        out: dict[str, Any] = {}
        for key in _DEPLOY_SAME:
            self.put(out, key, self.take(call, key, path))
        self.put(out, "memory", memory(self.take(call, "memory", path)))
        timeout = self.take(call, "deployment_timeout", path)
        if timeout == 0:
            timeout = DEFAULT_DEPLOYMENT_TIMEOUT  # Qwak's 0: "the platform's default"
        self.put(out, "deployment_process_timeout_limit", timeout)
        secret = self.take(call, "service_account_key_secret_name", path)
        self.put(out, "service_account_key_secret_name", secret or None)
        gpu_path = f"{path}.gpu_resources"
        gpu = self.take_call(call, "gpu_resources", gpu_path, ("GpuResources",))
        if gpu is not None:
            out["gpu_resources"] = self.gpu(gpu, gpu_path)
        scale = self.autoscale(call, f"{path}.auto_scale_config")
        if scale:
            out["auto_scale_config"] = scale
        self.done(call, path)
        return out

    def autoscale(self, parent: SdkCall, path: str) -> dict[str, Any] | None:
        call = self.take_call(parent, "auto_scale_config", path, ("AutoScalingConfig",))
        if call is None:
            return None
        out: dict[str, Any] = {}
        for key in (
            "min_replica_count",
            "max_replica_count",
            "polling_interval",
            "cool_down_period",
        ):
            self.put(out, key, self.take(call, key, path))
        triggers = self.take_raw(call, "triggers")
        if triggers is not MISSING and not isinstance(triggers, list):
            self.plain(triggers, f"{path}.triggers")  # reports an Unknown
            triggers = []
        rendered = [
            trigger
            for index, item in enumerate(triggers if isinstance(triggers, list) else [])
            if (trigger := self.scale_trigger(item, f"{path}.triggers[{index}]", call)) is not None
        ]
        if rendered:
            out["triggers"] = rendered
        self.done(call, path)
        return out or None  # AutoScalingConfig(): Qwak's "no autoscaling"

    def scale_trigger(self, item: Any, path: str, parent: SdkCall) -> dict[str, Any] | None:
        tpath = f"{path}.prometheus_trigger"
        trig = self.call(item, tpath, ("AutoScalingPrometheusTrigger",), parent)
        if trig is None:
            return None
        spec_path = f"{tpath}.query_spec"
        spec = self.take_call(trig, "query_spec", spec_path, ("AutoScaleQuerySpec",))
        query: dict[str, Any] = {}
        if spec is not None:
            for key in ("metric_type", "aggregation_type", "time_period"):
                value = self.take(spec, key, spec_path)
                # Qwak reads these names in any case; the canonical spelling is lower case
                self.put(query, key, value.lower() if isinstance(value, str) else value)
            self.done(spec, spec_path)
        out: dict[str, Any] = {"query_spec": query}
        self.put(out, "threshold", self.take(trig, "threshold", tpath))
        self.done(trig, tpath)
        return {"prometheus_trigger": out}
