"""Issue 18, point 5: a dashboard worth opening, looked at in headless Chromium.

A real run (`auto run --once`: the churn example built, gated and served by gunicorn on
127.0.0.1), real traffic to it (good requests and requests the model fails on, 5xx), then
`auto ui`: the overview's chart has axes, dates and a threshold line (one build!), times are
in the automation's zone (Asia/Tokyo: JST all year), the deployed build shows its last hour
of requests, 5xx share and p99 read from the model server's /metrics, refreshed by the page
itself; a run links to its build, its logs and its deployment. Screenshots are checked
pixel by pixel (the threshold line's colour across the plot), the DOM as Chromium built it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from qwak_auto.ui.chart import METRIC_COLOUR, THRESHOLD_COLOUR, WIDTH

ROOT = Path(__file__).parents[2]
CHURN = ROOT / "examples" / "model-repos" / "churn"
AUTOMATION = """\
name: churn_dashboard
model_id: churn_ui
execute_immediately: true
trigger:
  scheduled: {{cron: "0 4 * * *", timezone: Asia/Tokyo}}
action:
  build_deploy:
    build_spec: {{git_uri: "{repo}"}}
    deployment_condition:
      build_metric: {{metric_name: f1_score, direction: ABOVE, threshold: "0.5"}}
    deployment_spec:
      number_of_http_server_workers: 1
      max_batch_size: 10
      deployment_process_timeout_limit: 120
