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
from pathlib import Path

import pytest

from tests.integration.reliability.conftest import Fleet, churn_repo, write_automations

RUNNERS = 8
AUTOMATIONS = 25


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
