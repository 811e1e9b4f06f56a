"""The git source's pure parts: URL rules, path containment, how credentials reach git."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from qwak_auto import source
from qwak_auto.errors import SourceError
from qwak_auto.platform import git_env
from qwak_auto.redact import redact


@pytest.mark.parametrize(
    ("url", "transport"),
    [
        ("https://github.com/acme/models.git", "https"),
        ("http://127.0.0.1:8000/repo.git", "http"),
        ("ssh://git@github.com/acme/models.git", "ssh"),
        ("git@github.com:acme/models.git", "ssh"),
        ("file:///srv/repos/models", "file"),
        ("/srv/repos/models", "file"),
        ("../repos/models", "file"),
    ],
)
def test_allowed_transports(url: str, transport: str) -> None:
    assert source.check_url(url) == transport


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ext::sh -c touch% /tmp/pwned", "remote helper"),
        ("fd::17", "remote helper"),
        ("git://example.com/repo.git", "not allowed"),
        ("ftp://example.com/repo.git", "not allowed"),
        ("--upload-pack=touch /tmp/x", "not a repository URL"),
        ("https://user:tok3n@github.com/acme/models.git", "credentials"),
        ("https://tok3n@github.com/acme/models.git", "credentials"),
    ],
)
def test_refused_urls(url: str, message: str) -> None:
    with pytest.raises(SourceError, match=message) as info:
        source.check_url(url)
    assert "tok3n" not in info.value.message


def test_relative_paths_resolve_against_the_automation_file(tmp_path: Path) -> None:
    origin = str(tmp_path / "automations" / "churn.yaml")
    assert source.resolve_url("../repos/churn", origin) == str(tmp_path / "repos" / "churn")
    assert source.resolve_url("https://x/y.git", origin) == "https://x/y.git"
    assert source.resolve_url("git@github.com:a/b.git", origin) == "git@github.com:a/b.git"
    assert source.resolve_url("/abs/repo", origin) == "/abs/repo"


@pytest.mark.parametrize("branch", ["main", "release/2026-03", "v1.2.3", "feature_x", "abc1234"])
def test_branch_names_allowed(branch: str) -> None:
    assert source.check_branch(branch) == branch


@pytest.mark.parametrize(
    "branch", ["-x", "a:refs/heads/b", "../../config", "a..b", "a b", "x.lock", "", "a@{1}"]
)
def test_branch_names_refused(branch: str) -> None:
    with pytest.raises(SourceError, match="not a valid branch"):
        source.check_branch(branch)


def test_url_key_is_stable() -> None:
    assert source.url_key("https://x/y.git") == source.url_key("https://x/y.git")
    assert len(source.url_key("https://x/y.git")) == 16


def test_contained_paths(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "models" / "churn" / "main").mkdir(parents=True)
    assert source.contained(root, "models/churn", "path") == (root / "models" / "churn").resolve()
    assert source.contained(root, ".", "path") == root.resolve()
    with pytest.raises(SourceError, match="outside"):
        source.contained(root, "../elsewhere", "git_uri path")
    with pytest.raises(SourceError, match="relative"):
        source.contained(root, "/etc", "main_dir")


def test_symlinks_cannot_escape(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (tmp_path / "secret").mkdir()
    (root / "main").symlink_to(tmp_path / "secret", target_is_directory=True)
    (root / "inner").symlink_to(root / "main", target_is_directory=True)
    with pytest.raises(SourceError, match="outside"):
        source.contained(root, "main", "main_dir")
    with pytest.raises(SourceError, match="outside"):
        source.contained(root, "inner", "main_dir")


def test_token_header_is_basic_auth_and_redacted() -> None:
    header = source.auth_header("ghp_t0ken-value")
    encoded = base64.b64encode(b"x-access-token:ghp_t0ken-value").decode()
    assert header == f"Authorization: Basic {encoded}"
    assert "ghp_t0ken-value" not in header
    assert redact(header) == "Authorization: Basic ***"
    assert source.auth_header("abc12345", "bearer") == "Authorization: Bearer abc12345"


def test_git_config_travels_in_the_environment() -> None:
    env = source.git_config_env([("http.extraHeader", "Authorization: Basic xyz")])
    pairs = {
        env[f"GIT_CONFIG_KEY_{i}"]: env[f"GIT_CONFIG_VALUE_{i}"]
        for i in range(int(env["GIT_CONFIG_COUNT"]))
    }
    assert pairs["protocol.allow"] == "never"
    assert pairs["protocol.ext.allow"] == "never"
    assert pairs["protocol.https.allow"] == "always"
    assert pairs["http.extraHeader"] == "Authorization: Basic xyz"
    assert source.base_env()["GIT_TERMINAL_PROMPT"] == "0"


def test_ssh_key_lives_in_a_private_file_only_while_git_runs(tmp_path: Path) -> None:
    from qwak_auto.automation.model import BuildSpec

    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAfakekeymaterial\n-----END OPENSSH PRIVATE KEY-----"
    spec = BuildSpec(git_uri="git@github.com:acme/models.git", git_ssh_key_secret="deploy-key")
    secrets = {"deploy-key": key}.__getitem__
    with git_env.auth_env(spec, secrets, tmp_path / "cache", {"PATH": "/bin"}) as env:
        command = env["GIT_SSH_COMMAND"]
        assert "-o IdentitiesOnly=yes" in command
        key_file = Path(command.split("-i ", 1)[1].split(" ", 1)[0])
        assert key_file.read_text(encoding="utf-8").strip() == key
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert not key_file.is_relative_to(tmp_path)
        assert key not in " ".join(env.values())
    assert not key_file.exists()
    assert not key_file.parent.exists()


def test_git_gets_its_token_and_nothing_else_of_the_runners_environment(tmp_path: Path) -> None:
    """Issue 14: git's /proc/PID/environ held every AUTO_SECRET_* value of the runner."""
    from qwak_auto.automation.model import BuildSpec

    runner = {
        "PATH": "/usr/bin",
        "HOME": "/home/me",
        "https_proxy": "http://proxy:3128",
        "AUTO_SECRET_GH_TOKEN": "ghp_canary_token_1",
        "AUTO_SECRET_SLACK_HOOK": "https://hooks.slack.com/services/canary",
        "AWS_SECRET_ACCESS_KEY": "canary-aws",
        "VAULT_TOKEN": "canary-vault",
    }
    spec = BuildSpec(git_uri="https://github.com/acme/m.git", git_access_token_secret="gh_token")
    secrets = {"gh_token": "ghp_canary_token_1"}.__getitem__
    with git_env.auth_env(spec, secrets, tmp_path, runner) as env:
        values = " ".join(env.values())
    assert env["PATH"] == "/usr/bin"
    assert env["HOME"] == "/home/me"
    assert env["https_proxy"] == "http://proxy:3128"
    assert not [k for k in env if k.startswith("AUTO_SECRET_")]
    for canary in ("canary-aws", "canary-vault", "hooks.slack.com", "ghp_canary_token_1"):
        assert canary not in values  # the token travels only Basic-encoded, in a header
    encoded = base64.b64encode(b"x-access-token:ghp_canary_token_1").decode()
    assert f"Authorization: Basic {encoded}" in env.values()


