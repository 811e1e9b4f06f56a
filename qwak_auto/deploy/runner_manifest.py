"""The Kubernetes CronJob that runs `auto run --once` (``auto render --runner``).

Several runners may share one PostgreSQL state store: slots are claimed exactly once, so the
CronJob may overlap with runners elsewhere. Its own runs do not overlap (Forbid): a run that is
still going when the next minute comes simply keeps its claim.
"""

from __future__ import annotations

from typing import Any

from qwak_auto import __version__

# What `make image` tags (the Dockerfile at the repository's root) when no IMAGE is given.
DEFAULT_IMAGE = f"auto/runner:{__version__}"


def render_runner(
    *,
    namespace: str = "default",
    schedule: str = "*/5 * * * *",
    image: str = DEFAULT_IMAGE,
    automations_configmap: str = "auto-automations",
    state_secret: str = "auto-state",
    service_account: str = "auto-runner",
) -> list[dict[str, Any]]:
    labels = {"app.kubernetes.io/name": "auto-runner", "app.kubernetes.io/managed-by": "auto"}
    container = {
        "name": "runner",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["run", "--once", "/automations"],
        "env": [
            {
                "name": "AUTO_STATE_URL",
                "valueFrom": {"secretKeyRef": {"name": state_secret, "key": "url"}},
            },
            {"name": "AUTO_HOME", "value": "/var/lib/auto"},
            {"name": "AUTO_LOG_FORMAT", "value": "json"},
        ],
        "volumeMounts": [
            {"name": "automations", "mountPath": "/automations", "readOnly": True},
            {"name": "home", "mountPath": "/var/lib/auto"},
        ],
        "resources": {
            "requests": {"cpu": "250m", "memory": "256Mi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        },
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": service_account, "namespace": namespace, "labels": labels},
        },
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "auto-runner", "namespace": namespace, "labels": labels},
            "spec": {
                "schedule": schedule,
                "concurrencyPolicy": "Forbid",
                "startingDeadlineSeconds": 300,
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 5,
                "jobTemplate": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "backoffLimit": 0,
                        "template": {
                            "metadata": {"labels": labels},
                            "spec": {
                                "serviceAccountName": service_account,
                                "restartPolicy": "Never",
                                "containers": [container],
                                "volumes": [
                                    {
                                        "name": "automations",
                                        "configMap": {"name": automations_configmap},
                                    },
                                    {"name": "home", "emptyDir": {}},
                                ],
                            },
                        },
                    },
                },
            },
        },
    ]
