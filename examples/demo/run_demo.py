"""`make demo`: example model repo -> `auto run --once` -> built, gated, served, one prediction.

Runs with nothing but Python and git: the Makefile has already created .venv with auto in it.
Everything the demo makes lives in .auto-demo/ (delete it to start over).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".auto-demo"
REPO = WORK / "churn-repo"
SOURCE = ROOT / "examples" / "model-repos" / "churn"
DEMO = ROOT / "examples" / "demo"
AUTO = [sys.executable, "-m", "qwak_auto"]


def step(title: str) -> None:
    print(f"\n==> {title}", flush=True)


def git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(REPO), *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "auto demo",
            "GIT_AUTHOR_EMAIL": "demo@example.invalid",
            "GIT_COMMITTER_NAME": "auto demo",
            "GIT_COMMITTER_EMAIL": "demo@example.invalid",
        },
    )
    return done.stdout.strip()


def make_repo() -> None:
    step(f"making a git repository from {SOURCE.relative_to(ROOT)} at {REPO.relative_to(ROOT)}")
    if REPO.exists():
        shutil.rmtree(REPO)
    shutil.copytree(SOURCE, REPO, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    subprocess.run(["git", "init", "-q", "-b", "main", str(REPO)], check=True, timeout=60)
    git("add", "-A")
    git("commit", "-q", "-m", "churn model")
    print(f"commit {git('rev-parse', '--short', 'HEAD')}")


def auto(*args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AUTO_HOME": str(WORK / "home")}
    return subprocess.run(
        [*AUTO, *args], env=env, text=True, capture_output=capture, timeout=900, check=False
    )


def serving_address() -> str:
    done = auto("status", str(DEMO), "--format", "json", capture=True)
    if done.returncode != 0:
        sys.exit(f"auto status failed:\n{done.stderr}")
    for row in json.loads(done.stdout).get("automations", []):
        for dep in row.get("deployed", []):
            if dep.get("address"):
                return str(dep["address"])
    sys.exit("no deployment is serving; see the run above and `auto history`")


def predict(address: str) -> None:
    record = json.loads((SOURCE / "main" / "sample_request.json").read_text())
    url = f"{address}/v1/churn/predict"
    step(f"POST {url}")
    print(json.dumps(record))
    request = urllib.request.Request(
        url, data=json.dumps(record).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        print(f"HTTP {response.status}: {response.read().decode()}")


def main() -> int:
    WORK.mkdir(exist_ok=True)
    make_repo()
    step("auto validate examples/demo/")
    if auto("validate", str(DEMO)).returncode != 0:
        return 1
    step("auto run --once examples/demo/   (source -> build -> tests -> gate -> local deploy)")
    if auto("run", "--once", str(DEMO)).returncode != 0:
        print("the run failed: `auto history` shows each step and its reason", file=sys.stderr)
        return 1
    predict(serving_address())
    step("auto status examples/demo/")
    auto("status", str(DEMO))
    print(
        "\nThe model keeps serving. Stop it with:"
        f"  AUTO_HOME={WORK / 'home'} .venv/bin/auto undeploy churn"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
