"""Serving speed, side by side in one run (issue 15):

    .venv/bin/python benchmarks/serve.py [--workers 2] [--connections 4] [--seconds 5]
        [--rounds 10] [--client auto|wrk|python] [--write]

Two models, each built from a git repository by auto's local builder and deployed by the
local deployer (``deploy_build``: gunicorn in the build's environment behind the home's Caddy,
as ``auto deploy`` serves it):

- ``churn``: the example repository (examples/model-repos/churn), a 60-tree scikit-learn
  RandomForest; the request is model-bound.
- ``echo``: a Qwak model whose ``predict`` returns its input; the request is overhead-bound.

For each model, four things are measured:

- the in-process limit: parse + predict + serialise in a loop in one thread (auto's own
  request path, no HTTP) in the build's environment;
- auto's model server directly (the gunicorn backend's private port);
- the stable address (Caddy in front of that backend): goal >= 0.9x the backend's requests/s;
- the backend and the stable address again with the cores split: the model server's processes
  on the first half of the cores, Caddy and the load client on the other half (a host where the
  proxy does not take its CPU from the model server; ``cpu.split`` pins every thread, and puts
  everything back on every core afterwards);
- ``mlflow models serve -m MODEL --env-manager local -w WORKERS`` serving the same fitted
  model (the same estimator and the same predict code in a ``pyfunc.PythonModel``), in an
  environment of its own with the build environment's pandas, numpy and scikit-learn versions
  and MLflow from pyproject's ``bench`` extra (full MLflow pins an older gunicorn and
  mlflow-skinny, so it is kept out of the project's .venv).

Load: ``wrk`` (Debian's package) when it is on PATH, else a bounded Python client (one
process per connection, keep-alive); which one was used is printed. Every target gets a
warm-up that is not counted; then ``--rounds`` rounds, each running every target once for
``--seconds`` in a rotating order (backend and stable address back to back). Reported: median
and min-max of requests/s, p50 and p99, of the per-round ratios (stable address / backend,
auto / MLflow), and of the CPU time per request of the server's processes and of Caddy
(from /proc), with the busiest server process's share of it (how evenly the workers shared
the connections). ``--write`` replaces the ``## serve`` section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import write_section  # noqa: E402
from benchmarks.serving import cpu, load, models, peers, report  # noqa: E402

WORK = ROOT / "benchmarks" / ".work" / "serve"
CHURN = ROOT / "examples" / "model-repos" / "churn"
ROW = json.loads((CHURN / "main" / "sample_request.json").read_text())[0]

# auto's request path without HTTP, as serve/app.py runs it: parse, predict, serialise.
IN_PROCESS = """
import json, sys, time
from pathlib import Path
from qwak_auto.serve import adapters, outputs
from qwak_auto.serve.worker import load_model, prepare_process
artifact, body, seconds, warm = Path(sys.argv[1]), sys.argv[2].encode(), *map(float, sys.argv[3:5])
prepare_process(artifact)
model = load_model(artifact)
iface = adapters.interface_of(model)
def once():
    request = adapters.read_request(iface, "v1", body, "application/json", {})
    return outputs.write_output(iface, model.predict(request.model_input())).body
end = time.perf_counter() + warm
while time.perf_counter() < end:
    once()
times = []
start = time.perf_counter()
end = start + seconds
while time.perf_counter() < end:
    t = time.perf_counter()
    once()
    times.append(time.perf_counter() - t)
