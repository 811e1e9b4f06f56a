"""Canary test (issue 8): one full run with canary secret values, then search everything.

The run (``auto trigger``, as a user types it) fetches a private repository over smart HTTP
with a token, builds it, decides (the gate keeps the serving model: no server is left
running) and sends Slack and signed webhook notifications to a real HTTP server. Then the
canaries -- the git token (and the Basic header built from it), the Slack webhook URL and the
webhook signing secret -- are searched for in: every file under ``.auto/`` (state database,
analytics store, run and build logs, cached repositories and their git config, build
environments), everything the CLI printed, the argv of every program started (``proc.run`` /
``proc.start`` and every ``subprocess.Popen``), the output of ``auto history``/``auto status``,
and every notification body received. Expected hits: 0. The docker variant also searches the
built image's history and layers; it runs where a Docker engine can be started.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import re
import subprocess
import tarfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from qwak_auto import proc
from qwak_auto.cli import main
from tests.services import githttp

# The Docker engine and base image are session fixtures of tests/services/docker.py.
_DOCKER_FIXTURES = True

MODEL = '''\
"""A model with no dependencies that prints its whole environment while building: a secret
leaked into the build environment would land in the build log, where the search finds it."""

import os

from qwak_auto.runtime import Model, log_metric


class CanaryModel(Model):
    def build(self):
        for key, value in sorted(os.environ.items()):
            print(f"{key}={value}")
        log_metric("f1_score", 0.5)

    def predict(self, df):
        return df
'''

AUTOMATION = """\
name: canary_run
model_id: canary
trigger:
  none: {{}}
action:
  build_deploy:
    build_spec:
      git_uri: {git_uri}
      git_branch: main
      git_access_token_secret: canary_git_token
    deployment_condition:
      build_metric:
        metric_name: f1_score
        direction: ABOVE
        threshold: "0.99"
on_start:
  webhook: {{url: "{hook}", http_method: POST, data: {{phase: start}}, signing_secret: canary_signing}}
on_not_deployed:
  slack: {{webhook_secret: canary_slack}}
  webhook: {{url: "{hook}", http_method: GET, data: {{phase: end}}, signing_secret: canary_signing}}
on_success:
  slack: {{webhook_secret: canary_slack}}
on_error:
  slack: {{webhook_secret: canary_slack}}
  webhook: {{url: "{hook}", http_method: POST, signing_secret: canary_signing}}
