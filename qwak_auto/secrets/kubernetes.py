"""The ``kubernetes`` backend: a key of a Kubernetes Secret, read through kubectl.

Name mapping (a Secret's name allows lower-case letters, digits, ``-`` and ``.``):
- ``secret-name/key`` (``auto secrets check``, plugins): Secret ``secret-name``, key ``key``;
- ``NAME`` (as written in automation files): Secret ``NAME`` lower-cased with ``_`` turned
  into ``-``, key ``value``. So ``gh_token`` is ``kubectl create secret generic gh-token
  --from-literal=value=...``.

The Secret is read with ``kubectl get secret NAME -o json`` (namespace and context from the
default environment in ``auto.yaml``; ``AUTO_SECRETS_KUBE_NAMESPACE`` and
``AUTO_SECRETS_KUBE_CONTEXT`` override them) and the key's value is base64-decoded. A missing
Secret or key is "not here" (the chain goes on); any other kubectl failure is an error.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from qwak_auto import proc
from qwak_auto.errors import BackendError, ProcError
from qwak_auto.secrets.base import check_name

if TYPE_CHECKING:
    from qwak_auto.config import Config

TIMEOUT = 20.0
DEFAULT_KEY = "value"


def secret_and_key(name: str) -> tuple[str, str]:
    """``gh_token`` → ``("gh-token", "value")``; ``creds/token`` → ``("creds", "token")``."""
    if "/" in name:
        secret, _, key = name.partition("/")
        if not secret or not key or "/" in key:
            raise BackendError(
                f"{name!r} is not a Kubernetes secret reference", "use secret-name/key"
            )
        return secret, key
    return name.lower().replace("_", "-"), DEFAULT_KEY


class KubernetesBackend:
    name = "kubernetes"
    description = "Kubernetes Secrets via kubectl: NAME → Secret name (_ → -), key `value`"

    def __init__(self, config: Config, environ: Mapping[str, str] | None = None) -> None:
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        env = config.environment(None)
        self.namespace = self.environ.get("AUTO_SECRETS_KUBE_NAMESPACE") or env.namespace
        self.context = self.environ.get("AUTO_SECRETS_KUBE_CONTEXT") or env.kube_context

    def argv(self, secret: str) -> list[str]:
        argv = ["kubectl", "get", "secret", secret, "-o", "json", "--namespace", self.namespace]
        if self.context:
            argv += ["--context", self.context]
        return argv

    def get(self, name: str) -> str | None:
        check_name(name, allow_slash=True)
        secret, key = secret_and_key(name)
        try:
            result = proc.run(self.argv(secret), timeout=TIMEOUT, env=self.environ, check=False)
        except ProcError as exc:
            raise BackendError(f"kubectl: {exc.message}", exc.hint) from None
        if result.returncode != 0:
            if "NotFound" in result.stderr or "not found" in result.stderr:
                return None
            tail = result.stderr.strip().splitlines()[-1:] or [f"exit {result.returncode}"]
            raise BackendError(
                f"kubectl could not read Secret {secret!r} in namespace "
                f"{self.namespace!r}: {tail[0]}",
                "check the kube context and that this user may `get secrets` there",
            )
        try:
            data = json.loads(result.stdout).get("data") or {}
        except (ValueError, AttributeError):
            raise BackendError(f"kubectl returned unreadable JSON for Secret {secret!r}") from None
        encoded = data.get(key)
        if encoded is None:
            return None
        try:
            return base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise BackendError(
                f"Secret {secret!r} key {key!r} is not base64-encoded UTF-8 text"
            ) from None
