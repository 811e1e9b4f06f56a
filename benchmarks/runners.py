"""Many runners on one home, cold and warm (issue 14):

    .venv/bin/python benchmarks/runners.py [--rounds 2] [--runners 8] [--automations 25]
                                           [--without-tests] [--write]

Each round starts from a fresh ``AUTO_HOME``: 25 automations build the same real repository
(the churn example, scikit-learn + pandas, with its ``tests/`` unless ``--without-tests``),
and 8 ``auto run --once`` processes start together. *Cold*: no build environment, no
repository cache, no state store yet (the first build makes the environment while the others
wait for it). *Warm*: the same home a minute later, every automation due again. Both are
measured in the same round. The deploy step records the deployment instead of starting 25
model servers (a plugin deployer): the figures are the runner's, not the serving's.

Reported per round and in total: runs, how many did not succeed (with their reasons), runs
executed more than once, and the wall time from the start of the 8 processes to the end of
the last. ``--write`` replaces the ``## runners`` section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import write_section  # noqa: E402

CHURN = ROOT / "examples" / "model-repos" / "churn"
SLOT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

DEPLOYER = """\
from qwak_auto.run.contracts import DeployOutcome
from qwak_auto.state.base import DeploymentRecord


class RecordingDeployer:
    name = "recording"

    def deploy(self, build, environment, ctx):
        ctx.store.save_deployment(DeploymentRecord(
            deployment_id=build.build_id, model_id=build.model_id, build_id=build.build_id,
            environment=environment.name, variation="default", deployer=self.name,
            status="serving", created_at=ctx.started_at, address="http://127.0.0.1:9",
            automation=ctx.automation.name, run_id=ctx.run_id,
        ))
        return DeployOutcome(
            environment=environment.name, variation="default", deployment_id=build.build_id,
            address="http://127.0.0.1:9", status="serving",
        )
