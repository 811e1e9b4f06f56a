"""The ``vault`` backend: HashiCorp Vault KV version 2 over HTTP (stdlib urllib only).

Settings, from ``vault:`` in ``auto.yaml`` then the environment:

=============  ======================  ==========================================
key            environment             meaning
=============  ======================  ==========================================
address        VAULT_ADDR              e.g. ``https://vault.example.com:8200``
mount          AUTO_VAULT_MOUNT        KV v2 mount, default ``secret``
prefix         AUTO_VAULT_PREFIX       path prefix, default ``auto/``
path           AUTO_VAULT_PATH         one secret holding every name as a key
key            AUTO_VAULT_KEY          the key read per secret, default ``value``
namespace      VAULT_NAMESPACE         Vault Enterprise namespace
approle_mount  AUTO_VAULT_APPROLE      AppRole auth mount, default ``approle``
timeout        AUTO_VAULT_TIMEOUT      seconds per request, default 10
(token)        VAULT_TOKEN             a token; never in auto.yaml
(AppRole)      VAULT_ROLE_ID,          used to log in when no token is given
               VAULT_SECRET_ID
=============  ======================  ==========================================

Name mapping: with ``path`` set, secret NAME is the key NAME of that one secret; else NAME is
the secret ``<prefix>NAME`` and its key ``key``. A name ``a/b#k`` (CLI, plugins) reads key
``k`` of secret ``a/b``. The token is registered with the redactor.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from qwak_auto import redact
from qwak_auto.errors import BackendError
from qwak_auto.secrets.base import check_name
from qwak_auto.secrets.held import with_held

if TYPE_CHECKING:
    from qwak_auto.config import Config


class VaultBackend:
    name = "vault"
    description = "HashiCorp Vault KV v2 (VAULT_ADDR; VAULT_TOKEN or AppRole)"

    def __init__(self, config: Config, environ: Mapping[str, str] | None = None) -> None:
        env = with_held(os.environ if environ is None else environ)
        settings = dict(config.vault)

        def pick(key: str, env_name: str, default: str = "") -> str:
            return str(settings.get(key) or env.get(env_name) or default)

        self.address = pick("address", "VAULT_ADDR").rstrip("/")
        self.mount = pick("mount", "AUTO_VAULT_MOUNT", "secret").strip("/")
        self.prefix = pick("prefix", "AUTO_VAULT_PREFIX", "auto/").lstrip("/")
        self.path = pick("path", "AUTO_VAULT_PATH").strip("/")
        self.key = pick("key", "AUTO_VAULT_KEY", "value")
        self.namespace = pick("namespace", "VAULT_NAMESPACE")
        self.approle_mount = pick("approle_mount", "AUTO_VAULT_APPROLE", "approle").strip("/")
        try:
            self.timeout = float(pick("timeout", "AUTO_VAULT_TIMEOUT", "10"))
        except ValueError:
            raise BackendError("vault.timeout: not a number of seconds") from None
        self._token = env.get("VAULT_TOKEN") or ""
        self._role_id = env.get("VAULT_ROLE_ID") or ""
        self._secret_id = env.get("VAULT_SECRET_ID") or ""
        if self._token:
            redact.register(self._token)
        if self._secret_id:
            redact.register(self._secret_id)

    # ------------------------------------------------------------------ HTTP

    def _request(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, token: str = ""
    ) -> tuple[int, dict[str, Any]]:
        if not self.address:
            raise BackendError(
                "vault: no address configured",
                "set vault.address in auto.yaml or export VAULT_ADDR",
            )
        headers = {"Accept": "application/json"}
        if token:
            headers["X-Vault-Token"] = token
        if self.namespace:
            headers["X-Vault-Namespace"] = self.namespace
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        url = f"{self.address}/v1/{path}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, _json(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, _json(exc.read())
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                raise BackendError(
                    f"vault: no answer from {self.address} within {self.timeout:g}s",
                    "check that Vault is up, or raise vault.timeout in auto.yaml",
                ) from None
            raise BackendError(
                f"vault: cannot reach {self.address}: {reason}",
                f"check VAULT_ADDR; requests time out after {self.timeout:g}s",
            ) from None

    def token(self) -> str:
        if self._token:
            return self._token
        if not (self._role_id and self._secret_id):
            raise BackendError(
                "vault: no credentials",
                "export VAULT_TOKEN, or VAULT_ROLE_ID and VAULT_SECRET_ID for AppRole",
            )
        status, body = self._request(
            "POST",
            f"auth/{self.approle_mount}/login",
            {"role_id": self._role_id, "secret_id": self._secret_id},
        )
        token = (body.get("auth") or {}).get("client_token") if status == 200 else None
        if not token:
            raise BackendError(
                f"vault: AppRole login failed (HTTP {status}){_errors(body)}",
                "check VAULT_ROLE_ID / VAULT_SECRET_ID and the AppRole mount (approle_mount)",
            )
        redact.register(str(token))
        self._token = str(token)
        return self._token

    # ------------------------------------------------------------------ lookup

    def locate(self, name: str) -> tuple[str, str]:
        """The KV path (below the mount) and key that hold secret ``name``."""
        if "#" in name:
            path, _, key = name.partition("#")
            return path.strip("/"), key
        if self.path:
            return self.path, name
        return f"{self.prefix}{name}", self.key

    def get(self, name: str) -> str | None:
        check_name(name, allow_slash=True)
        path, key = self.locate(name)
        quoted = urllib.parse.quote(path, safe="/")
        status, body = self._request("GET", f"{self.mount}/data/{quoted}", token=self.token())
        if status == 404:
            return None
        if status != 200:
            hint = "check the token's policy allows read on this path"
            if status in (401, 403):
                hint = "the token lacks `read` on this path or has expired"
            raise BackendError(
                f"vault: reading {self.mount}/data/{path} failed (HTTP {status}){_errors(body)}",
                hint,
            )
        data = (body.get("data") or {}).get("data") or {}
        value = data.get(key)
        return None if value is None else str(value)


def _json(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _errors(body: Mapping[str, Any]) -> str:
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        return ": " + redact.redact("; ".join(str(e) for e in errors))
    return ""
