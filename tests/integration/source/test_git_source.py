"""GitSource against real repositories: file:// and a token-protected smart-HTTP server."""

from __future__ import annotations

import base64
import logging
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from qwak_auto.automation.model import Automation, BuildDeploy, BuildSpec, NoneTrigger
from qwak_auto.config import Config
from qwak_auto.errors import BackendError, SourceError
from qwak_auto.redact import register
from qwak_auto.run.contracts import RunContext
from qwak_auto.source import GitSource, url_key
from tests.integration.source.conftest import GitServer


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout.strip()


def commit(repo: Path, files: dict[str, str], message: str = "change") -> str:
    if not (repo / ".git").exists() and not (repo / "HEAD").exists():
        repo.mkdir(parents=True, exist_ok=True)
        git(repo, "init", "--quiet", "--initial-branch=main")
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def context(home: Path, spec: BuildSpec, secrets: dict[str, str] | None = None) -> RunContext:
    values = dict(secrets or {})

    def resolve(name: str) -> str:
        if name not in values:
            raise BackendError(f"secret {name!r} was not found")
        register(values[name])
        return values[name]

    return RunContext(
        run_id="r1",
        automation=Automation(
            name="a", model_id="m", trigger=NoneTrigger(), action=BuildDeploy(build_spec=spec)
        ),
        config=Config(home=home, state_url="", analytics_url=""),
        store=None,  # type: ignore[arg-type]  # the source does not record anything
        secrets=resolve,
        trigger_reason="test",
        started_at=datetime.now(UTC),
        log_dir=home / "runs" / "r1",
    )


FILES = {"models/churn/main/__init__.py": "", "models/churn/main/model.py": "X = 1\n"}


def test_clone_then_fetch_checks_out_the_exact_commit(tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "upstream"
    first = commit(repo, FILES)
    spec = BuildSpec(git_uri=f"file://{repo}#models/churn", git_branch="main")
    got = GitSource().fetch(spec, context(home, spec))
    assert got.commit == first
    assert got.project_dir == got.root.resolve() / "models" / "churn"
    assert got.main_dir == got.project_dir / "main"
    assert (got.main_dir / "model.py").read_text() == "X = 1\n"
    cache = home / "cache" / "repos" / url_key(spec.repo_url)
    assert (cache / "HEAD").is_file()

    second = commit(repo, {"models/churn/main/model.py": "X = 2\n"})
    again = GitSource().fetch(spec, context(home, spec))
    assert again.commit == second != first
    assert (again.main_dir / "model.py").read_text() == "X = 2\n"
    assert (got.main_dir / "model.py").read_text() == "X = 1\n"  # each commit has its own tree
    assert not (again.root / ".git").exists()  # plain files: nothing of git's in the copy
    assert git(cache, "rev-parse", "HEAD") != second  # the cache's HEAD never moves
    same = GitSource().fetch(spec, context(home, spec))
    assert same.root == again.root  # an unchanged branch reuses its checkout


def test_branch_tag_and_missing_branch(tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "upstream"
    first = commit(repo, FILES)
    git(repo, "tag", "v1")
    git(repo, "checkout", "--quiet", "-b", "feature")
    feature = commit(repo, {"models/churn/main/model.py": "X = 3\n"})
    for branch, expected in (("feature", feature), ("v1", first), (first[:12], first)):
        spec = BuildSpec(git_uri=f"file://{repo}", git_branch=branch)
        assert GitSource().fetch(spec, context(home, spec)).commit == expected
    spec = BuildSpec(git_uri=f"file://{repo}", git_branch="nope")
    with pytest.raises(SourceError, match="git_branch 'nope' not found"):
        GitSource().fetch(spec, context(home, spec))


def test_sub_path_escaping_through_a_symlink_is_refused(tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "upstream"
    repo.mkdir()
    (repo / "escape").symlink_to("/etc", target_is_directory=True)
    commit(repo, FILES)
    for uri, main_dir in (
        (f"file://{repo}#escape", "main"),
        (f"file://{repo}#models/churn", "../../../.."),
    ):
        spec = BuildSpec(git_uri=uri, main_dir=main_dir)
        with pytest.raises(SourceError, match="outside the repository"):
            GitSource().fetch(spec, context(home, spec))
    spec = BuildSpec(git_uri=f"file://{repo}#no/such/dir")
    with pytest.raises(SourceError, match="does not exist"):
        GitSource().fetch(spec, context(home, spec))


def test_unreachable_repository_is_a_one_line_error(tmp_path: Path, home: Path) -> None:
    spec = BuildSpec(git_uri=f"file://{tmp_path}/missing")
    with pytest.raises(SourceError, match="git fetch failed") as info:
        GitSource().fetch(spec, context(home, spec))
    assert "\n" not in info.value.message


def _files_containing(root: Path, needles: list[bytes]) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(n in data for n in needles):
                hits.append(str(path))
    return hits


def test_private_repository_token_travels_only_as_a_header(
    tmp_path: Path,
    home: Path,
    git_server: GitServer,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    work = tmp_path / "work"
    first = commit(work, FILES)
    bare = git_server.root / "models.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(work), str(bare))
    spec = BuildSpec(
        git_uri=git_server.repo_url("models.git#models/churn"), git_access_token_secret="git-token"
    )
    secrets = {"git-token": git_server.token}

    # Without the token the server refuses, and git does not hang on a prompt.
    with pytest.raises(SourceError, match="git fetch failed"):
        GitSource(timeout=60).fetch(
            BuildSpec(git_uri=git_server.repo_url("models.git")), context(home, spec)
        )

    got = GitSource(timeout=60).fetch(spec, context(home, spec, secrets))
    assert got.commit == first
    second = commit(work, {"models/churn/main/model.py": "X = 5\n"})
    git(work, "push", "--quiet", str(bare), "main")
    again = GitSource(timeout=60).fetch(spec, context(home, spec, secrets))
    assert again.commit == second

    token = git_server.token.encode()
    encoded = base64.b64encode(b"x-access-token:" + token)
    assert _files_containing(home, [token, encoded]) == []
    cache = home / "cache" / "repos" / url_key(spec.repo_url)
    assert b"extraheader" not in (cache / "config").read_bytes().lower()
    out, err = capfd.readouterr()
    assert git_server.token not in out + err + caplog.text
    assert all(git_server.token not in path for _, path, _ in git_server.seen)
    assert any(h.get("Authorization", "").startswith("Basic ") for _, _, h in git_server.seen)


def test_wrong_token_fails_without_leaking_it(
    tmp_path: Path, home: Path, git_server: GitServer
) -> None:
    work = tmp_path / "work"
    commit(work, FILES)
    git(tmp_path, "clone", "--quiet", "--bare", str(work), str(git_server.root / "models.git"))
    spec = BuildSpec(git_uri=git_server.repo_url("models.git"), git_access_token_secret="git-token")
    with pytest.raises(SourceError) as info:
        GitSource(timeout=60).fetch(spec, context(home, spec, {"git-token": "wrong-token-123"}))
    assert "wrong-token-123" not in info.value.message + info.value.hint
    # Issue 14: it said "could not read Username ... terminal prompts disabled".
    server = git_server.url.removeprefix("http://")
    assert info.value.message == f"the token in secret git-token was refused by {server}"
    assert _files_containing(home, [b"wrong-token-123"]) == []
