"""Issue 18, point 6: production scheduling has a path to follow. `auto render --runner`
writes a CronJob whose image comes from auto.yaml (`runner_image`), AUTO_RUNNER_IMAGE or
`--image`, and says which image it used when none was named; the repository has the
Dockerfile and the `make image` target the docs tell a user to run, and the docs show the
crontab and systemd timer lines for `auto run --once`. (The image itself is built and run in
tests/integration/runner_image, with the session's Docker engine.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from qwak_auto.cli import main

ROOT = Path(__file__).parents[2]


def cronjob_image(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[str, str]:
    capsys.readouterr()
    assert main(["render", "--runner", *argv]) == 0
    out = capsys.readouterr()
    docs: list[dict[str, Any]] = list(YAML(typ="safe", pure=True).load_all(out.out))
    (job,) = [d for d in docs if d["kind"] == "CronJob"]
    (container,) = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["run", "--once", "/automations"]
    return str(container["image"]), out.err


def test_the_runner_image_comes_from_the_project_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    image, err = cronjob_image(capsys)
    assert image == "auto/runner:0.1.0"  # what `make image` tags without IMAGE=
    assert "note: the CronJob runs the image auto/runner:0.1.0: build and push it" in err

    (tmp_path / "auto.yaml").write_text("runner_image: registry.example.com/ml/auto:0.1.0\n")
    assert cronjob_image(capsys) == ("registry.example.com/ml/auto:0.1.0", "")
    monkeypatch.setenv("AUTO_RUNNER_IMAGE", "registry.example.com/ml/auto:env")
    assert cronjob_image(capsys)[0] == "registry.example.com/ml/auto:env"
    assert cronjob_image(capsys, "--image", "r.example.com/a:b")[0] == "r.example.com/a:b"


def test_make_image_builds_the_dockerfile_the_default_names() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^IMAGE \?= auto/runner:\$\(VERSION\)$", makefile, re.MULTILINE)
    assert "docker build --network host --build-arg BASE_IMAGE=$(BASE_IMAGE) -t $(IMAGE) ." in (
        makefile
    )
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["auto"]' in dockerfile  # the CronJob passes only args
    assert "USER 10001" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ignored[ignored.index("*") :][:1] == ["*"]  # an allow-list: no .venv in the context


def test_the_docs_show_cron_systemd_and_the_image() -> None:
    text = (ROOT / "docs" / "running-at-scale.md").read_text()
    assert re.search(r"^\*/5 +\* +\* +\* +\* +cd /srv/ml && \.venv/bin/auto run --once", text, re.M)
    assert "ExecStart=/srv/ml/.venv/bin/auto run --once automations/" in text
    assert "OnCalendar=*:0/5" in text
    assert "KillMode=process" in text  # model servers outlive the tick
    assert "make image IMAGE=registry.example.com/ml/auto-runner:0.1.0" in text
    assert "docker push registry.example.com/ml/auto-runner:0.1.0" in text
    assert "runner_image: registry.example.com/ml/auto-runner:0.1.0" in text
    readme = (ROOT / "README.md").read_text()
    assert "docs/running-at-scale.md" in readme
