"""What the imported YAML must hold, computed from the SDK object the real qwak-core built.

:func:`expected_document` reads the SDK object (as ``sdk_probe.view`` dumps it) field by
field and returns the YAML mapping it implies. A value equal to the SDK's default is wrapped
in :class:`Opt`: the import may leave it out, because our format's default means the same
(``test_defaults_agree`` checks that claim), or write it. :func:`check` then compares the
imported document with it: every required value present and equal, no key invented.
:data:`HANDLED` lists the fields each function reads, so a field it does not read is caught.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qwak_auto.automation.units import normalise_memory

CREDENTIAL_HEADER = re.compile(r"authorization|token|api[-_]?key|secret|password|cookie", re.I)


@dataclass(frozen=True)
class Opt:
    """A value the import may leave out (it equals the SDK's default, which ours matches)."""

    value: Any


@dataclass(frozen=True)
class AnyOf:
    """A value that must match this pattern (a secret name the import chose)."""

    pattern: str


HANDLED: dict[str, set[str]] = {}


def handles(cls: str, *fields: str) -> None:
    HANDLED.setdefault(cls, set()).update(fields)


def member(value: Any) -> Any:
    """An enum member by name; a string as written."""
    if isinstance(value, dict) and "$member" in value:
        return value["$member"]
    return value


class Expect:
    def __init__(self, defaults: Mapping[str, Mapping[str, Any]]) -> None:
        self.defaults = defaults

    def _is_default(self, cls: str, field: str, value: Any) -> bool:
        return bool(self.defaults[cls].get(field) == value)

    def same(
        self,
        out: dict[str, Any],
        cls: str,
        obj: Mapping[str, Any],
        field: str,
        key: str | None = None,
        convert: Any = None,
    ) -> None:
        """``obj[field]`` under ``key``; optional when it is the SDK's default."""
        value = obj[field]
        if value is None:
            return
        shown = convert(value) if convert else value
        out[key or field] = Opt(shown) if self._is_default(cls, field, value) else shown

    # ------------------------------------------------------------ automation

    def automation(self, a: Mapping[str, Any]) -> dict[str, Any]:
        handles("Automation", *a.keys() - {"$class"})
        out: dict[str, Any] = {"name": a["name"], "model_id": a["model_id"]}
        self.same(out, "Automation", a, "description")
        if a["environment"]:
            out["environment"] = a["environment"]
        self.same(out, "Automation", a, "is_enabled", "enabled")
        self.same(out, "Automation", a, "execute_immediately")
        out["trigger"] = self.trigger(a["trigger"])
        out["action"] = {"build_deploy": self.build_deploy(a["action"])}
        for key in ("on_error", "on_success"):
            if a[key] is not None:
                out[key] = self.notification(a[key], a["name"], key)
        # id, is_deleted, is_sdk_v1, create_audit, jfrog_token_id, platform_url: never in the
        # YAML (the test checks the import's warnings for them)
        return out

    def trigger(self, t: Mapping[str, Any]) -> dict[str, Any]:
        cls = t["$class"]
        handles(cls, *t.keys() - {"$class"})
        if cls == "NoneTrigger":
            return {"none": {}}
        if cls == "OnBoardingTrigger":
            return {"on_boarding": {}}
        if cls == "ScheduledTrigger":
            return {
                "scheduled": {"interval": t["interval"]} if t["interval"] else {"cron": t["cron"]}
            }
        handles("SqlMetric", "sql_query")
        out: dict[str, Any] = {
            "name": t["name"],
            "sql_query": t["metric"]["sql_query"],
            "direction": member(t["direction"]),
            "threshold": t["threshold"],
        }
        if t["override_cron"]:
            out["override_cron"] = t["override_cron"]
        return {"metric_based": out}

    def notification(self, n: Mapping[str, Any], name: str, key: str) -> dict[str, Any]:
        cls = n["$class"]
        handles(cls, *n.keys() - {"$class"})
        if cls == "SlackNotification":
            return {"slack": {"webhook_secret": f"{name}_{key}_slack_webhook"}}
        out: dict[str, Any] = {"url": n["url"], "http_method": n["http_method"].upper()}
        plain = {k: v for k, v in n["headers"].items() if not CREDENTIAL_HEADER.search(k)}
        secret = {
            k: AnyOf(rf"{name}_{key}_header_[a-z0-9_]+")
            for k in n["headers"]
            if CREDENTIAL_HEADER.search(k)
        }
        if plain:
            out["headers"] = plain
        if secret:
            out["secret_headers"] = secret
        if n["data"]:
            out["data"] = n["data"]
        return {"webhook": out}

    # ------------------------------------------------------------ action

    def build_deploy(self, action: Mapping[str, Any]) -> dict[str, Any]:
        handles("QwakBuildDeploy", *action.keys() - {"$class"})
        out: dict[str, Any] = {"build_spec": self.build_spec(action["build_spec"])}
        condition = action["deployment_condition"]
        if condition is not None:
            handles("BuildMetric", *condition.keys() - {"$class"})
            out["deployment_condition"] = {
                "build_metric": {
                    "metric_name": condition["metric_name"],
                    "direction": member(condition["direction"]),
                    "threshold": condition["threshold"],
                }
            }
        if action["deployment_spec"] is not None:
            out["deployment_spec"] = self.deployment_spec(action["deployment_spec"])
        return out

    def build_spec(self, b: Mapping[str, Any]) -> dict[str, Any]:
        handles("BuildSpecifications", *b.keys() - {"$class"})
        cls = "BuildSpecifications"
        out: dict[str, Any] = {"git_uri": b["git_uri"]}
        for field in (
            "git_branch", "main_dir", "tags", "env_vars", "base_image", "assumed_iam_role",
            "gpu_compatible", "dependency_file_path", "parameters",
        ):  # fmt: skip
            self.same(out, cls, b, field)
        for field, key in (
            ("git_access_token_secret", "git_access_token_secret"),
            ("git_ssh_token_secret", "git_ssh_key_secret"),
            ("service_account_key_secret_name", "service_account_key_secret_name"),
        ):
            if b[field]:
                out[key] = b[field]
        # Ours leaves these to the builder when absent, which is what Qwak's defaults mean.
        self.same(out, cls, b, "push_image")
        self.same(out, cls, b, "purchase_option", convert=str.lower)
        self.same(out, cls, b, "provision_instance_timeout")
        resources = self.resources(b["resources"])
        if resources is not None:
            default = self._is_default(cls, "resources", b["resources"])
            out["resources"] = Opt(resources) if default else resources
        return out

    def resources(self, r: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if r is None:
            return None
        cls = r["$class"]
        handles(cls, *r.keys() - {"$class"})
        if cls == "CpuResources":
            return {"cpu": self.cpu(r)}
        if cls == "GpuResources":
            return {"gpu": self.gpu(r)}
        if r["instance"]:
            return {"instance": r["instance"]}
        if r["gpu_resources"] is not None:
            return self.resources(r["gpu_resources"])
        if r["cpu_resources"] is not None:
            return self.resources(r["cpu_resources"])
        return None

    def cpu(self, c: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        self.same(out, "CpuResources", c, "cpu_fraction")
        self.same(out, "CpuResources", c, "memory", convert=normalise_memory)
        return out

    def gpu(self, g: Mapping[str, Any]) -> dict[str, Any]:
        return {"gpu_type": g["gpu_type"], "gpu_amount": g["gpu_amount"]}

    def deployment_spec(self, d: Mapping[str, Any]) -> dict[str, Any]:
        cls = "DeploymentSpecifications"
        handles(cls, *d.keys() - {"$class"})
        out: dict[str, Any] = {}
        for field in (
            "number_of_http_server_workers", "http_request_timeout_ms", "max_batch_size",
            "daemon_mode", "variation_name", "custom_iam_role_arn", "number_of_pods",
            "cpu_fraction", "environments", "env_vars",
        ):  # fmt: skip
            self.same(out, cls, d, field)
        self.same(out, cls, d, "memory", convert=normalise_memory)
        if d["instance"]:
            out["instance"] = d["instance"]
        if d["service_account_key_secret_name"]:
            out["service_account_key_secret_name"] = d["service_account_key_secret_name"]
        # Qwak's 0 meant "the platform's default": ours is 600 seconds
        timeout = d["deployment_timeout"] or 600
        out["deployment_process_timeout_limit"] = Opt(timeout) if timeout == 600 else timeout
        if d["gpu_resources"] is not None:
            out["gpu_resources"] = self.gpu(d["gpu_resources"])
        scale = self.autoscale(d["auto_scale_config"])
        if scale:
            out["auto_scale_config"] = scale
        return out

    def autoscale(self, s: Mapping[str, Any]) -> dict[str, Any]:
        handles("AutoScalingConfig", *s.keys() - {"$class"})
        out = {
            key: s[key]
            for key in (
                "min_replica_count",
                "max_replica_count",
                "polling_interval",
                "cool_down_period",
            )
            if s[key] is not None
        }
        triggers = []
        for trigger in s["triggers"]:
            handles("AutoScalingPrometheusTrigger", *trigger.keys() - {"$class"})
            spec = trigger["query_spec"]
            handles("AutoScaleQuerySpec", *spec.keys() - {"$class"})
            query = {
                "metric_type": str(member(spec["metric_type"])).lower(),
                "aggregation_type": str(member(spec["aggregation_type"])).lower(),
                "time_period": spec["time_period"],
            }
            triggers.append(
                {"prometheus_trigger": {"query_spec": query, "threshold": trigger["threshold"]}}
            )
        if triggers:
            out["triggers"] = triggers
        return out


def check(doc: Any, expected: Any, path: str = "") -> list[str]:
    """Differences between the imported document and what the SDK object implies."""
    if isinstance(expected, Opt):
        expected = expected.value
    if isinstance(expected, AnyOf):
        ok = isinstance(doc, str) and re.fullmatch(expected.pattern, doc)
        return [] if ok else [f"{path}: {doc!r} does not match {expected.pattern}"]
    if isinstance(expected, dict):
        if not isinstance(doc, dict):
            return [f"{path}: expected a mapping, found {doc!r}"]
        problems = []
        for key, value in expected.items():
            where = f"{path}.{key}" if path else key
            if key in doc:
                problems += check(doc[key], value, where)
            elif not isinstance(value, Opt):
                problems.append(f"{where}: missing (the SDK object has {value!r})")
        problems += [f"{path}.{key}: not in the SDK object" for key in doc if key not in expected]
        return problems
    if isinstance(expected, list):
        if not isinstance(doc, list) or len(doc) != len(expected):
            return [f"{path}: {doc!r} != {expected!r}"]
        return [
            p
            for i, (d, e) in enumerate(zip(doc, expected, strict=True))
            for p in check(d, e, f"{path}[{i}]")
        ]
    same = (doc == expected and type(doc) is type(expected)) or (
        isinstance(doc, int | float)
        and isinstance(expected, int | float)
        and not isinstance(doc, bool)
        and doc == expected
    )
    return [] if same else [f"{path}: imported {doc!r}, the SDK object has {expected!r}"]
