"""The report of benchmarks/serve.py: the markdown table with median (min–max) of every
figure, the verdict on the goal, the machine, and the ``## serve`` section of RESULTS.md."""

from __future__ import annotations

import os
import platform
import shutil
import statistics
from pathlib import Path

from benchmarks.serving import load, models

ROOT = Path(__file__).resolve().parents[2]

TARGETS = ("in-process", "backend", "stable", "mlflow", "backend-split", "stable-split")
LABELS = {
    "in-process": "in-process limit (1 thread, no HTTP)",
    "backend": "auto model server directly (gunicorn)",
    "stable": "auto stable address (Caddy -> gunicorn)",
    "mlflow": "`mlflow models serve`",
    "backend-split": "split cores: auto model server directly",
    "stable-split": "split cores: auto stable address",
}
# The pairs whose ratio is the goal: (stable address, backend directly), per core layout.
PAIRS = {"stable": "backend", "stable-split": "backend-split"}
LAYOUTS = {
    "stable": "all processes on every core",
    "stable-split": "the model server on half the cores, Caddy and the client on the other half",
}


def spread(values: list[float], fmt: str) -> str:
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}–{max(values):{fmt}})"


def ratios(results: dict[str, list[load.Result]], a: str, b: str) -> list[float]:
    return [x.rps / y.rps for x, y in zip(results[a], results[b], strict=True)]


def table(all_results: dict[str, dict[str, list[load.Result]]]) -> list[str]:
    lines = [
        "| model | what | requests/s | p50 (ms) | p99 (ms) | server CPU per request (ms) "
        "| proxy CPU per request (ms) | busiest server process | errors | vs backend directly "
        "| vs MLflow |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case, results in all_results.items():
        for name in TARGETS:
            runs = results[name]
            vs_backend = vs_mlflow = ""
            if name in PAIRS:
                vs_backend = spread(ratios(results, name, PAIRS[name]), ".2f") + "x"
            if name in ("backend", "stable"):
                vs_mlflow = spread(ratios(results, name, "mlflow"), ".2f") + "x"
            usage = [r.usage for r in runs if r.usage is not None]
            server = spread([u.server_ms for u in usage], ".2f") if usage else ""
            proxy = spread([u.proxy_ms for u in usage], ".2f") if name in PAIRS else ""
            busiest = spread([100 * u.busiest for u in usage], ".0f") + " %" if usage else ""
            lines.append(
                f"| {case} | {LABELS[name]} | {spread([r.rps for r in runs], '.0f')} "
                f"| {spread([r.p50_ms for r in runs], '.2f')} "
                f"| {spread([r.p99_ms for r in runs], '.2f')} | {server} | {proxy} | {busiest} "
                f"| {sum(r.errors for r in runs)} | {vs_backend} | {vs_mlflow} |"
            )
    return lines


def machine(auto_env: dict[str, str], mlflow_env: dict[str, str]) -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.machine(),
    )  # fmt: skip

    def listed(found: dict[str, str]) -> str:
        return ", ".join(f"{k} {v}" for k, v in found.items())

    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}; auto's build "
        f"environment: {listed(auto_env)}, Caddy {caddy_version()}; MLflow's: "
        f"{listed(mlflow_env)}"
    )


def caddy_version() -> str:
    from qwak_auto.deploy import traffic

    out = models.sh([traffic.caddy_binary(), "version"]).split()
    return out[0] if out else "?"


def keep_logs(home: Path, logs: Path) -> None:
    """Caddy's log and each model server's, kept beside MLflow's (the run's folder goes)."""
    logs.mkdir(parents=True, exist_ok=True)
    for old in [*logs.glob("serve-*.log"), logs / "caddy.log"]:
        old.unlink(missing_ok=True)
    found = [home / "proxy" / "caddy.log", *home.glob("deployments/*/serve.log")]
    for path in found:
        if path.is_file():
            name = "caddy.log" if path.name == "caddy.log" else f"serve-{path.parent.name}.log"
            shutil.copyfile(path, logs / name)


def spread_over_workers(result: load.Result, workers: int) -> bool:
    """Did the run keep every worker busy (no process took much more than its share)?"""
    return result.usage is not None and result.usage.busiest <= 1 / workers + 0.15


def verdicts(results: dict[str, dict[str, list[load.Result]]], workers: int) -> list[str]:
    lines = []
    for case, runs in results.items():
        for stable, backend in PAIRS.items():
            if runs.get(stable):
                lines += _verdict(case, runs, stable, backend, workers)
    return lines


def _verdict(
    case: str, runs: dict[str, list[load.Result]], stable: str, backend: str, workers: int
) -> list[str]:
    r = ratios(runs, stable, backend)
    met = "met" if statistics.median(r) >= 0.9 else "NOT met"
    share = [
        u.proxy_ms / (u.proxy_ms + u.server_ms)
        for u in (x.usage for x in runs[stable])
        if u is not None and u.proxy_ms + u.server_ms > 0
    ]
    # Where the CPU is the limit, requests/s go as 1 / (CPU per request): what the stable
    # address would serve of the backend's rate, from the CPU each side used in the round.
    pairs = list(zip(runs[backend], runs[stable], strict=True))
    bound = [
        b.usage.server_ms / (st.usage.server_ms + st.usage.proxy_ms)
        for b, st in pairs
        if b.usage is not None and st.usage is not None
    ]
    lines = [
        f"- {case}, {LAYOUTS[stable]}: stable address / backend directly {spread(r, '.2f')}x: "
        f"goal >= 0.9x {met} (median; {sum(x >= 0.9 for x in r)} of {len(r)} rounds at or "
        f"above 0.9x). Caddy's share of the server-side CPU per request: "
        f"{spread(share, '.0%')}; CPU-bound estimate (backend CPU / stable-address CPU per "
        f"request, server + Caddy): {spread(bound, '.2f')}x."
    ]
    alike = [
        st.rps / b.rps
        for b, st in pairs
        if spread_over_workers(b, workers) and spread_over_workers(st, workers)
    ]
    if alike and stable == "stable":
        lines.append(
            f"  In the {len(alike)} rounds where both sides kept every worker busy (busiest "
            f"process <= {1 / workers + 0.15:.0%}): {spread(alike, '.2f')}x."
        )
    return lines
