"""The env and file backends, and the name mapping of kubernetes and vault (pure parts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwak_auto.config import Config, load_config
from qwak_auto.errors import BackendError
from qwak_auto.secrets.base import env_var_name
from qwak_auto.secrets.env import EnvBackend
from qwak_auto.secrets.file import FileBackend, parse_dotenv
from qwak_auto.secrets.kubernetes import KubernetesBackend, secret_and_key
from qwak_auto.secrets.vault import VaultBackend


def _config(tmp_path: Path, **env: str) -> Config:
    return load_config(env={"AUTO_HOME": str(tmp_path / ".auto"), **env}, cwd=tmp_path)


@pytest.mark.parametrize(
    ("name", "variable"),
    [
        ("gh_token", "AUTO_SECRET_GH_TOKEN"),
        ("slack-hook", "AUTO_SECRET_SLACK_HOOK"),
        ("team.prod-key", "AUTO_SECRET_TEAM_PROD_KEY"),
    ],
)
def test_env_var_name(name: str, variable: str) -> None:
    assert env_var_name(name) == variable
    assert EnvBackend(None, {variable: "s3cret-value"}).get(name) == "s3cret-value"


def test_file_backend_directory(tmp_path: Path) -> None:
    folder = tmp_path / ".auto" / "secrets"
    folder.mkdir(parents=True)
    (folder / "gh_token").write_text("ghp_from_file\n")
    (folder / "gh_token").chmod(0o600)
    backend = FileBackend(_config(tmp_path))
    assert backend.get("gh_token") == "ghp_from_file"
    assert backend.get("absent") is None


def test_file_backend_refuses_group_readable_file_with_chmod_hint(tmp_path: Path) -> None:
    folder = tmp_path / ".auto" / "secrets"
    folder.mkdir(parents=True)
    path = folder / "gh_token"
    path.write_text("ghp_from_file")
    path.chmod(0o640)
    with pytest.raises(BackendError) as info:
        FileBackend(_config(tmp_path)).get("gh_token")
    assert "group or others" in info.value.message
    assert info.value.hint == f"chmod 600 {path}"
    assert "ghp_from_file" not in info.value.message


def test_file_backend_dotenv_from_secrets_dir(tmp_path: Path) -> None:
    dotenv = tmp_path / "secrets.env"
    dotenv.write_text(
        "# team secrets\n"
        "export gh_token=ghp_plain  # a comment\n"
        "slack_hook='https://hooks.example/T/B/x#y'\n"
        'multi="line1\\nline2"\n'
        "\n"
    )
    dotenv.chmod(0o600)
    backend = FileBackend(_config(tmp_path, AUTO_SECRETS_DIR=str(dotenv)))
    assert backend.get("gh_token") == "ghp_plain"
    assert backend.get("slack_hook") == "https://hooks.example/T/B/x#y"
    assert backend.get("multi") == "line1\nline2"
    assert backend.get("other") is None


def test_dotenv_refused_when_world_readable(tmp_path: Path) -> None:
    dotenv = tmp_path / "secrets.env"
    dotenv.write_text("a=bcdefg\n")
    dotenv.chmod(0o644)
    with pytest.raises(BackendError) as info:
        FileBackend(_config(tmp_path, AUTO_SECRETS_DIR=str(dotenv))).get("a")
    assert info.value.hint == f"chmod 600 {dotenv}"


def test_dotenv_errors_name_the_line_not_the_content(tmp_path: Path) -> None:
    path = tmp_path / "x.env"
    with pytest.raises(BackendError) as info:
        parse_dotenv("ok=fine\nthis line has hunter2secret\n", path)
    assert f"{path}:2" in info.value.message
    assert "hunter2secret" not in info.value.message
    with pytest.raises(BackendError, match="unterminated quote"):
        parse_dotenv("a='hunter2secret\n", path)


def test_kubernetes_name_mapping() -> None:
    assert secret_and_key("gh_token") == ("gh-token", "value")
    assert secret_and_key("creds/api-key") == ("creds", "api-key")
    with pytest.raises(BackendError):
        secret_and_key("a/b/c")


def test_kubernetes_argv_uses_default_environment(tmp_path: Path) -> None:
    backend = KubernetesBackend(_config(tmp_path), {"AUTO_SECRETS_KUBE_NAMESPACE": "ml"})
    assert backend.argv("gh-token") == [
        "kubectl", "get", "secret", "gh-token", "-o", "json", "--namespace", "ml",
    ]  # fmt: skip


def test_vault_locate(tmp_path: Path) -> None:
    per_name = VaultBackend(_config(tmp_path), {})
    assert per_name.locate("gh_token") == ("auto/gh_token", "value")
    assert per_name.locate("team/app#token") == ("team/app", "token")
    one_secret = VaultBackend(_config(tmp_path), {"AUTO_VAULT_PATH": "ml/auto"})
    assert one_secret.locate("gh_token") == ("ml/auto", "gh_token")


def test_vault_without_address_or_credentials_is_explained(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="no credentials"):
        VaultBackend(_config(tmp_path), {"VAULT_ADDR": "http://127.0.0.1:1"}).get("x_y")
    with pytest.raises(BackendError, match="no address"):
        VaultBackend(_config(tmp_path), {"VAULT_TOKEN": "hvs.token"}).get("x_y")


def test_references_into_other_backends_are_not_env_or_file_names(tmp_path: Path) -> None:
    assert EnvBackend(None, {"AUTO_SECRET_CREDS_KEY": "zzzz"}).get("creds/key") is None
    assert FileBackend(_config(tmp_path)).get("creds/key") is None


def test_held_secrets_leave_the_environment_and_are_still_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`auto` takes AUTO_SECRET_* out of its environment at start-up, so that a program a
    library starts by itself (croniter runs `file`) inherits none; the env backend reads
    them by name still. Tested in a child interpreter: hold() changes its process for good."""
    import subprocess
    import sys

    code = (
        "import os, subprocess\n"
        "from qwak_auto.secrets import env, held\n"
        "held.hold()\n"
        "child = subprocess.run(['env'], capture_output=True, text=True).stdout\n"
        "print('AUTO_SECRET_' in child, 'VAULT_TOKEN' in child, env.EnvBackend().get('canary'))\n"
    )
    monkeypatch.setenv("AUTO_SECRET_CANARY", "c4n4ry")
    monkeypatch.setenv("VAULT_TOKEN", "hvs.c4n4ry")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "False", "c4n4ry"], done.stderr