"""
GOOD, BAD = 16, 4  # requests answered 200, and ones the model fails on (500)


@dataclass
class World:
    url: str  # the dashboard
    address: str  # the served model
    env: dict[str, str]
    folder: Path
    tmp: Path


def auto(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "qwak_auto", *args],
        env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return done.stdout


def predict(address: str, record: dict[str, Any]) -> int:
    request = urllib.request.Request(
        f"{address}/v1/churn_ui/predict",
        data=json.dumps([record]).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        return str(response.read().decode())


def traffic(url: str) -> dict[str, Any]:
    (row,) = json.loads(get(f"{url}/api/traffic.json"))["deployments"]
    return dict(row)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, shared_envs: Path) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("dashboard")
    home = tmp / ".auto"
    (home / "cache").mkdir(parents=True)
    (home / "cache" / "envs").symlink_to(shared_envs, target_is_directory=True)
    env = {**os.environ, "AUTO_HOME": str(home), "NO_COLOR": "1"}
    repo = tmp / "churn-repo"
    shutil.copytree(CHURN, repo, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "churn"]):
        subprocess.run(["git", *args], cwd=repo, check=True, timeout=60, env=env)
    folder = tmp / "automations"
    folder.mkdir()
    (folder / "churn.yaml").write_text(AUTOMATION.format(repo=repo))
    ui: subprocess.Popen[bytes] | None = None
    try:
        assert "churn_dashboard: succeeded" in auto(env, "run", "--once", str(folder))
        status = json.loads(auto(env, "status", str(folder), "--format", "json"))
        address = status["automations"][0]["deployed"][0]["address"]
        sample = json.loads((CHURN / "main" / "sample_request.json").read_text())
        record = sample[0] if isinstance(sample, list) else sample
        assert [predict(address, record) for _ in range(GOOD)] == [200] * GOOD
        assert [predict(address, {"nothing": 1.0}) for _ in range(BAD)] == [500] * BAD
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        ui = subprocess.Popen(
            [sys.executable, "-m", "qwak_auto", "ui", str(folder), "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:  # the dashboard samples the model server as soon as it is asked
            try:
                if traffic(url)["requests"] == GOOD + BAD:
                    break
            except OSError:
                pass
            assert ui.poll() is None, "auto ui exited"
            assert time.monotonic() < deadline, "the dashboard never saw the traffic"
            time.sleep(0.5)
        yield World(url=url, address=address, env=env, folder=folder, tmp=tmp)
    finally:
        if ui is not None:
            ui.terminate()
            ui.wait(timeout=20)
        subprocess.run(
            [sys.executable, "-m", "qwak_auto", "undeploy", "churn_ui"],
            env=env, capture_output=True, timeout=120, check=False,
        )  # fmt: skip


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        from tests.conftest import missing_service

        missing_service("chromium", "not installed (apt-get install -y chromium)")
    assert exe is not None
    return exe


def browse(url: str, profile: Path, *extra: str) -> str:
    profile.mkdir(exist_ok=True)
    done = subprocess.run(
        [
            chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", f"--user-data-dir={profile}", "--window-size=1280,1400",
            *extra, url,
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return done.stdout + ("" if done.returncode == 0 else done.stderr[-2000:])


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def longest_line(pixels: Any, size: tuple[int, int], colour: str, gap: int = 8) -> int:
    """The longest horizontal run of pixels near ``colour`` (gaps up to ``gap``: dashes)."""
    target = _rgb(colour)
    best = 0
    for y in range(size[1]):
        start = last = -(10**9)
        for x in range(size[0]):
            p = pixels[x, y]
            if sum(abs(a - b) for a, b in zip(p[:3], target, strict=True)) < 60:
                if x - last > gap:
                    start = x
                last = x
                best = max(best, last - start)
    return best


def count(pixels: Any, size: tuple[int, int], colour: str) -> int:
    target = _rgb(colour)
    return sum(
        1
        for y in range(size[1])
        for x in range(size[0])
        if sum(abs(a - b) for a, b in zip(pixels[x, y][:3], target, strict=True)) < 60
    )


@pytest.mark.slow
def test_the_overview_in_chromium(world: World) -> None:
    dom = browse(
        world.url + "/", world.tmp / "profile", "--virtual-time-budget=25000", "--dump-dom"
    )
    # The page's script re-read /api/traffic.json at least twice in one page load.
    refreshes = re.search(r'data-traffic-refreshes="(\d+)"', dom)
    assert refreshes is not None, dom[-3000:]
    assert int(refreshes.group(1)) >= 2
    row = re.search(r'<tr data-deployment="[^"]+" data-refreshed="\d+">(.*?)</tr>', dom, re.S)
    assert row is not None, dom[-3000:]
    cells = row.group(1)
    assert f'<span class="requests">{GOOD + BAD}</span>' in cells
    assert '<span class="errors">20.0 %</span>' in cells
    assert re.search(r'<span class="p99">\d+ ms</span>', cells)
    live = traffic(world.url)
    assert live["error_share"] == pytest.approx(BAD / (GOOD + BAD))
    assert sum(live["per_minute"]) == GOOD + BAD
    # times in the automation's zone; the chart's axes, dates and threshold
    assert re.search(r"\d{4}-\d\d-\d\d 04:00 JST", dom)  # next fire
    assert "build finished (Asia/Tokyo)" in dom
    assert len(re.findall(r'<text class="tick"', dom)) >= 3
    assert len(re.findall(r'<text class="tick date"', dom)) == 1  # one build, one date
    assert '<polyline class="threshold"' in dom
    assert "threshold 0.5" in dom

    from PIL import Image

    shot = Path(os.environ.get("AUTO_TEST_ARTIFACTS", world.tmp)) / "dashboard-first-hour.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    browse(world.url + "/", world.tmp / "profile", "--virtual-time-budget=5000",
           f"--screenshot={shot}")  # fmt: skip
    image = Image.open(shot).convert("RGB")
    pixels, size = image.load(), image.size
    # The threshold line spans the plot although there is only one build.
    assert longest_line(pixels, size, THRESHOLD_COLOUR) >= (WIDTH - 64 - 96) * 0.9
    assert count(pixels, size, METRIC_COLOUR) > 40  # the build's dot (and links, sparkline)


@pytest.mark.slow
def test_a_run_links_to_its_build_logs_and_deployment(world: World) -> None:
    (run,) = json.loads(auto(world.env, "history", "--format", "json"))["runs"]
    page = get(f"{world.url}/runs/{run['run_id']}")
    assert "JST" in page  # step times in the automation's zone
    build = re.search(r'href="/builds/([^"/]+)"', page)
    deployment = re.search(r'href="/deployments/([^"/]+)"', page)
    assert build is not None
    assert deployment is not None
    assert f'href="/builds/{build.group(1)}/log"' in page
    step_logs = re.findall(rf'href="(/runs/{run["run_id"]}/logs/[^"]+\.log)"', page)
    for link in step_logs:
        get(world.url + link)
    log = get(f"{world.url}/builds/{build.group(1)}/log")
    assert "==> build() of ChurnModel" in log
    assert "==> integration tests (tests/it)" in log
    build_page = get(f"{world.url}/builds/{build.group(1)}")
    assert "f1_score" in build_page
    assert f'href="/runs/{run["run_id"]}"' in build_page
    assert f'href="/deployments/{deployment.group(1)}"' in build_page
    deployment_page = get(f"{world.url}/deployments/{deployment.group(1)}")
    assert world.address in deployment_page
    assert '<span class="errors">20.0 %</span>' in deployment_page
    server_log = get(f"{world.url}/deployments/{deployment.group(1)}/log")
    assert "Listening at" in server_log
    with pytest.raises(urllib.error.HTTPError) as missing:
        get(f"{world.url}/runs/{run['run_id']}/logs/..%2F..%2Fstate.db")
    assert missing.value.code == 404
