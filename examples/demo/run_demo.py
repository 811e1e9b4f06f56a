"""`make demo`: example model repo -> `auto run --once` -> built, gated, served, one prediction.

Runs with nothing but Python and git: the Makefile has already created .venv with auto in it.
The demo's model repository lives in .auto-demo/churn-repo; its state lives where every other
`auto` command in this repository keeps it, the project's .auto/ (found through the auto.yaml
at the root; AUTO_HOME overrides), so plain `auto status`, `auto ui` and `auto undeploy churn`
see the demo's model. Delete both folders to start over.

`python examples/demo/run_demo.py --repo` only makes the model repository (when it is not
there yet): the README's Quick start runs it first, so its commands work before `make demo`.

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
    """(Re)make the demo's model repository from the example, so a changed example counts."""
    step(f"making a git repository from {SOURCE.relative_to(ROOT)} at {REPO.relative_to(ROOT)}")
    if REPO.exists():
        shutil.rmtree(REPO)
    shutil.copytree(SOURCE, REPO, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    subprocess.run(["git", "init", "-q", "-b", "main", str(REPO)], check=True, timeout=60)
    git("add", "-A")
    git("commit", "-q", "-m", "churn model")
    print(f"commit {git('rev-parse', '--short', 'HEAD')}")


def auto(*args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    # No AUTO_HOME of its own: the project's auto.yaml chooses the state home, as it does for
    # every command a user types in this repository.
    return subprocess.run(
        [*AUTO, *args], cwd=ROOT, text=True, capture_output=capture, timeout=900, check=False
    )


def seen_before() -> bool:
    """True once a tick registered the demo automation (e.g. the Quick start ran first): its
    execute_immediately run was then already claimed, so the demo runs it by hand."""
    done = auto("status", str(DEMO), "--format", "json", capture=True)
    if done.returncode != 0:
        sys.exit(f"auto status failed:\n{done.stderr}")
    rows = json.loads(done.stdout).get("automations", [])
    return any(row.get("state") != "not registered yet" for row in rows)


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


def main(argv: list[str]) -> int:
    WORK.mkdir(exist_ok=True)
    if argv == ["--repo"]:
        if REPO.is_dir():
            print(f"{REPO.relative_to(ROOT)} is there (make demo refreshes it)")
        else:
            make_repo()
        return 0
    if argv:
        print("usage: run_demo.py [--repo]", file=sys.stderr)
        return 2
    if os.environ.get("AUTO_BUILDER") == "docker" and not docker_ready():
        return 1
    make_repo()
    step("auto validate examples/demo/")
    if auto("validate", str(DEMO)).returncode != 0:
        return 1
    builder = os.environ.get("AUTO_BUILDER") or "local"
    pipeline = f"source -> {builder} build -> tests -> gate -> local deploy"
    # The first time the scheduler runs it (execute_immediately); after that it is not due
    # until 03:00, so a second demo (or one after the Quick start) triggers it by hand and
    # swaps to the new build.
    if seen_before():
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
        "\nThe model keeps serving; `auto status`, `auto ui` and `auto history` show it."
        "\nStop it with:  .venv/bin/auto undeploy churn"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
