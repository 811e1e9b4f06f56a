"""Argo Rollouts objects of a deployment with a ``rollout`` (SPEC-REFERENCE "Rollout, approval
and traffic"): a ``Rollout`` instead of a Deployment, and the ``AnalysisTemplate`` that judges
the new build on live traffic.

Steps: for each ``canary_steps`` percent P, ``setWeight: P`` then ``pause`` for ``step_time``;
then, with a ``bake_time``, ``setWeight: 100`` and ``pause`` for ``bake_time``; after the last
step Argo Rollouts promotes the new ReplicaSet. Without a traffic router a weight is rounded to
whole pods (``maxSurge: 1``, ``maxUnavailable: 0``: a 10 % step of 4 pods runs one new pod
beside the old ones, about a fifth of the requests).

Analysis runs in the background from the first step to promotion. Its template (same name as
the Rollout) gets one argument, ``canary-hash``: the new ReplicaSet's pod-template-hash
(``podTemplateHashValue: Latest``). Rollouts names pods ``<rollout>-<hash>-<id>``, so the
queries below see the new build's pods only, through the ``namespace`` and ``pod`` labels the
usual pod scrape configuration adds. Every ``interval`` (``step_time`` kept within 15-60 s) it
measures over the last ``window`` (twice the interval, at least 60 s):

============== =================================================================================
metric         query, and when it fails the Rollout
============== =================================================================================
requests       ``sum(increase(auto_model_requests_total{NEW}[W]))``: recorded, never fails
error-rate     5xx answers / all answers of the new pods; fails above ``max_error_rate``
p99-latency-ms ``1000 * histogram_quantile(0.99, sum by (le) (rate(auto_model_request_duration_
               seconds_bucket{NEW}[W])))``; fails above ``max_p99_latency_ms`` (only when set)
============== =================================================================================

The two judged queries end in ``and on() (<requests> >= min_requests)``: a window with fewer
answers returns nothing, which passes (``len(result) > 0 && …``), as the local watch gives
no verdict from too little traffic. ``failureLimit: 0``: one breach fails the analysis, Argo
Rollouts aborts the update (the stable pods keep all traffic, the new ones are scaled down)
and the deployer records the deployment ``rolled_back``. A Prometheus that does not answer
four times in a row (``consecutiveErrorLimit``) fails it too: no verdict is not a pass there.
"""

from __future__ import annotations

from typing import Any

from qwak_auto.automation.model import Automation
from qwak_auto.automation.rollout import Rollout
from qwak_auto.deploy.manifests_common import (
    DEFAULT_PROMETHEUS,
    LABEL_PREFIX,
    Target,
    labels,
    object_name,
    selector_labels,
)

HASH_ARG = "canary-hash"
REQUESTS = "auto_model_requests_total"
LATENCY = "auto_model_request_duration_seconds_bucket"


def interval_seconds(rollout: Rollout) -> int:
    return max(15, min(60, rollout.step_seconds or 60))


def window_seconds(rollout: Rollout) -> int:
    return max(60, 2 * interval_seconds(rollout))


def steps(rollout: Rollout) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for percent in rollout.canary_steps:
        out.append({"setWeight": percent})
        if rollout.step_seconds > 0:
            out.append({"pause": {"duration": f"{rollout.step_seconds}s"}})
    if rollout.bake_seconds > 0:
        out += [{"setWeight": 100}, {"pause": {"duration": f"{rollout.bake_seconds}s"}}]
    return out


def watched_seconds(rollout: Rollout) -> int:
    """How long the steps take once the new pods are ready (the deployer waits this long
    beyond ``deployment_process_timeout_limit``)."""
    return len(rollout.canary_steps) * rollout.step_seconds + rollout.bake_seconds


def _new_pods(automation: Automation, target: Target) -> str:
    # Go-template argument of the AnalysisRun, not a Python format field.
    pod = object_name(automation) + "-{{args." + HASH_ARG + "}}-.*"
    return f'namespace="{target.namespace}",pod=~"{pod}"'


def queries(automation: Automation, target: Target, rollout: Rollout) -> dict[str, str]:
    """The PromQL of each metric (see the module docstring)."""
    new = _new_pods(automation, target)
    window = f"[{window_seconds(rollout)}s]"
    answers = f"sum(increase({REQUESTS}{{{new}}}{window}))"
    errors = f'sum(increase({REQUESTS}{{{new},code=~"5.."}}{window}))'
    enough = f"and on() ({answers} >= {rollout.min_requests})"
    out = {
        "requests": f"{answers} or vector(0)",
        "error-rate": f"((({errors}) or vector(0)) / {answers}) {enough}",
    }
    if rollout.max_p99_latency_ms is not None:
        out["p99-latency-ms"] = (
            "(1000 * histogram_quantile(0.99, sum by (le) "
            f"(rate({LATENCY}{{{new}}}{window})))) {enough}"
        )
    return out


def _limit(value: float) -> str:
    return f"{value:g}"


def render_analysis_template(automation: Automation, target: Target) -> dict[str, Any]:
    rollout = automation.action.deployment_spec.rollout or Rollout()
    address = target.prometheus_url or DEFAULT_PROMETHEUS
    failing = {
        "error-rate": f"len(result) > 0 && result[0] > {_limit(rollout.max_error_rate)}",
    }
    if rollout.max_p99_latency_ms is not None:
        failing["p99-latency-ms"] = (
            f"len(result) > 0 && result[0] > {_limit(rollout.max_p99_latency_ms)}"
        )
    metrics = []
    for name, query in queries(automation, target, rollout).items():
        metric: dict[str, Any] = {
            "name": name,
            "interval": f"{interval_seconds(rollout)}s",
            "provider": {"prometheus": {"address": address, "query": query}},
        }
        if name in failing:
            metric["failureCondition"] = failing[name]
            metric["failureLimit"] = 0
        metrics.append(metric)
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {
            "name": object_name(automation),
            "namespace": target.namespace,
            "labels": labels(automation, target),
        },
        "spec": {"args": [{"name": HASH_ARG}], "metrics": metrics},
    }


def render_rollout(
    automation: Automation, target: Target, template: dict[str, Any]
) -> dict[str, Any]:
    spec = automation.action.deployment_spec
    rollout = spec.rollout or Rollout()
    canary: dict[str, Any] = {"maxSurge": 1, "maxUnavailable": 0, "steps": steps(rollout)}
    if canary["steps"]:
        canary["analysis"] = {
            "templates": [{"templateName": object_name(automation)}],
            "args": [{"name": HASH_ARG, "valueFrom": {"podTemplateHashValue": "Latest"}}],
        }
    body: dict[str, Any] = {
        "selector": {"matchLabels": selector_labels(automation)},
        "revisionHistoryLimit": 5,
        # Pods that never become ready abort the update (the old ones keep serving).
        "progressDeadlineSeconds": spec.deployment_process_timeout_limit,
        "progressDeadlineAbort": True,
        "template": template,
        "strategy": {"canary": canary},
    }
    if spec.auto_scale_config is None:
        body["replicas"] = spec.number_of_pods  # else KEDA's HPA owns the count
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {
            "name": object_name(automation),
            "namespace": target.namespace,
            "labels": labels(automation, target),
            "annotations": {f"{LABEL_PREFIX}/spec-hash": automation.spec_hash or "none"},
        },
        "spec": body,
    }
