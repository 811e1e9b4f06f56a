"""The vault backend against a KV v2 test server on 127.0.0.1 (pytest-httpserver speaking
the parts of Vault's HTTP API the backend uses: AppRole login and KV v2 reads)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from qwak_auto import redact
from qwak_auto.config import Config, load_config
from qwak_auto.errors import BackendError
from qwak_auto.secrets.registry import resolve
from qwak_auto.secrets.vault import VaultBackend

TOKEN = "hvs.static-token-123"
APPROLE_TOKEN = "hvs.approle-token-456"


def kv(data: dict[str, str]) -> dict[str, object]:
    return {"data": {"data": data, "metadata": {"version": 3}}}


@pytest.fixture
def vault(httpserver: HTTPServer) -> HTTPServer:
    for token in (TOKEN, APPROLE_TOKEN):
        httpserver.expect_request(
            "/v1/secret/data/auto/gh_token", method="GET", headers={"X-Vault-Token": token}
        ).respond_with_json(kv({"value": "ghp_from_vault"}))
        httpserver.expect_request(
            "/v1/kv/data/ml/shared", method="GET", headers={"X-Vault-Token": token}
        ).respond_with_json(kv({"slack_hook": "https://hooks.example/T/B/c", "n": "1234"}))
        httpserver.expect_request(
            "/v1/secret/data/auto/missing", method="GET", headers={"X-Vault-Token": token}
        ).respond_with_json({"errors": []}, status=404)
        httpserver.expect_request(
            "/v1/secret/data/auto/locked", method="GET", headers={"X-Vault-Token": token}
        ).respond_with_json({"errors": ["1 error occurred:\n\t* permission denied\n\n"]}, 403)

    def login(request: Request) -> Response:
        body = json.loads(request.get_data())
        if body == {"role_id": "role-1", "secret_id": "secret-id-xyz"}:
            return Response(json.dumps({"auth": {"client_token": APPROLE_TOKEN}}), 200)
        return Response(json.dumps({"errors": ["invalid role or secret ID"]}), 400)

    httpserver.expect_request("/v1/auth/approle/login", method="POST").respond_with_handler(login)
    return httpserver


def _config(tmp_path: Path, **vault_settings: str) -> Config:
    config = load_config(env={"AUTO_HOME": str(tmp_path / ".auto"), "AUTO_SECRETS": "vault"})
    from dataclasses import replace

    return replace(config, vault=vault_settings)


def test_token_read(vault: HTTPServer, tmp_path: Path) -> None:
    environ = {"VAULT_ADDR": vault.url_for("/").rstrip("/"), "VAULT_TOKEN": TOKEN}
    assert resolve("gh_token", _config(tmp_path), environ) == ("ghp_from_vault", "vault")
    assert redact.redact(f"token {TOKEN}") == f"token {redact.MASK}"


def test_approle_login_then_read(vault: HTTPServer, tmp_path: Path) -> None:
    environ = {
        "VAULT_ADDR": vault.url_for("/").rstrip("/"),
        "VAULT_ROLE_ID": "role-1",
        "VAULT_SECRET_ID": "secret-id-xyz",
    }
    assert resolve("gh_token", _config(tmp_path), environ) == ("ghp_from_vault", "vault")
    assert redact.redact(APPROLE_TOKEN) == redact.MASK
    assert redact.redact("secret-id-xyz") == redact.MASK


def test_bad_approle_credentials(vault: HTTPServer, tmp_path: Path) -> None:
    backend = VaultBackend(
        _config(tmp_path),
        {"VAULT_ADDR": vault.url_for("/"), "VAULT_ROLE_ID": "role-1", "VAULT_SECRET_ID": "nope1"},
    )
    with pytest.raises(BackendError, match=r"AppRole login failed \(HTTP 400\)"):
        backend.get("gh_token")


def test_config_mapping_one_secret_many_keys(vault: HTTPServer, tmp_path: Path) -> None:
    config = _config(tmp_path, address=vault.url_for("/"), mount="kv", path="ml/shared")
    assert resolve("slack_hook", config, {"VAULT_TOKEN": TOKEN}) == (
        "https://hooks.example/T/B/c",
        "vault",
    )
    assert resolve("absent", config, {"VAULT_TOKEN": TOKEN}) == (None, None)


def test_missing_is_none_and_forbidden_is_an_error(vault: HTTPServer, tmp_path: Path) -> None:
    backend = VaultBackend(
        _config(tmp_path), {"VAULT_ADDR": vault.url_for("/"), "VAULT_TOKEN": TOKEN}
    )
    assert backend.get("missing") is None
    with pytest.raises(BackendError) as info:
        backend.get("locked")
    assert "HTTP 403" in info.value.message
    assert "permission denied" in info.value.message
    assert TOKEN not in info.value.message


def test_unreachable_and_hanging_vault(httpserver: HTTPServer, tmp_path: Path) -> None:
    backend = VaultBackend(
        _config(tmp_path), {"VAULT_ADDR": "http://127.0.0.1:9", "VAULT_TOKEN": TOKEN}
    )
    with pytest.raises(BackendError, match="cannot reach"):
        backend.get("gh_token")

    release = threading.Event()

    def hang(request: Request) -> Response:
        release.wait(10)
        return Response("{}")

    httpserver.expect_request("/v1/secret/data/auto/slow").respond_with_handler(hang)
    config = _config(tmp_path, address=httpserver.url_for("/"), timeout="0.5")
    try:
        with pytest.raises(BackendError, match=r"no answer from .* within 0\.5s"):
            VaultBackend(config, {"VAULT_TOKEN": TOKEN}).get("slow")
    finally:
        release.set()


def test_path_and_key_reference_through_the_chain(vault: HTTPServer, tmp_path: Path) -> None:
    config = _config(tmp_path, address=vault.url_for("/"), mount="kv")
    environ = {"VAULT_TOKEN": TOKEN}
    assert resolve("ml/shared#n", config, environ) == ("1234", "vault")
