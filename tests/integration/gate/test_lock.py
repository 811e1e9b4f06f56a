"""The analytics store across processes: one writer at a time, bounded waits, no double loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from qwak_auto.analytics.ingest import ingest_segments
from qwak_auto.analytics.query import run_query
from qwak_auto.analytics.store import ensure_store, store_path, writer
from qwak_auto.automation.model import (
    Automation,
    BuildDeploy,
    BuildSpec,
    Direction,
    MetricTrigger,
)
from qwak_auto.config import Config, load_config
from qwak_auto.errors import ConditionError
from qwak_auto.schedule.metric import evaluate_metric_trigger
from qwak_auto.state import open_store

HOLD = """
import sys, time, duckdb
conn = duckdb.connect(sys.argv[1])
conn.execute("BEGIN TRANSACTION")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
conn.close()
"""


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config(env={"AUTO_HOME": os.environ["AUTO_HOME"]}, cwd=tmp_path)


@contextmanager
def held(config: Config, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another process holds the analytics file for writing for ``seconds``."""
    ensure_store(config)
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(store_path(config)), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        proc.wait(timeout=30)


def test_writer_waits_for_another_process(config: Config) -> None:
    with held(config, 1.0), writer(config, wait_seconds=20) as conn:
        conn.execute("INSERT INTO builds (build_id) VALUES ('after-wait')")
    assert run_query(config, "SELECT build_id FROM builds").rows == (("after-wait",),)


def test_writer_gives_up_after_its_bound(config: Config) -> None:

    def open_writer() -> None:
        with writer(config, wait_seconds=0.5):
            pass

    with held(config, 3.0):
        started = time.monotonic()
        with pytest.raises(ConditionError, match="busy"):
            open_writer()
        assert time.monotonic() - started < 2.5


def _segment(config: Config, name: str, rows: int) -> None:
    folder = config.home / "predictions" / "churn" / "default"
    folder.mkdir(parents=True, exist_ok=True)
    line = {"model_id": "churn", "ts": "2026-01-01T00:00:00Z", "prediction": {"score": 1}}
    (folder / name).write_text("".join(json.dumps(line) + "\n" for _ in range(rows)))


def test_trigger_while_another_process_writes(config: Config) -> None:
    _segment(config, "b1-1-1.jsonl", 3)
    trigger = MetricTrigger(
        name="volume",
        sql_query="SELECT count(*) FROM predictions",
        direction=Direction.ABOVE,
        threshold="2",
    )
    automation = Automation(
        name="a",
        model_id="churn",
        trigger=trigger,
        action=BuildDeploy(build_spec=BuildSpec(git_uri="https://example.invalid/r.git")),
    )
    store = open_store(config)
    try:
        with held(config, 1.5):
            verdict = evaluate_metric_trigger(automation, trigger, store, config, datetime.now(UTC))
        # the segment could not be loaded in time: the query ran on what was there
        assert not verdict.fire
        assert verdict.value == 0.0
        assert "not loaded (the store is busy)" in verdict.reason
        verdict = evaluate_metric_trigger(automation, trigger, store, config, datetime.now(UTC))
        assert verdict.fire
        assert verdict.value == 3.0
    finally:
        store.close()


INGEST = """
import sys
from pathlib import Path
from qwak_auto.config import load_config
from qwak_auto.analytics.ingest import ingest_segments
config = load_config(env={"AUTO_HOME": sys.argv[1]}, cwd=Path(sys.argv[1]))
print(ingest_segments(config))
"""


def test_concurrent_loaders_load_each_line_once(config: Config) -> None:
    for i in range(20):
        _segment(config, f"b1-{i}-1.jsonl", 50)
    ensure_store(config)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", INGEST, str(config.home)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    loaded = [int(p.communicate(timeout=120)[0].strip() or -1) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sorted(loaded) == [0, 0, 1000]
    assert run_query(config, "SELECT count(*) FROM predictions").rows == ((1000,),)
    assert ingest_segments(config) == 0


def test_the_auto_binary(config: Config, tmp_path: Path) -> None:
    auto = Path(sys.executable).with_name("auto")
    if not auto.exists():
        pytest.skip("the auto console script is not installed in this environment")
    env = {**os.environ, "NO_COLOR": "1"}
    out = subprocess.run(
        [str(auto), "query", "SELECT 41 + 1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "value: 42 (counts as a threshold)"
    out = subprocess.run(
        [str(auto), "query", "ATTACH '/tmp/x.duckdb'"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert out.returncode == 1
    assert "this is ATTACH" in out.stderr