elapsed = time.perf_counter() - start
print(json.dumps({"requests": len(times), "seconds": elapsed, "latencies": times}))
"""

# ------------------------------------------------------------------ measuring


def in_process(built, body: str, seconds: float, warm: float) -> load.Result:
    argv = [str(built.python), "-c", IN_PROCESS, str(built.artifact_dir), body]
    out = models.sh([*argv, str(seconds), str(warm)])
    data = json.loads(out.strip().splitlines()[-1])
    return load.Result.of(data["requests"], data["seconds"], data["latencies"], 0)


def answer(url: str, body: str) -> Any:
    request = urllib.request.Request(
        url, body.encode(), {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=120) as resp:
        return json.loads(resp.read())


def close(a: Any, b: Any) -> bool:
    """Equal answers, floats to 9 significant digits (auto writes 10, MLflow 17)."""
    if isinstance(a, float | int) and isinstance(b, float | int):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    return bool(a == b)


@dataclass(frozen=True)
class Target:
    run: Callable[[float], load.Result]
    groups: cpu.Groups | None = None  # the processes whose CPU is counted
    split: bool = False  # the server on half the cores, the proxy and the client on the rest

    def __call__(self, seconds: float) -> load.Result:
        if self.groups is None:
            return self.run(seconds)
        groups = self.groups()
        layout = cpu.split(groups["server"], groups.get("proxy", ())) if self.split else None
        with layout or contextlib.nullcontext():
            meter = cpu.Meter(lambda: groups)
            result = self.run(seconds)
            return replace(result, usage=meter.usage(result.requests))


# Each round runs these in a rotating order; backend and stable always back to back (their
# ratio is the goal), which of them first alternating.
UNITS = (("in-process",), ("backend", "stable"), ("mlflow",), ("backend-split", "stable-split"))


def measure(
    targets: dict[str, Target], rounds: int, seconds: float, warm: float
) -> dict[str, list[load.Result]]:
    for name, target in targets.items():
        target(warm)  # warm-up: not counted
        print(f"  warmed up {name}", flush=True)
    results: dict[str, list[load.Result]] = {name: [] for name in targets}
    for r in range(rounds):
        k = r % len(UNITS)
        for unit in UNITS[k:] + UNITS[:k]:
            for name in unit if r % 2 == 0 else unit[::-1]:
                result = targets[name](seconds)
                results[name].append(result)
                load1 = os.getloadavg()[0]
                print(f"  round {r + 1} {name:10} {result.line()}  load {load1:.1f}", flush=True)
    return results


def run_case(built, ctx, args: argparse.Namespace, mlflow: peers.Mlflow):
    """Deploy ``built`` as `auto deploy` does, start MLflow on the same model, measure."""
    from qwak_auto.deploy import traffic
    from qwak_auto.deploy.local import deploy_build, undeploy
    from qwak_auto.deploy.settings import ServeSettings
    from qwak_auto.deploy.settings import Target as Where

    name = built.model_id
    where = Where(model_id=name, environment="bench", variation="default")
    settings = ServeSettings(workers=args.workers, ready_timeout=300)
    environ = dict(os.environ)
    store, home = ctx.store, ctx.config.home
    outcome = deploy_build(built, where, settings, store=store, config=ctx.config, environ=environ)
    detail = store.serving(name, "bench", "default").detail
    backend = f"http://127.0.0.1:{detail['backend_port']}/v1/{name}/predict"
    stable = f"{outcome.address}/v1/{name}/predict"
    print(f"{name}: stable address {stable}, backend {backend}", flush=True)
    body = json.dumps([ROW])
    server = mlflow.serve(name, args.workers)
    peer = f"http://127.0.0.1:{server.port}/invocations"
    peer_body = json.dumps({"dataframe_records": [ROW]})
    client = load.client(args.client, args.connections)
    gunicorn, caddy = int(detail["pid"]), traffic.pid(home) or 0
    targets = {
        "in-process": Target(lambda s: in_process(built, body, s, 1.0)),
        "backend": Target(
            lambda s: client(backend, body, s), lambda: {"server": cpu.tree(gunicorn)}
        ),
        "stable": Target(
            lambda s: client(stable, body, s),
            lambda: {"server": cpu.tree(gunicorn), "proxy": [caddy]},
        ),
        "backend-split": Target(
            lambda s: client(backend, body, s), lambda: {"server": cpu.tree(gunicorn)}, True
        ),
        "stable-split": Target(
            lambda s: client(stable, body, s),
            lambda: {"server": cpu.tree(gunicorn), "proxy": [caddy]},
            True,
        ),
        "mlflow": Target(
            lambda s: client(peer, peer_body, s), lambda: {"server": cpu.tree(server.proc.pid)}
        ),
    }
    try:
        auto_answer = answer(backend, body)
        same = [answer(stable, body), answer(peer, peer_body)["predictions"]]
        if not all(close(other, auto_answer) for other in same):
            raise SystemExit(f"{name}: the answers differ: {auto_answer} / {same}")
        print(f"{name}: all three answer {auto_answer}", flush=True)
        return measure(targets, args.rounds, args.seconds, args.warmup)
    finally:
        server.stop()
        undeploy(store, where, environ, home)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers on the way out
    from qwak_auto.state import open_url

    WORK.mkdir(parents=True, exist_ok=True)
    before = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M")
    results: dict[str, dict[str, list[load.Result]]] = {}
    with tempfile.TemporaryDirectory(prefix="run-", dir=WORK) as tmp:
        home = Path(tmp) / ".auto"
        store = open_url(f"sqlite:///{Path(tmp) / 'state.db'}")
        print("building churn and echo with the local builder ...", flush=True)
        churn, churn_ctx = models.build(home, store, "churn", CHURN, {})
        echo, echo_ctx = models.build(home, store, "echo", None, models.ECHO_REPO)
        print("MLflow: its environment and models ...", flush=True)
        mlflow = peers.Mlflow(WORK, Path(tmp), churn.python)
        mlflow.save_models(churn.artifact_dir, churn.python)
        versions = (peers.versions(churn.python), mlflow.versions())
        try:
            for built, ctx in ((churn, churn_ctx), (echo, echo_ctx)):
                results[built.model_id] = run_case(built, ctx, args, mlflow)
        finally:
            from qwak_auto.deploy import traffic

            traffic.stop(home)
            store.close()
            report.keep_logs(home, WORK / "logs")
    after = os.getloadavg()
    client = load.describe(args.client, args.connections)
    text = "\n".join(
        [
            "## serve",
            "",
            f"`.venv/bin/python benchmarks/serve.py --workers {args.workers} --connections "
            f"{args.connections} --seconds {args.seconds:g} --rounds {args.rounds}` "
            f"({started}): {args.rounds} rounds of {args.seconds:g} s per target after a "
            f"{args.warmup:g} s warm-up each, the targets in rotating order; {args.workers} "
            f"workers on both sides; load: {client} on 127.0.0.1. Figures: median "
            "(min–max) over the rounds; ratios are per round (the two sides measured "
            "back to back), then median (min–max).",
            "",
            f"Machine: {report.machine(*versions)}; load average {before[0]:.2f} before, "
            f"{after[0]:.2f} after.",
            "",
            *report.table(results),
            "",
            *report.verdicts(results, args.workers),
            "",
        ]
    )
    print()
    print(text)
    if args.write:
        write_section("serve", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