"""


@dataclass
class Canaries:
    token: str = field(default_factory=lambda: f"cnrytok{uuid.uuid4().hex}")
    slack_part: str = field(default_factory=lambda: f"cnryslack{uuid.uuid4().hex}")
    signing_key: bytes = field(default_factory=lambda: b"cnrysign" + uuid.uuid4().bytes * 2)

    @property
    def signing(self) -> str:
        return "whsec_" + base64.b64encode(self.signing_key).decode()

    def needles(self) -> dict[str, bytes]:
        basic = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
        return {
            "git token": self.token.encode(),
            "git token (Basic header)": basic.encode(),
            "slack webhook URL": self.slack_part.encode(),
            "signing secret": self.signing.removeprefix("whsec_").encode(),
            "signing key": self.signing_key,
        }


@dataclass
class Recorder:
    argv: list[list[str]] = field(default_factory=list)

    def add(self, args: Any) -> None:
        if isinstance(args, str | bytes | os.PathLike):
            self.argv.append([os.fsdecode(args)])
        else:
            self.argv.append([os.fsdecode(a) for a in args])


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """Record the argv of every program started: through proc, and any Popen at all
    (a plugin may start one itself)."""
    rec = Recorder()
    real_run, real_start = proc.run, proc.start

    def run(argv: Any, **kwargs: Any) -> Any:
        rec.add(argv)
        return real_run(argv, **kwargs)

    def start(argv: Any, **kwargs: Any) -> Any:
        rec.add(argv)
        return real_start(argv, **kwargs)

    monkeypatch.setattr(proc, "run", run)
    monkeypatch.setattr(proc, "start", start)
    real_init = subprocess.Popen.__init__

    def init(self: Any, args: Any, *a: Any, **kw: Any) -> None:
        rec.add(args)
        real_init(self, args, *a, **kw)

    monkeypatch.setattr(subprocess.Popen, "__init__", init)
    return rec


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture
def private_repo(tmp_path: Path) -> Path:
    """The git root served over HTTP, holding private/model.git."""
    work = tmp_path / "model-work"
    (work / "main").mkdir(parents=True)
    (work / "main" / "__init__.py").write_text("")
    (work / "main" / "model.py").write_text(MODEL)
    _git(work, "init", "--quiet", "--initial-branch=main")
    _git(work, "add", "-A")
    _git(work, "commit", "--quiet", "-m", "canary model")
    root = tmp_path / "gitroot"
    (root / "private").mkdir(parents=True)
    _git(tmp_path, "clone", "--quiet", "--bare", str(work), str(root / "private" / "model.git"))
    return root


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    return ("127.0.0.1", 0)


@dataclass
class Findings:
    hits: list[str] = field(default_factory=list)
    searched: dict[str, int] = field(default_factory=dict)

    def search(self, where: str, data: bytes, needles: dict[str, bytes]) -> None:
        self.searched[where.split(":", 1)[0]] = self.searched.get(where.split(":", 1)[0], 0) + 1
        for what, needle in needles.items():
            if needle in data:
                self.hits.append(f"{what} in {where}")


def _walk(root: Path) -> Iterator[Path]:
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            yield path


def _run_canary(
    *,
    tmp_path: Path,
    httpserver: HTTPServer,
    private_repo: Path,
    recorder: Recorder,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    builder: str,
    extra_search: Callable[[Findings, dict[str, bytes]], None] | None = None,
) -> Findings:
    canaries = Canaries()
    needles = canaries.needles()
    httpserver.expect_request(re.compile(".*")).respond_with_data("ok")
    project = tmp_path / "project"
    project.mkdir()
    home = tmp_path / ".auto"
    (project / "auto.yaml").write_text(f"builder: {builder}\nhome: {home}\nsecrets: [env]\n")
    monkeypatch.setenv("AUTO_SECRET_CANARY_GIT_TOKEN", canaries.token)
    monkeypatch.setenv(
        "AUTO_SECRET_CANARY_SLACK", httpserver.url_for(f"/services/T0/B0/{canaries.slack_part}")
    )
    monkeypatch.setenv("AUTO_SECRET_CANARY_SIGNING", canaries.signing)
    monkeypatch.setenv("AUTO_NOTIFY_BACKOFF", "0.05")
    monkeypatch.chdir(project)

    with githttp.serve(private_repo, canaries.token) as git_server:
        (project / "canary.yaml").write_text(
            AUTOMATION.format(
                git_uri=f"{git_server.url}/private/model.git",
                hook=httpserver.url_for("/hook"),
            )
        )
        code = main(["--debug", "--log-format", "json", "trigger", "canary_run", str(project)])
        printed = capfd.readouterr()
        history = [
            main(["history", "canary_run", "--format", "json"]),
            main(["status", str(project), "--format", "json"]),
        ]
        printed_later = capfd.readouterr()
    assert git_server.accepted > 0, "the private repository was never fetched with the token"
    assert code == 0, f"the run failed:\n{printed.out}\n{printed.err[-3000:]}"
    assert "not_deployed" in printed.out + printed.err
    assert history == [0, 0]

    found = Findings()
    for path in _walk(home):
        found.search(f".auto: {path.relative_to(home)}", path.read_bytes(), needles)
    configs = [p for p in (home / "cache").rglob("config") if p.is_file()]
    assert configs, "no cached repository (and its git config) was found under .auto/cache"
    for path in configs:
        found.search(f"git config: {path}", path.read_bytes(), needles)
    for stream, text in (
        ("stdout", printed.out),
        ("stderr (logs)", printed.err),
        ("history/status output", printed_later.out + printed_later.err),
    ):
        found.search(f"output: {stream}", text.encode(), needles)
    assert recorder.argv, "no program was recorded"
    for argv in recorder.argv:
        found.search(f"argv: {argv[:3]}", "\0".join(argv).encode(), needles)
    for request, _response in httpserver.log:
        found.search(f"notification body: {request.path}", request.get_data(), needles)
        found.search(f"notification query: {request.path}", request.query_string, needles)
    paths = [request.path for request, _ in httpserver.log]
    slack = [p for p in paths if p.startswith("/services/")]
    assert slack, paths  # Slack got its message
    control = Findings()  # the search does find a canary where it belongs: the Slack URL
    control.search("control", slack[0].encode(), needles)
    assert control.hits == ["slack webhook URL in control"]
    assert paths.count("/hook") == 2, paths  # start (POST) and not_deployed (GET)
    if extra_search is not None:
        extra_search(found, needles)
    return found


def test_canary_never_leaks(
    tmp_path: Path,
    httpserver: HTTPServer,
    private_repo: Path,
    recorder: Recorder,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found = _run_canary(
        tmp_path=tmp_path,
        httpserver=httpserver,
        private_repo=private_repo,
        recorder=recorder,
        capfd=capfd,
        monkeypatch=monkeypatch,
        builder="local",
    )
    assert found.hits == [], "\n".join(found.hits)
    for place in (".auto", "git config", "output", "argv", "notification body"):
        assert found.searched.get(place), f"nothing was searched in {place}: {found.searched}"


def _search_tar(
    found: Findings, where: str, data: bytes, needles: dict[str, bytes], depth: int = 0
) -> None:
    """Every regular file of a tar archive (``docker save``), and of the archives inside it
    (the image layers, whatever the format names them)."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
        for member in archive.getmembers():
            if not member.isfile():
                continue
            handle = archive.extractfile(member)
            if handle is None:
                continue
            content = handle.read()
            found.search(f"{where} {member.name}", content, needles)
            if depth == 0:
                with contextlib.suppress(tarfile.TarError):  # not a layer: searched above
                    _search_tar(found, f"{where} {member.name}:", content, needles, 1)


