from __future__ import annotations

from qwak_auto.deploy.backends import server_env
from qwak_auto.deploy.settings import ServeSettings


def test_a_model_server_gets_no_secret_of_the_runner() -> None:
    runner = {
        "PATH": "/usr/bin",
        "HOME": "/home/me",
        "AUTO_SECRET_GH_TOKEN": "ghp_canary",
        "VAULT_TOKEN": "hvs.canary",
        "VAULT_ROLE_ID": "role",
        "VAULT_SECRET_ID": "canary-secret-id",
        "VAULT_ADDR": "https://vault.example.com",
    }
    env = server_env(runner, ServeSettings(env_vars={"MODEL_MODE": "fast"}))
    assert env["PATH"] == "/usr/bin"
    assert env["MODEL_MODE"] == "fast"
    assert "canary" not in " ".join(env.values())
    assert not {"AUTO_SECRET_GH_TOKEN", "VAULT_TOKEN", "VAULT_SECRET_ID"} & set(env)
