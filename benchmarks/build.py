"""Build speed, side by side (issue 5):

    .venv/bin/python benchmarks/build.py [--repeat 3] [--write]

(a) a cold build environment for the churn example's requirements: uv (warm uv cache, the
    usual case on a runner, and an empty uv cache) against ``python -m venv`` + pip.
    Target: uv >= 3x faster.
(b) a warm re-build (same dependencies, a new commit: fetch + build in the cached
    environment) against running the training directly in that environment
    (``load_model().build()``). Target <= 1.3x. Reported without the repository's tests
    (what the target compares) and with them (unit tests + serving the model for tests/it).
(c) re-running the source fetch of a repository with one new commit against a fresh full
    clone of it. Target <= 0.2x.

Median (min–max) of ``--repeat`` runs ((b) ``--repeat``+2 and (c) 3x``--repeat`` pairs,
the two sides interleaved, ratios per pair). ``--write`` replaces the ``## build`` section
of RESULTS.md.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import write_section  # noqa: E402

CHURN = ROOT / "examples" / "model-repos" / "churn"


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.invalid",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True, timeout=300
    )
    return done.stdout.strip()


def make_repo(path: Path, history: int = 0) -> None:
    """The churn example as a git repository, with ``history`` earlier data refreshes, each
    adding 20 rows (written with ``git fast-import``; real model repositories that keep
    their training data have such a history)."""
    shutil.copytree(CHURN, path, ignore=shutil.ignore_patterns("__pycache__"))
    git(path, "init", "--quiet", "--initial-branch=main")
    if history:
        data = (CHURN / "main" / "data.csv").read_text().splitlines()
        stream = []
        rows = data[1:]
        for i in range(history):
            rows = rows + [rows[(i * 37 + j) % len(rows)] for j in range(20)]  # new customers
            blob = ("\n".join([data[0], *rows]) + "\n").encode()
            stream.append(b"commit refs/heads/main\n")
            stream.append(f"committer bench <b@example.invalid> {1700000000 + i} +0000\n".encode())
            stream.append(f"data {len(f'refresh {i}')}\nrefresh {i}\n".encode())
            stream.append(
                f"M 100644 inline main/data.csv\ndata {len(blob)}\n".encode() + blob + b"\n"
            )
        subprocess.run(
            ["git", "fast-import", "--quiet"],
            cwd=path,
            input=b"".join(stream),
            check=True,
            timeout=600,
        )
        git(path, "reset", "--quiet", "--mixed", "refs/heads/main", "--")
    git(path, "add", "-A")
    git(path, "commit", "--quiet", "-m", "the example as it is now")


def new_commit(path: Path, n: int) -> None:
    (path / "main" / "NOTES.md").write_text(f"refresh {n}\n")
    git(path, "add", "-A")
    git(path, "commit", "--quiet", "-m", f"refresh {n}")


def samples(fn: Callable[[], float], repeat: int) -> list[float]:
    return [fn() for _ in range(repeat)]


def spread(values: list[float], fmt: str) -> str:
    """median (min–max)"""
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}–{max(values):{fmt}})"


def per_pair(a: list[float], b: list[float]) -> list[float]:
    return [x / y for x, y in zip(a, b, strict=True)]


def med(values: list[float]) -> float:
    return statistics.median(values)


def context(home: Path, uri: str, store: object, run_tests_params: dict[str, str] | None = None):
    from qwak_auto.automation.model import Automation, BuildDeploy, BuildSpec, NoneTrigger
    from qwak_auto.config import Config
    from qwak_auto.run.contracts import RunContext

    spec = BuildSpec(git_uri=uri, parameters=run_tests_params or {})
    automation = Automation(
        name="churn-bench",
        model_id="churn",
        trigger=NoneTrigger(),
        action=BuildDeploy(build_spec=spec),
        spec_hash="bench",
    )
    return RunContext(
        run_id="bench",
        automation=automation,
        config=Config(home=home, state_url="", analytics_url=""),
        store=store,  # type: ignore[arg-type]
        secrets=lambda _name: "",
        trigger_reason="bench",
        started_at=datetime.now(UTC),
        log_dir=home / "runs",
        environ=dict(os.environ),
    )


# ---------------------------------------------------------------- (a)


def bench_env(work: Path, repeat: int) -> dict[str, list[float]]:
    from qwak_auto.builders.deps import detect
    from qwak_auto.builders.env import ensure_env

    deps = detect(CHURN, CHURN / "main", None)

    def once(use_uv: bool, cold_cache: bool) -> float:
        home = Path(tempfile.mkdtemp(dir=work))
        environ = dict(os.environ)
        if cold_cache:
            environ["UV_CACHE_DIR"] = str(home / "uv-cache")
        started = time.perf_counter()
        ensure_env(deps, home=home, out=io.StringIO(), environ=environ, use_uv=use_uv)
        elapsed = time.perf_counter() - started
        shutil.rmtree(home)
        return elapsed

    once(True, False)  # warm uv's cache
    return {
        "uv": samples(lambda: once(True, False), repeat),
        "uv_cold_cache": samples(lambda: once(True, True), repeat),
        "pip": samples(lambda: once(False, False), max(1, min(repeat, 2))),
    }


# ---------------------------------------------------------------- (b)


def bench_rebuild(work: Path, repeat: int) -> dict[str, list[float]]:
    from qwak_auto.builders.local import LocalBuilder
    from qwak_auto.source import GitSource
    from qwak_auto.state import open_url

    home = work / "rebuild-home"
    repo = work / "rebuild-repo"
    make_repo(repo)
    store = open_url(f"sqlite:///{work / 'rebuild.db'}")
    ctx = context(home, f"file://{repo}", store)
    spec = ctx.automation.action.build_spec
    first = GitSource().fetch(spec, ctx)
    LocalBuilder(echo=False).build(first, ctx)  # creates the environment
    counter = iter(range(1000))

    def rebuild(tests: bool) -> float:
        new_commit(repo, next(counter))
        started = time.perf_counter()
        checkout = GitSource().fetch(spec, ctx)
        LocalBuilder(echo=False, run_tests=tests).build(checkout, ctx)
        return time.perf_counter() - started

    from qwak_auto.builders.deps import detect

    python = (
        home / "cache" / "envs" / detect(CHURN, CHURN / "main", None).digest() / "bin" / "python"
    )
    code = first.project_dir
    script = (
        "import os, sys; sys.path.insert(0, sys.argv[1]); os.chdir(sys.argv[1] + '/main');"
        "from main import load_model; load_model().build()"
    )

    def direct() -> float:
        started = time.perf_counter()
        subprocess.run(
            [str(python), "-c", script, str(code)], check=True, capture_output=True, timeout=600
        )
        return time.perf_counter() - started

    # Interleaved, so a load change on the machine hits both sides alike.
    pairs = [(direct(), rebuild(False)) for _ in range(repeat)]
    result = {
        "direct": [p[0] for p in pairs],
        "rebuild_no_tests": [p[1] for p in pairs],
        "rebuild_with_tests": samples(lambda: rebuild(True), max(1, repeat // 2)),
    }
    store.close()
    return result


# ---------------------------------------------------------------- (c)


def bench_fetch(work: Path, repeat: int, history: int) -> dict[str, list[float]]:
    from qwak_auto.source import GitSource

    home = work / "fetch-home"
    repo = work / "fetch-repo"
    make_repo(repo, history=history)
    ctx = context(home, f"file://{repo}", None)
    spec = ctx.automation.action.build_spec
    GitSource().fetch(spec, ctx)
    counter = iter(range(1000, 2000))

    def refetch() -> float:
        new_commit(repo, next(counter))
        started = time.perf_counter()
        GitSource().fetch(spec, ctx)
        return time.perf_counter() - started

    def clone() -> float:
        target = work / f"clone-{time.monotonic_ns()}"
        started = time.perf_counter()
        git(work, "clone", "--quiet", "--no-local", "--", f"file://{repo}", str(target))
        elapsed = time.perf_counter() - started
        shutil.rmtree(target)
        return elapsed

    size = sum(p.stat().st_size for p in (repo / ".git").rglob("*") if p.is_file())
    pairs = [(refetch(), clone()) for _ in range(repeat)]  # interleaved, as in (b)
    return {
        "refetch": [p[0] for p in pairs],
        "clone": [p[1] for p in pairs],
        "git_mb": [size / 1e6],
    }


# ---------------------------------------------------------------- report


def report(
    a: dict[str, list[float]],
    b: dict[str, list[float]],
    c: dict[str, list[float]],
    c_small: dict[str, list[float]],
    history: int,
    repeat: int,
) -> str:
    def ok(flag: bool) -> str:
        return "met" if flag else "NOT met"

    # (a): pip runs fewer times than uv, so the ratio is of the medians; (b) and (c): per
    # interleaved pair, then median (min–max).
    uv_x = med(a["pip"]) / med(a["uv"])
    uv_cold_x = med(a["pip"]) / med(a["uv_cold_cache"])
    rb_pairs = per_pair(b["rebuild_no_tests"], b["direct"])
    rb = med(rb_pairs)
    rbt = med(b["rebuild_with_tests"]) / med(b["direct"])
    fx_pairs = per_pair(c["refetch"], c["clone"])
    fxs_pairs = per_pair(c_small["refetch"], c_small["clone"])
    fx, fxs = med(fx_pairs), med(fxs_pairs)
    lines = [
        "## build",
        "",
        f"`benchmarks/build.py`: the churn example (`examples/model-repos/churn`, scikit-learn + "
        f"pandas), median (min–max) of {repeat} runs ((a) pip {max(1, min(repeat, 2))}, (b) "
        f"{repeat + 2} pairs, (c) {repeat * 3} pairs, the two sides interleaved; ratios per "
        f"pair), Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d}.",
        "",
        "| measurement | time | ratio | target |",
        "| --- | --- | --- | --- |",
        f"| (a) cold environment, `python -m venv` + pip | {spread(a['pip'], '.2f')} s | 1.00x | |",
        f"| (a) cold environment, uv (warm uv cache) | {spread(a['uv'], '.2f')} s "
        f"| {uv_x:.1f}x faster "
        f"| >= 3x: {ok(uv_x >= 3)} |",
        f"| (a) cold environment, uv (empty uv cache) | {spread(a['uv_cold_cache'], '.2f')} s | "
        f"{uv_cold_x:.1f}x faster | >= 3x: {ok(uv_cold_x >= 3)} |",
        f"| (b) training directly in the environment (`load_model().build()`) | "
        f"{spread(b['direct'], '.2f')} s | 1.00x | |",
        f"| (b) warm re-build, new commit (fetch + build + save + provenance) | "
        f"{spread(b['rebuild_no_tests'], '.2f')} s | {spread(rb_pairs, '.2f')}x "
        f"| <= 1.3x: {ok(rb <= 1.3)} |",
        f"| (b) the same with the repository's tests (tests/ + serving for tests/it) | "
        f"{spread(b['rebuild_with_tests'], '.2f')} s | {rbt:.2f}x "
        "| (not the target's comparison) |",
        f"| (c) fresh full clone ({history + 1} commits, {c['git_mb'][0]:.1f} MB .git) | "
        f"{spread(c['clone'], '.3f')} s | 1.00x | |",
        f"| (c) re-fetch of the cached repository, one new commit | {spread(c['refetch'], '.3f')} "
        f"s | {spread(fx_pairs, '.2f')}x | <= 0.2x: {ok(fx <= 0.2)} |",
        f"| (c) fresh full clone of the example alone (1 commit, "
        f"{c_small['git_mb'][0]:.1f} MB .git) | "
        f"{spread(c_small['clone'], '.3f')} s | 1.00x | |",
        f"| (c) re-fetch of it, one new commit | {spread(c_small['refetch'], '.3f')} s "
        f"| {spread(fxs_pairs, '.2f')}x | <= 0.2x: {ok(fxs <= 0.2)} |",
        "",
        "Notes: pip's download cache is not written on this machine, so every pip install "
        "downloads again (LOCAL-SERVICES.md); uv's cache works, which is the usual case on a "
        "runner. The warm re-build is dominated by the training itself (importing pandas and "
        "scikit-learn, fitting); auto's own part is git fetch + checkout, the dependency hash "
        "lookup, the harness start and cloudpickle. With tests, the repository's unit tests "
        "run in their own pytest process (which trains again through `run_local`) and the "
        "model is served with gunicorn for `tests/it`, as Qwak does. Both sides of (b) start "
        "a fresh interpreter that imports pandas and "
        "scikit-learn and trains; on a busy shared machine run-to-run spread (up to 20 %) can "
        "exceed auto's overhead, so a ratio near 1.0 reads as no measurable overhead. "
        "(c): the re-fetch is two git processes (fetch, checkout of the new commit with a "
        "temporary index), 15-35 ms here; a fresh clone of a tiny repository over the "
        "local file:// transport costs little more than that, so the target is met for a "
        "repository with a history (which is what a re-fetch saves: only new objects travel) "
        "and not for a one-commit one.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--history", type=int, default=300, help="commits in the fetch repo")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="auto-bench-build-") as tmp:
        work = Path(tmp)
        os.environ["NO_COLOR"] = "1"
        print("(c) fetch ...", flush=True)
        c = bench_fetch(work, args.repeat * 3, args.history)
        c_small = bench_fetch(work / "small", args.repeat * 3, 0)
        print("(a) environments ...", flush=True)
        a = bench_env(work, args.repeat)
        print("(b) re-build ...", flush=True)
        b = bench_rebuild(work, args.repeat + 2)
    text = report(a, b, c, c_small, args.history, args.repeat)
    print(text)
    if args.write:
        write_section("build", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