"""


@dataclass(frozen=True)
class Phase:
    round: int
    kind: str  # cold | warm
    runs: int
    failed: dict[str, str]  # automation -> reason
    duplicates: int
    wall: float
    exit_codes: tuple[int, ...]
    load: float  # the 1-minute load average at the end (other work on the machine too)


def git(cwd: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.invalid",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    }
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, timeout=60)


def setup(work: Path, automations: int, with_tests: bool) -> Path:
    repo = work / "churn"
    ignore = ["__pycache__", "*.pyc"] + ([] if with_tests else ["tests"])
    shutil.copytree(CHURN, repo, ignore=shutil.ignore_patterns(*ignore))
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "churn")
    plugin = work / "plugin"
    plugin.mkdir()
    (plugin / "bench_deployer.py").write_text(DEPLOYER)
    dist = plugin / "auto_bench_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: auto-bench-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[qwak_auto.deployers]\nrecording = bench_deployer:RecordingDeployer\n"
    )
    folder = work / "automations"
    folder.mkdir()
    for i in range(automations):
        name = f"churn_{i:02d}"
        (folder / f"{name}.yaml").write_text(
            f"name: {name}\nmodel_id: {name}\n"
            'trigger:\n  scheduled:\n    cron: "* * * * *"\n'
            f"action:\n  build_deploy:\n    build_spec:\n      git_uri: {repo}\n"
        )
    return folder


def phase(
    work: Path, home: Path, folder: Path, runners: int, slot: datetime, number: int, kind: str
) -> Phase:
    (work / "auto.yaml").write_text("builder: local\nenvironments:\n  dev: {deployer: recording}\n")
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{work / 'plugin'}",
        "AUTO_HOME": str(home),
        "NO_COLOR": "1",
    }
    env.pop("AUTO_STATE_URL", None)
    argv = [sys.executable, "-m", "qwak_auto", "run", "--once", str(folder)]
    argv += ["--now", slot.isoformat()]
    started = time.monotonic()
    procs = [
        subprocess.Popen(
            argv, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(runners)
    ]
    codes = tuple(p.wait(timeout=3600) for p in procs)
    wall = time.monotonic() - started
    from qwak_auto.state import open_url

    store = open_url(f"sqlite:///{home / 'state.db'}")
    try:
        key = f"@{slot.isoformat()}"
        rows = [
            (r.automation, r.status.value, r.error)
            for r in store.runs(None, 10_000)
            if r.run_key.endswith(key)
        ]
    finally:
        store.close()
    counts = Counter(automation for automation, _, _ in rows)
    failed = {a: (e or s) for a, s, e in rows if s != "succeeded"}
    return Phase(
        round=number,
        kind=kind,
        runs=len(rows),
        failed=failed,
        duplicates=sum(n - 1 for n in counts.values()),
        wall=wall,
        exit_codes=codes,
        load=os.getloadavg()[0],
    )


def render(phases: list[Phase], args: argparse.Namespace) -> str:
    tests = "without its tests" if args.without_tests else "with its tests: unit and tests/it"
    lines = [
        "## runners",
        "",
        f"`benchmarks/runners.py` (`--rounds {args.rounds}`): {args.runners} `auto run --once` "
        f"processes started together on {args.automations} automations that all build the "
        f"churn example, {tests}; local builder, SQLite state store, deploy step recorded "
        "instead of serving. Each round: *cold* on a fresh `AUTO_HOME` (no build environment, "
        "no repository cache, no store; the uv download cache is the machine's), then *warm* "
        "on the same home a minute later (every automation due again). "
        f"{datetime.now(UTC):%Y-%m-%d}, Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} cores shared with other work.",
        "",
        "| round | home | runs | not succeeded | run twice | wall time | exit codes | load |",
        "| ---: | --- | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for p in phases:
        codes = ", ".join(f"{c}×{n}" for c, n in sorted(Counter(p.exit_codes).items()))
        lines.append(
            f"| {p.round} | {p.kind} | {p.runs} | {len(p.failed)} | {p.duplicates} | "
            f"{p.wall:.0f} s | {codes} | {p.load:.1f} |"
        )
    for kind in ("cold", "warm"):
        chosen = [p for p in phases if p.kind == kind]
        runs = sum(p.runs for p in chosen)
        failed = sum(len(p.failed) for p in chosen)
        walls = sorted(p.wall for p in chosen)
        spread = f"{walls[0]:.0f}-{walls[-1]:.0f} s" if len(walls) > 1 else f"{walls[0]:.0f} s"
        lines.append(
            f"| all | {kind} | {runs} | {failed} | {sum(p.duplicates for p in chosen)} | "
            f"{spread} | | |"
        )
    reasons = sorted({r for p in phases for r in p.failed.values()})
    lines.append("")
    if reasons:
        lines.append("Reasons of the runs that did not succeed:")
        lines += [f"- {r}" for r in reasons]
    else:
        lines.append(
            "Every run of every round succeeded, each automation ran exactly once per slot. "
            "Before issue 14's fix, 1-2 of 25 cold runs failed in each of 4 rounds with `the "
            "build harness exited with status 1 without a result` (`No module named "
            "'qwak_auto'`: the environment's `.pth` was rewritten in place while other "
            "builds' harnesses started); warm rounds had no failures."
        )
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--runners", type=int, default=8)
    parser.add_argument("--automations", type=int, default=25)
    parser.add_argument("--without-tests", action="store_true", help="drop the repo's tests/")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args()
    phases: list[Phase] = []
    with tempfile.TemporaryDirectory(prefix="auto-bench-runners-") as tmp:
        work = Path(tmp)
        folder = setup(work, args.automations, not args.without_tests)
        for number in range(1, args.rounds + 1):
            home = work / f"home-{number}"
            for kind, slot in (("cold", SLOT), ("warm", SLOT + timedelta(minutes=1))):
                done = phase(work, home, folder, args.runners, slot, number, kind)
                phases.append(done)
                print(
                    f"round {number} {kind}: {done.runs} runs, {len(done.failed)} not "
                    f"succeeded, {done.duplicates} twice, {done.wall:.0f} s",
                    flush=True,
                )
            shutil.rmtree(home, ignore_errors=True)
    text = render(phases, args)
    print(text)
    if args.write:
        write_section("runners", text)
    failed = sum(len(p.failed) + p.duplicates for p in phases)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
