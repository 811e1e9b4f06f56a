"""``api_keys_secret`` on Kubernetes: the served model's API keys as a Kubernetes Secret.

At each deploy the secret NAME is resolved by the project's secret backends (as for the local
deployer), checked (one key a line, each long enough) and applied as the Secret
``<model>-<variation>-api-keys`` with ``kubectl apply -f -``: the keys travel on kubectl's
stdin only, never on argv, in the rendered manifests, the state store or a log. The pods mount
it read-only with mode 0400 and the server reads it once at start (``--api-keys-file``); the
pod template carries a digest of the keys (``auto.qwak.ai/api-keys-version``), so new keys
restart the pods through the rollout like any other change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from qwak_auto.automation.model import Automation
from qwak_auto.deploy.api_keys import resolve_keys
from qwak_auto.deploy.manifests_common import api_keys_secret_name, selector_labels
from qwak_auto.platform.kubernetes import kubectl
from qwak_auto.run.contracts import SecretResolver

APPLY_TIMEOUT = 60.0


def keys_version(keys: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]


def apply_api_keys(
    base: Sequence[str], automation: Automation, namespace: str, secrets: SecretResolver
) -> str:
    """Make or update the keys' Secret; returns the keys' version ('' without keys)."""
    name = automation.action.deployment_spec.api_keys_secret
    if not name:
        return ""
    keys = resolve_keys(name, secrets)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": api_keys_secret_name(automation),
            "namespace": namespace,
            "labels": {**selector_labels(automation), "app.kubernetes.io/managed-by": "auto"},
        },
        "stringData": {"api_keys": "\n".join(keys) + "\n"},
    }
    kubectl(base, "apply", "-f", "-", input=json.dumps(secret), timeout=APPLY_TIMEOUT)
    return keys_version(keys)