@pytest.mark.parametrize(
    "output",
    [
        "fatal: could not read Username for 'https://github.com': terminal prompts disabled",
        "remote: Invalid username or password.\nfatal: Authentication failed for 'https://x/'",
        "fatal: unable to access 'https://x/': The requested URL returned error: 403",
        "git@github.com: Permission denied (publickey).",
    ],
)
def test_refusals_are_recognised(output: str) -> None:
    assert git_env.auth_failed(output)


def test_a_refused_token_names_its_secret_and_the_host() -> None:
    from qwak_auto.automation.model import BuildSpec

    url = "https://git.example.com:8443/acme/m.git"
    spec = BuildSpec(git_uri=url, git_access_token_secret="gh_token")
    error = git_env.refused(spec, url, "git fetch failed: could not read Username")
    assert error.message == "the token in secret gh_token was refused by git.example.com:8443"
    ssh = BuildSpec(git_uri="git@github.com:acme/m.git", git_ssh_key_secret="deploy_key")
    error = git_env.refused(ssh, ssh.repo_url, "Permission denied (publickey)")
    assert error.message == "the ssh key in secret deploy_key was refused by github.com"
    anonymous = git_env.refused(BuildSpec(git_uri=url), url, "git fetch failed: could not read")
    assert (
        anonymous.message
        == f"git fetch failed: git.example.com:8443 asks for credentials to read {url}"
    )
    assert "git_access_token_secret" in anonymous.hint
    assert not git_env.auth_failed("fatal: couldn't find remote ref refs/heads/nope")
