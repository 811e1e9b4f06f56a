"""Concurrent cold builds (issue 14, point 1).

8 ``auto run --once`` processes start together on a fresh home, 25 automations building the
same real repository (the churn example: scikit-learn + pandas, one cached environment made
by the first build while the others wait for it): 25 runs, all succeeded, each exactly once.
Before the fix 1-2 of 25 failed with "the build harness exited with status 1 without a
result" (``No module named 'qwak_auto'``): the environment's ``.pth`` was rewritten in place
by each build that reused it while other builds' harnesses started.
"""

from __future__ import annotations

import collections
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qwak_auto.builders.env import env_python, link_runtime
from tests.integration.reliability.conftest import REPO, Fleet, churn_repo, write_automations

RUNNERS = 8
AUTOMATIONS = 25

RELINK = """
import sys, time
from pathlib import Path
from qwak_auto.builders.env import link_runtime
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    link_runtime(Path(sys.argv[1]))
"""


def test_interpreters_starting_while_builds_reuse_the_environment_find_auto(
    tmp_path: Path,
) -> None:
    """The fault itself, sharpened: two processes keep doing what a build that reuses the
    environment does (``link_runtime``, under its own lock) while interpreters start in the
    environment, as harnesses, test servers and model servers do. Each must find
    ``qwak_auto``; with the .pth truncated and rewritten in place, ~80% of them did not."""
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    link_runtime(env)
    seconds = 4.0
    relinkers = [
        subprocess.Popen([sys.executable, "-c", RELINK, str(env), str(seconds)], cwd=REPO)
        for _ in range(2)
    ]
    failures: list[str] = []
    started = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done = subprocess.run(
            [str(env_python(env)), "-c", "import qwak_auto.runtime"],
            cwd=tmp_path,  # not the checkout, where `-c` would find qwak_auto without the .pth
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        started += 1
        if done.returncode != 0:
            failures.append(done.stderr.strip().splitlines()[-1])
    assert [r.wait(timeout=60) for r in relinkers] == [0, 0]
    assert started >= 10
    assert failures == []


@pytest.mark.slow
def test_eight_runners_25_cold_builds_of_one_repository(fleet: Fleet, tmp_path: Path) -> None:
    repo = churn_repo(tmp_path / "churn")
    names = write_automations(tmp_path / "automations", repo, AUTOMATIONS)
    assert not fleet.home.exists()  # cold: no environment, no repository cache, no store

    finished = fleet.run_once(tmp_path / "automations", RUNNERS)

    assert [f.returncode for f in finished] == [0] * RUNNERS, [f.stderr[-2000:] for f in finished]
    store = fleet.store()
    try:
        runs = store.runs(None, 1000)
        failed = {r.automation: r.error for r in runs if r.status.value != "succeeded"}
        assert failed == {}
        assert collections.Counter(r.automation for r in runs) == collections.Counter(names)
        builds = store.builds(None, 1000)
        assert sorted(b.automation for b in builds) == sorted(names)  # each built once
        assert {b.status for b in builds} == {"succeeded"}
        assert len({b.run_id for b in builds}) == AUTOMATIONS
        environments = {b.provenance["dependencies"]["hash"] for b in builds}
        reused = [b.provenance["dependencies"]["environment_reused"] for b in builds]
        owners = {r.owner for r in runs}
    finally:
        store.close()
    assert len(environments) == 1  # one environment, made once, used by all 25
    assert reused.count(False) == 1
    assert len(owners) >= 2  # the work really was shared between runners
