"""Issue 18, point 7 (the smaller points), as a user meets them: `auto --help` in a sensible
order with whole descriptions; gunicorn's lines kept out of a build's output; `auto ui`
that cannot bind prints no banner; one repository address; a doc on model repositories."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

from qwak_auto.cli import main
from qwak_auto.cli.layout import GROUPS
from tests.integration.builders.conftest import commit_tree

ROOT = Path(__file__).parents[2]


def test_help_lists_commands_grouped_in_order_with_whole_descriptions(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    capsys.readouterr()
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    commands = out[out.index("\nCheck and plan:") :]
    assert not re.search(r"\.\.\.$", commands, re.MULTILINE)  # click's cut-off descriptions
    titles = [out.index(f"\n{title}:\n") for title, _ in GROUPS]
    assert titles == sorted(titles)
    listed = re.findall(r"^  ([a-z-]+)  ", commands, re.MULTILINE)
    assert listed == [name for _, names in GROUPS for name in names]
    flat = " ".join(out.split())
    assert (
        "plan Per automation: the next fire times (with DST notes), the missed slots a run "
        "would catch up now, where its execute_immediately run stands, and what a run would "
        "do. Changes nothing." in flat
    )
    assert "build Build one automation's model now (outside the scheduler) and record the" in flat


IT_TEST = """\
import json
import os
import urllib.request


def test_the_served_model_answers():
    request = urllib.request.Request(
        os.environ["AUTO_MODEL_URL"] + "/predict", data=json.dumps([{{"x": 1}}]).encode(),
        headers={{"Content-Type": "application/json"}},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    assert {ok}
"""
MODEL = """\
from qwak_auto.runtime import Model, log_metric


class Tiny(Model):
    def build(self):
        log_metric("score", 1.0)

    def predict(self, df):
        return df
"""
AUTOMATION = """\
name: tiny
model_id: tiny
trigger: {{none: {{}}}}
action: {{build_deploy: {{build_spec: {{git_uri: "{repo}"}}}}}}
"""
GUNICORN = ("Booting worker", "Listening at", "Starting gunicorn")


def build_log(tmp_path: Path, capsys: pytest.CaptureFixture[str], it_passes: bool) -> str:
    repo = tmp_path / f"repo-{it_passes}"
    commit_tree(
        repo,
        {
            "main/__init__.py": "",
            "main/model.py": MODEL,
            "tests/__init__.py": "",
            "tests/it/__init__.py": "",
            "tests/it/test_served.py": IT_TEST.format(ok=it_passes),
        },
    )
    spec = tmp_path / f"tiny-{it_passes}.yaml"
    spec.write_text(AUTOMATION.format(repo=repo))
    capsys.readouterr()
    code = main(["build", str(spec), "--name", "tiny"])
    out = capsys.readouterr()
    assert code == (0 if it_passes else 1), out.out + out.err
    (build_id,) = re.findall(r"\b(tiny-[0-9a-z-]+)\b", out.out + out.err)[:1]
    assert main(["logs", build_id]) == 0
    return capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.usefixtures("shared_envs_home")
def test_gunicorn_lines_stay_out_of_the_build_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = build_log(tmp_path, capsys, it_passes=True)
    assert "==> integration tests (tests/it) against the served model" in log
    assert "1 passed" in log
    for line in GUNICORN:
        assert line not in log
    assert "model server log" not in log

    # When tests/it fail, the server's last lines follow, marked, after the tests' output.
    log = build_log(tmp_path, capsys, it_passes=False)
    marker = log.index("--- model server log (tests/it), last ")
    assert log.index("1 failed") < marker
    assert "Listening at" in log[marker:]
    assert "--- end of the model server log ---" in log


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_ui_prints_its_banner_only_once_it_listens(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "qwak_auto", "ui", "--port"]
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*argv, str(port)], capture_output=True, text=True, timeout=60, check=False
        )
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "auto ui: http" not in done.stdout + done.stderr

    port = free_port()
    log = tmp_path / "ui.log"
    with log.open("w") as out:
        proc = subprocess.Popen([*argv, str(port)], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while f"auto ui: http://127.0.0.1:{port}/" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        # the banner came after gunicorn listened: the address answers
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
            assert r.status == 200
        text = log.read_text()
        assert text.index("Listening at") < text.index("auto ui: http")
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_the_repository_address_is_the_same_everywhere() -> None:
    readme = (ROOT / "README.md").read_text()
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text()
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    (in_readme,) = re.findall(r"- repo: (\S+)", readme)
    (in_hooks,) = re.findall(r"- repo: (\S+)", hooks)
    assert in_readme == in_hooks == urls["Repository"]
    assert in_readme.startswith("https://github.com/")
    assert "<" not in in_hooks


def test_model_repositories_doc_is_linked_and_says_what_a_user_needs() -> None:
    doc = ROOT / "docs" / "model-repositories.md"
    text = doc.read_text()
    for topic in ("build()", "predict(", "schema()", "log_metric", "tests/it", "load_model()"):
        assert topic in text, topic
    for page in (ROOT / "README.md", ROOT / "examples" / "model-repos" / "churn" / "README.md"):
        links = re.findall(r"\]\(([^)]*model-repositories\.md)\)", page.read_text())
        assert links, f"{page} does not link the doc"
        assert all((page.parent / link).resolve() == doc.resolve() for link in links)
    # and the doc's own links resolve
    for link in re.findall(r"\]\((\.\.?/[^)#]+)\)", text):
        assert (doc.parent / link).exists(), link


def test_the_build_log_helper_sees_no_inherited_environment() -> None:
    # The builds above run with the test's isolated AUTO_HOME, never the repository's .auto/.
    assert os.environ["AUTO_HOME"] != str(ROOT / ".auto")
