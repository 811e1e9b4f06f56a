"""A runner stand-in for the reliability tests, started as its own process.

python -m tests.integration.state.claim_worker race URL START_FILE SLOTS OWNER
    wait for START_FILE, open the store (concurrent first use), try to claim SLOTS slots
    of `nightly` in a shuffled order, finish each claimed run; print the claimed keys.
python -m tests.integration.state.claim_worker hold URL RUN_KEY OWNER LEASE
    claim RUN_KEY, print the claim, start step `build`, heart-beat every LEASE/4 seconds
    from a thread and "work" until killed (at most 120 s).
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from qwak_auto.state import open_url
from qwak_auto.state.base import ClaimRequest, RunStatus


def race(url: str, start_file: str, slots: int, owner: str) -> None:
    deadline = time.monotonic() + 60
    while not Path(start_file).exists():
        if time.monotonic() > deadline:
            raise SystemExit("start signal never came")
        time.sleep(0.005)
    store = open_url(url)
    keys = [f"nightly@slot{i:02d}" for i in range(slots)]
    random.shuffle(keys)
    claimed: list[str] = []
    for key in keys:
        time.sleep(random.uniform(0, 0.01))  # let the processes interleave
        now = datetime.now(UTC)
        c = store.claim(
            ClaimRequest(
                automation="nightly",
                run_key=key,
                trigger_reason="schedule",
                scheduled_for=now,
                owner=owner,
                now=now,
                lease_seconds=60,
                forbid_overlap=False,
            )
        )
        if c.claimed:
            assert c.run is not None
            claimed.append(key)
            store.finish_run(c.run.run_id, RunStatus.SUCCEEDED, "", datetime.now(UTC), owner)
    store.close()
    print(json.dumps(claimed), flush=True)


def hold(url: str, run_key: str, owner: str, lease: float) -> None:
    store = open_url(url)
    now = datetime.now(UTC)
    c = store.claim(
        ClaimRequest(
            automation=run_key.split("@")[0],
            run_key=run_key,
            trigger_reason="schedule",
            scheduled_for=None,
            owner=owner,
            now=now,
            lease_seconds=lease,
            forbid_overlap=True,
        )
    )
    run = c.run
    if run is not None:
        store.start_step(run.run_id, "build", datetime.now(UTC))
    print(
        json.dumps(
            {"claimed": c.claimed, "reason": c.reason, "run_id": run.run_id if run else "",
             "attempt": run.attempt if run else 0}
        ),
        flush=True,
    )  # fmt: skip
    if run is None:
        store.close()
        return

    def beat() -> None:
        while store.heartbeat(run.run_id, owner, datetime.now(UTC), lease):
            time.sleep(lease / 4)

    threading.Thread(target=beat, daemon=True).start()
    time.sleep(120)  # the "step": the test kills us long before this ends


def main(argv: list[str]) -> None:
    mode, url, *rest = argv
    if mode == "race":
        race(url, rest[0], int(rest[1]), rest[2])
    elif mode == "hold":
        hold(url, rest[0], rest[1], float(rest[2]))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
