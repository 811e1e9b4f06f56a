"""The home is private (issue 14, point 2): state.db, analytics.duckdb, the prediction logs
(request features), build logs and the proxy's state were 0644 in 0755 folders, and an
environment lock file 0666.

One real run as an operator starts it (``python -m qwak_auto run --once`` from a shell whose
umask is 022): git source, local builder with a cold environment, the gate, the local
deployer (Caddy and a daemonised gunicorn, whose daemonisation resets the umask to 022),
then a prediction (logged by the model server) and ``auto undeploy``. Then every folder and
file of the home is checked with ``stat``, and read as another user.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from qwak_auto.state import open_url
from tests.integration.reliability.conftest import NOW, REPO, git

MODEL = """\
from qwak_auto.runtime import Model, log_metric


class Echo(Model):
    def build(self):
        log_metric("f1_score", 0.9)

    def predict(self, df):
        return df.assign(score=0.5)
"""

AUTOMATION = """\
name: private_home
model_id: private
trigger:
  scheduled: {{cron: "* * * * *"}}
action:
  build_deploy:
    build_spec: {{git_uri: "{repo}"}}
    deployment_spec:
      number_of_http_server_workers: 1
      daemon_mode: true
      deployment_process_timeout_limit: 120
"""


@dataclass(frozen=True)
class Ran:
    home: Path
    files: tuple[Path, ...]  # every folder and file under the home (symlinks not followed)


def _auto(home: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AUTO_HOME": str(home), "NO_COLOR": "1", "PYTHONPATH": str(REPO)}
    env.pop("AUTO_STATE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "qwak_auto", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def _walk(home: Path) -> tuple[Path, ...]:
    found = []
    for folder, dirs, names in os.walk(home):
        found += [Path(folder) / name for name in [*dirs, *names]]
    return tuple(found)


@pytest.fixture(scope="module")
def ran() -> Iterator[Ran]:
    # A folder other users may traverse (0711, as a home directory often is), so that only
    # the auto home's own modes stand between them and its files.
    root = Path(tempfile.mkdtemp(prefix="auto-private-", dir="/tmp"))
    root.chmod(0o711)
    home = root / ".auto"
    repo = root / "repo"
    (repo / "main").mkdir(parents=True)
    (repo / "main" / "__init__.py").write_text("")
    (repo / "main" / "model.py").write_text(MODEL)
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "model")
    folder = root / "automations"
    folder.mkdir()
    (folder / "private.yaml").write_text(AUTOMATION.format(repo=repo))
    old = os.umask(0o022)  # the operator's shell
    try:
        run = _auto(home, "run", "--once", str(folder), "--now", NOW, cwd=root)
        assert run.returncode == 0, run.stdout + run.stderr
        store = open_url(f"sqlite:///{home / 'state.db'}")
        try:
            address = store.deployments(limit=1)[0].address
        finally:
            store.close()
        request = urllib.request.Request(
            f"{address}/v1/private/predict",
            data=json.dumps([{"tenure": 3, "plan": "pro"}]).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
        undeploy = _auto(home, "undeploy", "private", cwd=root)
        assert undeploy.returncode == 0, undeploy.stdout + undeploy.stderr
        (root / "control.txt").write_text("readable by anyone\n")  # 0644: the method works
        yield Ran(home, _walk(home))
    finally:
        os.umask(old)
        from qwak_auto.deploy import traffic

        traffic.stop(home)
        _auto(home, "undeploy", "private", cwd=root)
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_every_folder_is_0700_and_every_file_0600(ran: Ran) -> None:
    assert stat.S_IMODE(ran.home.stat().st_mode) == 0o700
    names = {p.relative_to(ran.home).as_posix() for p in ran.files}
    # What issue 14 found open to everyone is there, and checked below.
    assert {"state.db", "analytics.duckdb", "logs/builds", "predictions/private"} <= names
    assert any(n.startswith("predictions/private/") for n in names)  # the request's features
    assert any(n.startswith("cache/envs/") and n.endswith(".lock") for n in names)
    assert any(n.startswith("proxy") or n.startswith("traffic") for n in names)
    wide = []
    for path in ran.files:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode) or _installed_package_file(ran.home, path, info):
            continue
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            wide.append(f"{path.relative_to(ran.home)} {mode:04o}")
    assert wide == []


def _installed_package_file(home: Path, path: Path, info: os.stat_result) -> bool:
    """A package file that uv linked into a build environment from its cache: it keeps the
    cache's mode (changing it would change the cache); public code, behind the 0700 home."""
    in_env = path.is_relative_to(home / "cache" / "envs")
    return in_env and stat.S_ISREG(info.st_mode) and info.st_nlink > 1


READ_ALL = """
import os, sys
opened = []
for line in sys.stdin.read().splitlines():
    try:
        if os.path.isdir(line):
            os.listdir(line)
        else:
            with open(line, "rb") as handle:
                handle.read(1)
        opened.append(line)
    except OSError:
        pass
print("\\n".join(opened))
"""


@pytest.mark.slow
def test_another_user_can_read_nothing_in_the_home(ran: Ran) -> None:
    if os.geteuid() != 0:
        pytest.skip("becoming another user (setpriv) needs root")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv is not installed (util-linux)")
    control = ran.home.parent / "control.txt"
    paths = [str(control), str(ran.home), *(str(p) for p in ran.files)]
    done = subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
         os.path.realpath(sys.executable), "-I", "-c", READ_ALL],
        input="\n".join(paths), capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    opened = done.stdout.split()
    assert opened == [str(control)]  # the control file is read; nothing of the home is


def test_a_new_home_is_0700_whatever_the_callers_umask(tmp_path: Path) -> None:
    home = tmp_path / "fresh" / ".auto"
    old = os.umask(0o000)
    try:
        done = _auto(home, "history", cwd=tmp_path)
    finally:
        os.umask(old)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert "warning" not in done.stderr
    wide = [p for p in _walk(home) if not p.is_symlink() and p.lstat().st_mode & 0o077]
    assert wide == []  # the state store it made on the way: 0600


def test_a_home_open_to_others_gets_a_warning_with_the_fix(tmp_path: Path) -> None:
    home = tmp_path / "old home" / ".auto"
    home.mkdir(parents=True)
    home.chmod(0o755)  # made by an older auto, or by hand
    done = _auto(home, "history", cwd=tmp_path)
    assert done.returncode == 0, done.stderr  # a warning, not a failure
    assert f"warning: the auto home {home} is open to other users (mode 0755)" in done.stderr
    assert f"chmod -R go-rwx '{home}'" in done.stderr
    assert stat.S_IMODE(home.stat().st_mode) == 0o755  # left as it is: the user decides
