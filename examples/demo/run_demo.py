"""`make demo`: example model repo -> `auto run --once` -> built, gated, served, one prediction.

Runs with nothing but Python and git: the Makefile has already created .venv with auto in it.
Everything the demo makes lives in .auto-demo/ (delete it to start over).

`make demo-docker` (AUTO_BUILDER=docker) builds in containers and serves the model from its
image, still behind the local deployer's 127.0.0.1 address. It needs a Docker engine: the one
at DOCKER_HOST, else the default socket. When the engine lacks the default base image, the
demo makes it by running `auto images bootstrap` itself (debootstrap: root, about a minute;
the root filesystem is cached in .auto-demo/images for the next time).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess  # noqa: TID251 - the demo types commands as a user would, output live
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


def docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], text=True, capture_output=True, timeout=120, check=False
    )


def docker_ready() -> bool:
    """AUTO_BUILDER=docker: the engine answers and has the base image (made if missing)."""
    where = os.environ.get("DOCKER_HOST") or "the default socket (unix:///var/run/docker.sock)"
    step(f"checking the Docker engine at {where}")
    if shutil.which("docker") is None:
        print("the docker CLI is not installed (apt-get install docker.io)", file=sys.stderr)
        return False
    version = docker("version", "--format", "{{.Server.Version}}")
    if version.returncode != 0:
        print(
            f"no Docker engine answers at {where}: {version.stderr.strip()[-300:]}\n"
            "start dockerd, or point DOCKER_HOST at a running one, then `make demo-docker`",
            file=sys.stderr,
        )
        return False
    print(f"docker engine {version.stdout.strip()}")
    base = os.environ.get("AUTO_DOCKER_BASE_IMAGE", "local/python:3.11-bookworm")
    if docker("image", "inspect", base).returncode == 0:
        print(f"base image {base} is there")
        return True
    if base != "local/python:3.11-bookworm":
        print(f"the base image {base} (AUTO_DOCKER_BASE_IMAGE) is not in the engine; the build "
              "will try to pull it")  # fmt: skip
        return True
    step(f"auto images bootstrap   (the base image {base} is missing: making it once)")
    made = auto("images", "bootstrap", "--cache-dir", str(WORK / "images"))
    if made.returncode != 0:
        print(
            "could not make the base image; run `auto images bootstrap` as root "
            "(it needs debootstrap), then `make demo-docker` again",
            file=sys.stderr,
        )
        return False
    return True


def main() -> int:
    WORK.mkdir(exist_ok=True)
    if os.environ.get("AUTO_BUILDER") == "docker" and not docker_ready():
        return 1
    make_repo()
    step("auto validate examples/demo/")
    if auto("validate", str(DEMO)).returncode != 0:
        return 1
    builder = os.environ.get("AUTO_BUILDER") or "local"
    pipeline = f"source -> {builder} build -> tests -> gate -> local deploy"
    # The first time the scheduler runs it (execute_immediately); after that it is not due
    # until 03:00, so a second demo triggers it by hand (and swaps to the new build).
    if (WORK / "home" / "state.db").exists():
        step(f"auto trigger demo_churn_retrain examples/demo/   ({pipeline})")
        command = ("trigger", "demo_churn_retrain", str(DEMO))
    else:
        step(f"auto run --once examples/demo/   ({pipeline})")
        command = ("run", "--once", str(DEMO))
    if auto(*command).returncode != 0:
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