@pytest.mark.docker
@pytest.mark.slow
def test_canary_never_leaks_into_images(
    tmp_path: Path,
    httpserver: HTTPServer,
    private_repo: Path,
    recorder: Recorder,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    if not _DOCKER_FIXTURES:
        pytest.skip("the docker engine fixtures (tests/integration/build_docker) are missing")
    engine = request.getfixturevalue("docker_engine")
    request.getfixturevalue("base_image")

    def images(found: Findings, needles: dict[str, bytes]) -> None:
        from qwak_auto.config import load_config
        from qwak_auto.state import open_store

        store = open_store(load_config(env=dict(os.environ), cwd=tmp_path / "project"))
        try:
            tags = [b.image for b in store.builds(model_id="canary") if b.image]
        finally:
            store.close()
        assert tags, "the docker build recorded no image"
        for tag in tags:
            history = engine.docker("history", "--no-trunc", "--format", "{{json .}}", tag)
            found.search(f"image history: {tag}", history.encode(), needles)
            found.search(
                f"image config: {tag}", engine.docker("image", "inspect", tag).encode(), needles
            )
            _search_tar(found, f"image layer: {tag}", engine.docker_bytes("save", tag), needles)

    found = _run_canary(
        tmp_path=tmp_path,
        httpserver=httpserver,
        private_repo=private_repo,
        recorder=recorder,
        capfd=capfd,
        monkeypatch=monkeypatch,
        builder="docker",
        extra_search=images,
    )
    assert found.hits == [], "\n".join(found.hits)
    assert found.searched.get("image layer")
