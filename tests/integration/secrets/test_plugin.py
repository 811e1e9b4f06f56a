"""A separate distribution adds a secret backend through the entry-point group."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.integration.secrets.conftest import venv_env


def _auto(venv: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "auto"), *args],
        env=env,
        cwd=env["AUTO_HOME"].removesuffix("/.auto"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_secret_resolved_through_plugin(plugin_venv: Path, tmp_path: Path) -> None:
    store = tmp_path / "store.json"
    store.write_text(json.dumps({"gh_token": "ghp_from_the_plugin"}))
    env = venv_env(plugin_venv, tmp_path, PLUGIN_STORE=str(store), AUTO_SECRETS="env,jsonfile")
    result = _auto(plugin_venv, env, "secrets", "check", "gh_token")
    assert result.returncode == 0, result.stderr
    assert "gh_token: resolved by backend `jsonfile`" in result.stdout
    assert "ghp_from_the_plugin" not in result.stdout + result.stderr

    missing = _auto(plugin_venv, env, "secrets", "check", "absent_name", "--format", "json")
    assert missing.returncode == 1
    assert json.loads(missing.stdout)["tried"] == ["env", "jsonfile"]


def test_list_backends_shows_plugin_and_broken_one(plugin_venv: Path, tmp_path: Path) -> None:
    env = venv_env(plugin_venv, tmp_path, AUTO_SECRETS="env,jsonfile")
    result = _auto(plugin_venv, env, "secrets", "list-backends", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    by_name = {b["name"]: b for b in report["backends"]}
    assert list(by_name)[:4] == ["env", "file", "kubernetes", "vault"]
    assert by_name["jsonfile"]["origin"] == "plugin auto-test-plugin 0.1.0"
    assert by_name["jsonfile"]["position"] == 2
    [failure] = report["failures"]
    assert failure["name"] == "broken"
    assert failure["distribution"] == "auto-test-plugin 0.1.0"
    assert "ModuleNotFoundError" in failure["error"]

    text = _auto(plugin_venv, env, "secrets", "list-backends")
    assert text.returncode == 0
    assert "plugin 'broken' from auto-test-plugin 0.1.0 failed to load" in text.stderr


def test_chain_naming_the_broken_plugin_is_a_clear_error(plugin_venv: Path, tmp_path: Path) -> None:
    env = venv_env(plugin_venv, tmp_path, AUTO_SECRETS="broken")
    result = _auto(plugin_venv, env, "secrets", "check", "anything")
    assert result.returncode == 2
    assert "secret backend 'broken' (from auto-test-plugin 0.1.0) failed to load" in result.stderr
    assert "Traceback" not in result.stderr
