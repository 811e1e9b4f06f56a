"""Benchmark: `auto validate` against check-jsonschema on the same automation files.

Generates 1, 100 and 1000 realistic ~60-line automation files into benchmarks/.work/, then
runs, side by side, `auto validate` (the CLI, schema AND semantic checks) and
`check-jsonschema --schemafile schemas/automation.schema.json` (schema only) on them:
check-jsonschema as `pip install check-jsonschema` installs it (ruamel.yaml without its C
extension) and a second time with `ruamel.yaml.clib` added. Each lives in its own venv
under benchmarks/.work/. Median wall time of several runs; results go to the `## validate`
section of benchmarks/RESULTS.md.

Target (issue #3): at 1000 files, auto >= 3x check-jsonschema's files/s, and single-file
start-up no slower.

Run: .venv/bin/python benchmarks/validate.py [--runs 5] [--no-write]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import write_section  # noqa: E402

WORK = ROOT / "benchmarks" / ".work"
SCHEMA = ROOT / "schemas" / "automation.schema.json"
AUTO = Path(sys.executable).parent / "auto"
SIZES = (1, 100, 1000)

TRIGGERS = (
    """trigger:
  scheduled:
    cron: "{minute} {hour} * * {dow}"
    timezone: Europe/Berlin
    missed_runs: latest
    starting_deadline: 2h""",
    """trigger:
  scheduled:
    interval: {hour}h
    timezone: UTC""",
    """trigger:
  metric_based:
    name: drift_{i}
    sql_query: "SELECT avg(score) FROM predictions WHERE model_id = 'm{i}'"
    direction: ABOVE
    threshold: "0.3"
    override_cron: "*/30 * * * *"
    cool_down: 12h""",
)

TEMPLATE = """# yaml-language-server: $schema=../../../schemas/automation.schema.json
# Re-train model m{i} and deploy it when the new build beats the bar.
name: retrain_model_{i:05d}
model_id: model_{i:05d}
description: Re-train of model {i} on the last 90 days of data
enabled: true
execute_immediately: false
concurrency: forbid
{trigger}
action:
  build_deploy:
    build_spec:
      git_uri: https://github.com/acme/model-{i}.git#models/m{i}
      git_branch: main
      git_access_token_secret: github_ml_token
      main_dir: main
      dependency_file_path: main/requirements.txt
      tags: [weekly, team-{team}]
      parameters: {{n_estimators: "300", max_depth: "8"}}
      env_vars: ["LOG_LEVEL=info", "FEATURE_SET=v{team}"]
      resources:
        cpu: {{cpu_fraction: 2, memory: 4Gi}}
    deployment_condition:
      build_metric:
        metric_name: f1_score
        direction: ABOVE
        threshold: "0.{threshold}"
        compare_to: deployed
        min_delta: "0.01"
    deployment_spec:
      number_of_http_server_workers: 2
      http_request_timeout_ms: 5000
      daemon_mode: false
      max_batch_size: 1
      deployment_process_timeout_limit: 600
      number_of_pods: 2
      cpu_fraction: 2
      memory: 2Gi
      variation_name: default
      env_vars: ["MODEL_NAME=m{i}"]
      auto_scale_config:
        min_replica_count: 1
        max_replica_count: 4
        polling_interval: 30
        cool_down_period: 300
        triggers:
          - prometheus_trigger:
              query_spec:
                metric_type: latency
                aggregation_type: max
                time_period: 4
              threshold: 60
on_success:
  slack: {{webhook_secret: slack_ml_alerts}}
on_error:
  webhook: {{url: "https://hooks.example.com/ml/{i}", http_method: POST}}
