"""Each child gets only the secrets it needs (issue 14, point 5): the git process's
environment held every ``AUTO_SECRET_*`` value (the Slack URL, the signing key), readable by
its user through /proc.

One real run (``python -m qwak_auto run --once``) with canary values in ``AUTO_SECRET_*``:
git fetches a private repository over smart HTTP with a token (the server answers slowly, so
git lives long enough to be looked at), the local builder trains in its harness, the local
deployer starts the model server (with API keys) behind Caddy, and Slack and a signed
webhook are notified. While it runs, the environment of every process the runner starts is
read from ``/proc/<pid>/environ``. Expected: git holds its own token (Basic-encoded, as the
header its configuration carries) and nothing else; the harness, the model server and the
proxy hold no canary at all; no child has an ``AUTO_SECRET_`` variable.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import missing_service
from tests.integration.reliability.conftest import NOW, REPO, git
from tests.services import githttp

MODEL = """\
import time

from qwak_auto.runtime import Model, log_metric


class Echo(Model):
    def build(self):
        time.sleep(2)  # the harness lives long enough to be looked at
        log_metric("f1_score", 0.9)

    def predict(self, df):
        return df.assign(score=0.5)
"""

AUTOMATION = """\
name: scoped_secrets
model_id: scoped
trigger:
  scheduled: {{cron: "* * * * *"}}
action:
  build_deploy:
    build_spec:
      git_uri: {git_uri}
      git_access_token_secret: git_token
    deployment_spec:
      number_of_http_server_workers: 1
      api_keys_secret: api_keys
on_success:
  slack: {{webhook_secret: slack_hook}}
  webhook: {{url: "{hook}", signing_secret: signing}}
