"""`kill -9` of a real runner while its build runs as a Kubernetes Job: the next tick deletes
the Job and the Secret holding the git token (recording kubectl, a private repository over
smart HTTP), records the build failed, and forgets the record."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from qwak_auto.builders.kubernetes_leftovers import SCOPE
from qwak_auto.state import open_url
from tests.integration.build_k8s.conftest import AUTO_YAML, TOKEN

REPO = Path(__file__).resolve().parents[3]
AUTOMATION = """\
name: churn_k8s
model_id: churn
trigger: {{none: {{}}}}
action:
  build_deploy:
    build_spec:
      git_uri: {url}
      git_access_token_secret: gh_token
"""


def _auto(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,  # with the recording kubectl on PATH
        "PYTHONPATH": str(REPO),
        "AUTO_HOME": str(tmp_path / ".auto"),
        "AUTO_SECRET_GH_TOKEN": TOKEN,
        "AUTO_LEASE_SECONDS": "3",
        "AUTO_KUBE_POLL_SECONDS": "0.05",
        "NO_COLOR": "1",
        # the Job runs for good: the runner is killed while it follows it
        "KUBECTL_JOB": json.dumps({"outcome": "succeeded", "active_gets": 1_000_000}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "qwak_auto", *args],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip


def test_the_next_tick_deletes_the_job_and_secret_of_a_killed_runner(
    kubectl, tmp_path, private_repo
):
    (tmp_path / "auto.yaml").write_text(AUTO_YAML, encoding="utf-8")
    folder = tmp_path / "automations"
    folder.mkdir()
    (folder / "churn.yaml").write_text(AUTOMATION.format(url=private_repo), encoding="utf-8")

    victim = _auto(tmp_path, "trigger", "churn_k8s", str(folder))
    deadline = time.monotonic() + 300
    while not any(a[:2] == ["patch", "job"] for a in kubectl.argvs()):  # the build started
        assert victim.poll() is None, victim.communicate()[0]
        assert time.monotonic() < deadline, "the build Job was never resumed"
        time.sleep(0.1)
    time.sleep(0.5)  # following it
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    assert not any(a[0] == "delete" for a in kubectl.argvs())
    store = open_url(f"sqlite:///{tmp_path / '.auto' / 'state.db'}")
    try:
        (build_id,) = store.values(SCOPE)
        time.sleep(4)  # the dead runner's lease runs out

        tick = _auto(tmp_path, "run", "--once", str(folder))
        out, _ = tick.communicate(timeout=300)
        assert tick.returncode == 0, out

        deletes = [a for a in kubectl.argvs() if a[0] == "delete"]
        assert len(deletes) == 1, kubectl.argvs()
        objects = deletes[0][1:]
        assert objects[0].startswith("job/build-")
        assert any(o.startswith("secret/build-") for o in objects)  # the token goes with it
        assert store.values(SCOPE) == {}
        (build,) = [b for b in store.builds("churn") if b.build_id == build_id]
        assert build.status == "failed"
    finally:
        store.close()
