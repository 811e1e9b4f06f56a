"""Gate decision and metric-trigger evaluation over a predictions table of 1 and 10 million
rows, side by side with the same query run directly in DuckDB.

    .venv/bin/python benchmarks/gate.py [--rows 1000000,10000000] [--repeat 7]

"direct" opens the file read-only, runs the query, closes it: the least any gate can do.
"runner" is :func:`qwak_auto.analytics.evaluate_scalar` (statement check, locked-down
read-only connection, timeout timer, row cap, judgement). "gate decision" is
:func:`qwak_auto.gate.conditions.decide_condition` with a SQL threshold: the decision the
gate makes, SQL sandbox included. "gate step" is the run's whole gate step
(``run.runner.decide``): it first records the build and loads new prediction segments (the
run's one analytics write transaction, a fixed cost per run that does not grow with the
table), then ``MetricGate.decide``; it is shown for information. ``--repeat`` alternating
pairs after one warm-up; median (min–max) of each side and of the per-pair ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

THRESHOLD_SQL = (
    "SELECT avg(score) FROM predictions WHERE model_id = 'churn' "
    "AND ts >= TIMESTAMPTZ '2026-01-01 00:00:00+00' + INTERVAL 1 DAY"
)
TRIGGER_SQL = (
    "SELECT count(*) FILTER (WHERE status >= 500)::DOUBLE / count(*) "
    "FROM predictions WHERE model_id = 'churn'"
)


def populate(path: Path, rows: int) -> None:
    import duckdb

    from qwak_auto.analytics.store import DDL

    conn = duckdb.connect(str(path))
    try:
        for statement in DDL:
            conn.execute(statement)
        conn.execute('ALTER TABLE predictions ADD COLUMN "score" DOUBLE')
        conn.execute(
            f"""INSERT INTO predictions BY NAME
            SELECT CASE WHEN i % 4 = 0 THEN 'fraud' ELSE 'churn' END AS model_id,
                   'b' || (i % 3) AS build_id, 'default' AS variation, 'dev' AS environment,
                   TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(i % 604800) AS ts,
                   (i % 97) / 7.0 AS latency_ms,
                   CASE WHEN i % 101 = 0 THEN 500 ELSE 200 END AS status,
                   ('{{"age": ' || (i % 90) || '}}')::JSON AS features,
                   ('{{"score": ' || ((i % 1000) / 1000.0) || '}}')::JSON AS prediction,
                   NULL AS label,
                   (i % 1000) / 1000.0 AS score
            FROM range({rows}) t(i)"""
        )
        conn.execute("CHECKPOINT")
    finally:
        conn.close()


def paired(
    ours: Callable[[], object], theirs: Callable[[], object], repeat: int
) -> tuple[list[float], list[float]]:
    """Seconds of each per pair, run alternately so that load from other processes on a
    shared machine falls on both alike."""
    ours()  # warm-up (file cache, imports)
    theirs()
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeat):
        for fn, samples in ((ours, a), (theirs, b)):
            started = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - started)
    return a, b


def spread(values: list[float], fmt: str) -> str:
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}–{max(values):{fmt}})"


def direct(path: Path, sql: str) -> Callable[[], object]:
    import duckdb

    def run() -> object:
        conn = duckdb.connect(str(path), read_only=True)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()

    return run


def bench(rows: int, repeat: int, workdir: Path) -> list[tuple[str, list[float], list[float]]]:
    from qwak_auto.analytics.query import evaluate_scalar
    from qwak_auto.automation.model import (
        Automation,
        BuildDeploy,
        BuildMetric,
        BuildSpec,
        Direction,
        MetricTrigger,
    )
    from qwak_auto.config import load_config
    from qwak_auto.gate.conditions import MetricGate, decide_condition
    from qwak_auto.run.contracts import BuildResult, RunContext
    from qwak_auto.run.runner import decide as gate_step
    from qwak_auto.run.sink import AnalyticsSink
    from qwak_auto.schedule.metric import evaluate_metric_trigger
    from qwak_auto.state import open_store

    home = workdir / f"home-{rows}"
    home.mkdir(parents=True, exist_ok=True)
    config = load_config(env={"AUTO_HOME": str(home)}, cwd=workdir)
    path = home / "analytics.duckdb"
    if not path.exists():
        started = time.perf_counter()
        populate(path, rows)
        print(f"  populated {rows:,} rows in {time.perf_counter() - started:.1f}s", flush=True)
    store = open_store(config)
    condition = BuildMetric(metric_name="f1", direction=Direction.ABOVE, threshold=THRESHOLD_SQL)
    trigger = MetricTrigger(
        name="errors", sql_query=TRIGGER_SQL, direction=Direction.ABOVE, threshold="0.05"
    )
    automation = Automation(
        name="bench",
        model_id="churn",
        trigger=trigger,
        action=BuildDeploy(
            build_spec=BuildSpec(git_uri="https://example.invalid/r.git"),
            deployment_condition=condition,
        ),
    )
    build = BuildResult(
        build_id="bench-build",
        model_id="churn",
        commit="0" * 40,
        builder="local",
        artifact_dir=workdir,
        metrics={"f1": 0.7},
        params={},
        log_path=workdir / "build.log",
    )
    ctx = RunContext(
        run_id="bench",
        automation=automation,
        config=config,
        store=store,
        secrets=lambda name: name,
        trigger_reason="bench",
        started_at=datetime.now(UTC),
        log_dir=workdir,
    )
    gate = MetricGate()
    sink = AnalyticsSink(config)

    def decide() -> object:
        decision = decide_condition(build, condition, ctx)
        assert decision.threshold is not None, decision.reason
        return decision

    def step() -> object:
        decision = gate_step(gate, sink, build, ctx)
        assert decision.threshold is not None, decision.reason
        return decision

    def evaluate() -> object:
        verdict = evaluate_metric_trigger(automation, trigger, store, config, datetime.now(UTC))
        assert verdict.value is not None, verdict.reason
        return verdict

    def runner(sql: str) -> Callable[[], object]:
        def run() -> object:
            outcome = evaluate_scalar(config, sql)
            assert outcome.ok, outcome.reason
            return outcome

        return run

    try:
        cases = [
            ("threshold query (runner)", runner(THRESHOLD_SQL), THRESHOLD_SQL),
            ("gate decision (decide_condition)", decide, THRESHOLD_SQL),
            ("gate step incl. the run's analytics write (run.runner.decide)", step, THRESHOLD_SQL),
            ("trigger query (runner)", runner(TRIGGER_SQL), TRIGGER_SQL),
            ("trigger evaluation (evaluate_metric_trigger)", evaluate, TRIGGER_SQL),
        ]
        return [(what, *paired(fn, direct(path, sql), repeat)) for what, fn, sql in cases]
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000000,10000000")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="auto-gate-bench-"))
    os.environ.setdefault("NO_COLOR", "1")
    print(f"cpus: {os.cpu_count()}  python: {sys.version.split()[0]}  workdir: {workdir}")
    import duckdb

    print(f"duckdb: {duckdb.__version__}")
    print(f"{args.repeat} pairs after one warm-up each; median (min–max); ratios per pair")
    print("| rows | what | auto (ms) | direct DuckDB (ms) | ratio |")
    print("|---:|---|---:|---:|---:|")
    for rows in (int(r) for r in args.rows.split(",")):
        for what, ours, theirs in bench(rows, args.repeat, workdir):
            ratio = [a / b for a, b in zip(ours, theirs, strict=True)]
            print(
                f"| {rows:,} | {what} | {spread([x * 1000 for x in ours], '.1f')} "
                f"| {spread([x * 1000 for x in theirs], '.1f')} | {spread(ratio, '.2f')}x |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