"""


@dataclass
class Canaries:
    token: str = field(default_factory=lambda: f"cnrytok{uuid.uuid4().hex}")
    slack: str = field(default_factory=lambda: f"cnryslack{uuid.uuid4().hex}")
    signing: str = field(default_factory=lambda: f"cnrysign{uuid.uuid4().hex}")
    api_key: str = field(default_factory=lambda: f"cnrykey{uuid.uuid4().hex}")
    unused: str = field(default_factory=lambda: f"cnryunused{uuid.uuid4().hex}")
    vault: str = field(default_factory=lambda: f"cnryvault{uuid.uuid4().hex}")

    @property
    def basic(self) -> str:
        return base64.b64encode(f"x-access-token:{self.token}".encode()).decode()

    def all(self) -> dict[str, str]:
        signing_key = base64.b64encode(self.signing.encode()).decode()
        return {
            "git token": self.token,
            "git token (Basic header)": self.basic,
            "slack webhook URL": self.slack,
            "signing secret": signing_key,
            "API key": self.api_key,
            "unused secret": self.unused,
            "Vault token": self.vault,
        }


@dataclass(frozen=True)
class Seen:
    pid: int
    argv: tuple[str, ...]
    environ: dict[str, str]

    @property
    def kind(self) -> str:
        argv = self.argv
        if argv and Path(argv[0]).name == "setpriv" and "--" in argv:
            # proc's wrapper (`setpriv --pdeathsig KILL -- PROGRAM ...`), caught before it
            # execs PROGRAM: its environment is the one PROGRAM is given.
            argv = argv[argv.index("--") + 1 :]
        line = " ".join(argv)
        program = Path(argv[0]).name if argv else ""
        if program.startswith("git"):
            return "git"
        if "qwak_auto.builders.harness" in line:
            return "harness"
        if "qwak_auto.serve" in line or program == "gunicorn":
            return "model server"
        if program == "caddy":
            return "proxy"
        return program


def _read(pid: int) -> Seen | None:
    """The program's argv and environment, or None when it is gone or between fork and exec
    (a forked child still shows its parent's memory: the argv read before and after the
    environment must agree, and differ from the runner's)."""
    base = Path("/proc", str(pid))
    try:
        before = (base / "cmdline").read_bytes()
        raw = (base / "environ").read_bytes()
        after = (base / "cmdline").read_bytes()
    except OSError:
        return None
    if not before or before != after:
        return None
    pairs = (item.partition(b"=") for item in raw.split(b"\0") if item)
    environ = {k.decode(errors="replace"): v.decode(errors="replace") for k, _, v in pairs}
    argv = tuple(a.decode(errors="replace") for a in before.split(b"\0") if a)
    return Seen(pid, argv, environ)


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


class Watcher:
    """Every process below ``root`` (children, grandchildren ...), read while it lives."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.seen: dict[tuple[int, tuple[str, ...]], Seen] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        runner = _read(self.root)
        runner_argv = runner.argv if runner else ()
        while not self.stop.is_set():
            tree = _children()
            todo = list(tree.get(self.root, []))
            while todo:
                pid = todo.pop()
                todo += tree.get(pid, [])
                found = _read(pid)
                if found is not None and found.argv != runner_argv:
                    self.seen.setdefault((pid, found.argv), found)
            time.sleep(0.005)

    def finish(self) -> list[Seen]:
        self.stop.set()
        self.thread.join(timeout=10)
        return list(self.seen.values())


@pytest.fixture
def private_repo(tmp_path: Path) -> Path:
    """The git root the smart-HTTP server serves, holding model.git."""
    if githttp.backend() is None:
        missing_service("git-http", "git-http-backend is not installed (apt-get install -y git)")
    work = tmp_path / "model-work"
    (work / "main").mkdir(parents=True)
    (work / "main" / "__init__.py").write_text("")
    (work / "main" / "model.py").write_text(MODEL)
    git(work, "init", "--quiet", "--initial-branch=main")
    git(work, "add", "-A")
    git(work, "commit", "--quiet", "-m", "model")
    root = tmp_path / "gitroot"
    root.mkdir()
    git(tmp_path, "clone", "--quiet", "--bare", str(work), str(root / "model.git"))
    return root


@pytest.mark.slow
def test_children_hold_only_the_secrets_they_need(
    tmp_path: Path, private_repo: Path, httpserver: HTTPServer
) -> None:
    canary = Canaries()
    root = private_repo
    httpserver.expect_request(f"/slack/{canary.slack}").respond_with_data("ok")
    httpserver.expect_request("/hook").respond_with_data("ok")
    home = tmp_path / ".auto"
    folder = tmp_path / "automations"
    folder.mkdir()
    with githttp.serve(root, canary.token, delay=0.5) as server:
        (folder / "scoped.yaml").write_text(
            AUTOMATION.format(
                git_uri=server.repo_url("model.git"), hook=httpserver.url_for("/hook")
            )
        )
        env = {
            **os.environ,
            "AUTO_HOME": str(home),
            "NO_COLOR": "1",
            "PYTHONPATH": str(REPO),
            "AUTO_SECRET_GIT_TOKEN": canary.token,
            "AUTO_SECRET_SLACK_HOOK": httpserver.url_for(f"/slack/{canary.slack}"),
            "AUTO_SECRET_SIGNING": "whsec_" + base64.b64encode(canary.signing.encode()).decode(),
            "AUTO_SECRET_API_KEYS": canary.api_key,
            "AUTO_SECRET_UNUSED": canary.unused,
            "VAULT_TOKEN": canary.vault,  # another backend's login (not configured here)
        }
        env.pop("AUTO_STATE_URL", None)
        runner = subprocess.Popen(
            [sys.executable, "-m", "qwak_auto", "run", "--once", str(folder), "--now", NOW],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        watcher = Watcher(runner.pid)
        try:
            out, err = runner.communicate(timeout=600)
        finally:
            seen = watcher.finish()
            subprocess.run(
                [sys.executable, "-m", "qwak_auto", "undeploy", "scoped"],
                cwd=tmp_path, env=env, capture_output=True, timeout=120, check=False,
            )  # fmt: skip
            from qwak_auto.deploy import traffic

            traffic.stop(home)
    assert runner.returncode == 0, out + err
    assert server.accepted >= 1  # git used the token
    assert {s.kind for s in seen} >= {"git", "harness", "model server"}, [s.argv for s in seen]
    assert any(canary.slack in r.path for r, _ in httpserver.log)  # resolved inside auto

    leaks = []
    for process in seen:
        names = [k for k in process.environ if k.startswith("AUTO_SECRET_")]
        values = " ".join(process.environ.values())
        allowed = {"git token (Basic header)"} if process.kind == "git" else set()
        found = [n for n, v in canary.all().items() if v in values and n not in allowed]
        if names or found:
            leaks.append(f"{process.kind} {process.pid} {process.argv[:3]}: {names} {found}")
    assert leaks == []
    gits = [s for s in seen if s.kind == "git" and "fetch" in s.argv]
    assert gits, "git fetch was not seen"
    assert all(canary.basic in " ".join(g.environ.values()) for g in gits)  # its token