"""


def generate(count: int) -> list[str]:
    folder = WORK / f"files-{count}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    files = []
    for i in range(count):
        trigger = TRIGGERS[i % len(TRIGGERS)].format(i=i, minute=i % 60, hour=1 + i % 23, dow=i % 7)
        text = TEMPLATE.format(i=i, team=i % 9, threshold=50 + i % 40, trigger=trigger)
        path = folder / f"automation_{i:05d}.yaml"
        path.write_text(text, encoding="utf-8")
        files.append(str(path))
    return files


def venv(name: str, packages: list[str]) -> Path:
    folder = WORK / name
    exe = folder / "bin" / "check-jsonschema"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, timeout=300)
        pip = [str(folder / "bin" / "pip"), "install", "-q", *packages]
        subprocess.run(pip, check=True, timeout=600)
    return exe


def once(argv: list[str], expect_ok: bool = True) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    seconds = time.perf_counter() - start
    if expect_ok and done.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({done.returncode}):\n{done.stdout[-2000:]}")
    return seconds


def spread(values: list[float], fmt: str) -> str:
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}–{max(values):{fmt}})"


def version(exe: Path) -> str:
    done = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    return done.stdout.strip().split()[-1] if done.stdout.strip() else "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    tools = {
        "auto validate": [str(AUTO), "validate"],
        "check-jsonschema (pip default, pure-Python ruamel)": [
            str(venv("venv-cj", ["check-jsonschema"])),
            "--schemafile",
            str(SCHEMA),
        ],
        "check-jsonschema + ruamel.yaml.clib": [
            str(venv("venv-cj-clib", ["check-jsonschema", "ruamel.yaml.clib"])),
            "--schemafile",
            str(SCHEMA),
        ],
    }
    cj_version = version(WORK / "venv-cj" / "bin" / "check-jsonschema")
    # Interleaved: each run times every tool once, in turn, so load from other work falls on
    # all of them alike; per-run ratios are then compared.
    results: dict[str, dict[int, list[float]]] = {name: {n: [] for n in SIZES} for name in tools}
    for count in SIZES:
        files = generate(count)
        for _ in range(args.runs):
            for name, argv in tools.items():
                results[name][count].append(once([*argv, *files]))
        for name in tools:
            seconds = statistics.median(results[name][count])
            print(f"{name:55s} {count:5d} files  {seconds:7.3f} s  {count / seconds:8.1f} files/s")
    hazards = measure_hazards()
    table = render(results, args.runs, cj_version) + "\n" + render_hazards(hazards)
    print(table)
    if not args.no_write:
        write_section("validate", table)
    return 0


def render(results: dict[str, dict[int, list[float]]], runs: int, cj_version: str) -> str:
    auto = results["auto validate"]
    cj = results["check-jsonschema (pip default, pure-Python ruamel)"]
    clib = results["check-jsonschema + ruamel.yaml.clib"]

    def per_run(a: list[float], b: list[float]) -> list[float]:
        return [x / y for x, y in zip(a, b, strict=True)]

    lines = [
        "## validate",
        "",
        f"`benchmarks/validate.py`: generated ~60-line automation files, {runs} runs, each "
        "timing every CLI once as a subprocess, in turn; median (min–max), ratios per run; "
        f"Python {platform.python_version()}, {platform.machine()}, check-jsonschema "
        f"{cj_version}. `auto validate` runs the schema AND the semantic checks (cron, SQL, "
        "git_uri, units, unique names); check-jsonschema runs the schema only. Target: at 1000 "
        "files auto >= 3x check-jsonschema's files/s; single-file start-up no slower.",
        "",
        "| tool | 1 file (start-up) | 100 files | 1000 files | files/s at 1000 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, row in results.items():
        cells = [spread([t * 1000 for t in row[n]], ".0f") + " ms" for n in SIZES]
        rate = spread([1000 / t for t in row[1000]], ".0f")
        lines.append(f"| {name} | {' | '.join(cells)} | {rate} |")
    ratio = spread(per_run(cj[1000], auto[1000]), ".1f")
    with_clib = spread(per_run(clib[1000], auto[1000]), ".1f")
    start = spread(per_run(cj[1], auto[1]), ".2f")
    lines += [
        "",
        f"At 1000 files auto validates {ratio}x as many files per second as check-jsonschema "
        f"as pip installs it ({with_clib}x check-jsonschema with the C loader added); "
        f"single-file start-up is {start}x as fast. Times include process start-up.",
        "",
        "Why: (1) libyaml (ruamel.yaml.clib) emits parse events in C and one flat Python loop "
        "builds plain data from them; positions are not recorded on this fast path but "
        "computed on first use, i.e. only for a document that has a problem (a second, careful "
        "pass that also explains every YAML hazard). (2) The JSON Schema is compiled once into "
        "closures that answer valid/invalid about 10x faster than jsonschema; jsonschema runs "
        "only on documents that fail, to explain why (a property test keeps both in agreement). "
        "(3) cron and time-zone answers are cached per distinct value. (4) jsonschema, croniter "
        "and rich are imported only when needed; most of the single-file start-up is the "
        "interpreter and the CLI framework (typer 0.29 alone imports pydantic for its "
        "parameter coercion, about 45 ms of `python -X importtime`).",
        "",
    ]
    return "\n".join(lines)


def measure_hazards() -> dict[str, float]:
    """Wall time of `auto validate` on files that must be refused quickly (spec: "within a
    second or two"), each the only file of the run, so start-up is included."""
    folder = WORK / "hazards"
    folder.mkdir(parents=True, exist_ok=True)
    bomb = ["a: &a [" + ", ".join(["lol"] * 10) + "]"]
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        bomb.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    cases = {
        "alias bomb (10^9 values if expanded)": "\n".join(bomb) + "\n",
        "10,000 levels of nesting": "a: " + "[" * 10_000 + "]" * 10_000 + "\n",
        "500,000 open brackets (1 MB)": "a: " + "[" * 500_000 + "\n",
        "5 MiB file": "a: 1\n" + "# filler\n" * (5 * 1024 * 1024 // 9),
    }
    out = {}
    for name, text in cases.items():
        path = folder / (name.split()[0].replace(",", "") + ".yaml")
        path.write_text(text, encoding="utf-8")
        start = time.perf_counter()
        done = subprocess.run(
            [str(AUTO), "validate", str(path)], capture_output=True, text=True, timeout=120
        )
        out[name] = time.perf_counter() - start
        if done.returncode != 1:
            raise SystemExit(f"hazard {name!r} was not refused:\n{done.stdout}")
        print(f"hazard {name:45s} {out[name]:7.3f} s")
    return out


def render_hazards(hazards: dict[str, float]) -> str:
    lines = [
        "Hazards (SPEC: refused within a second or two, never after a long parse), one file "
        "per run, start-up included:",
        "",
        "| hazard, refused with a problem (exit 1) | wall time of `auto validate` |",
    ]
    lines.append("| --- | --- |")
    lines += [f"| {name} | {seconds * 1000:.0f} ms |" for name, seconds in hazards.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
