"""Serving speed: the example churn model served by `auto` and by `mlflow models serve`.

Same model object (the example repository's ChurnModel, built once and cloudpickled), same
number of workers, loopback only, side by side in one run, alternating. Load comes from
`wrk` (Debian: apt-get install wrk) with a fixed number of connections. Both servers run in
their own virtual environment under benchmarks/.work/ (MLflow with --env-manager local).

    .venv/bin/python benchmarks/serve.py [--workers 2] [--seconds 10] [--rounds 2]

auto is measured as deployed: prediction logging on (sample rate 1.0); `auto-proxy` is the
same server reached through the local deployer's stable-address proxy.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work" / "serve"
EXAMPLE = ROOT / "examples" / "model-repos" / "churn"
SHIM = ROOT / "qwak_auto" / "runtime" / "shim"
UV = Path(sys.executable).with_name("uv")

ROW = {
    "Account_Length": 140.0,
    "Intl_Plan": 0.0,
    "VMail_Message": 0.0,
    "Day_Mins": 149.8,
    "Day_Calls": 134.0,
    "Eve_Mins": 164.4,
    "Night_Mins": 294.7,
    "Intl_Mins": 8.1,
    "CustServ_Calls": 4.0,
    "Agitation_Level": 80.0,
}

MLFLOW_SAVE = """
import sys, cloudpickle, mlflow.pyfunc
artifact, code, dest = sys.argv[1:4]
sys.path.insert(0, code)

class Churn(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        import cloudpickle
        with open(context.artifacts["model"], "rb") as handle:
            self.model = cloudpickle.load(handle)

    def predict(self, context, model_input, params=None):
        return self.model.predict(model_input)

mlflow.pyfunc.save_model(dest, python_model=Churn(), artifacts={"model": artifact + "/model.pkl"})
"""

BUILD = """
import sys, cloudpickle
code, out = sys.argv[1:3]
sys.path.insert(0, code)
from main import load_model
model = load_model()
model.build()
with open(out, "wb") as handle:
    cloudpickle.dump(model, handle)
"""


def sh(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=True, text=True, capture_output=True, timeout=900)


def venv(name: str, packages: list[str], paths: list[Path]) -> Path:
    env = WORK / name
    python = env / "bin" / "python"
    if not python.exists():
        sh([str(UV), "venv", "-q", str(env), "--python", sys.executable])
    sh([str(UV), "pip", "install", "-q", "--python", str(python), *packages])
    site = next((env / "lib").glob("python3*/site-packages"))
    (site / "bench_paths.pth").write_text("".join(f"{p}\n" for p in paths))
    return python


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait(url: str, proc: subprocess.Popen[bytes], limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({proc.returncode}) before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def stop_by_cmdline(marker: str) -> None:
    """MLflow starts uvicorn in a session of its own: find it by its command line."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline and "uvicorn" in cmdline:
            with contextlib.suppress(OSError):
                os.kill(int(entry.name), signal.SIGTERM)


def wrk(url: str, body: str, seconds: int, connections: int) -> dict[str, float]:
    script = Path(tempfile.mkstemp(suffix=".lua", dir=WORK)[1])
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("RESULT %d %d %d %d %d %d\\n", summary.requests,'
        " summary.duration, summary.errors.status, summary.errors.connect +"
        " summary.errors.read + summary.errors.write + summary.errors.timeout,"
        " latency:percentile(50), latency:percentile(99)))\n"
        "end\n"
    )
    try:
        out = sh(
            ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "-s", str(script), url]
        ).stdout
    finally:
        script.unlink()
    line = next(line for line in out.splitlines() if line.startswith("RESULT"))
    requests, duration_us, status_errors, socket_errors, p50, p99 = map(int, line.split()[1:])
    return {
        "rps": requests / (duration_us / 1e6),
        "p50_ms": p50 / 1000,
        "p99_ms": p99 / 1000,
        "errors": status_errors + socket_errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    WORK.mkdir(parents=True, exist_ok=True)
    common = ["pandas", "cloudpickle", "scikit-learn"]
    auto_py = venv("auto-env", [*common, "gunicorn"], [ROOT, SHIM])
    artifact = WORK / "artifact"
    mlflow_py = venv("mlflow-env", [*common, "mlflow"], [SHIM, artifact / "code"])

    shutil.rmtree(artifact, ignore_errors=True)
    shutil.copytree(EXAMPLE, artifact / "code")
    sh([str(auto_py), "-c", BUILD, str(artifact / "code"), str(artifact / "model.pkl")])
    mlflow_model = WORK / "mlflow-model"
    shutil.rmtree(mlflow_model, ignore_errors=True)
    sh(
        [
            str(mlflow_py),
            "-c",
            MLFLOW_SAVE,
            str(artifact),
            str(artifact / "code"),
            str(mlflow_model),
        ]
    )

    auto_port, mlflow_port = free_port(), free_port()
    preds = WORK / "predictions"
    shutil.rmtree(preds, ignore_errors=True)
    auto_argv = [
        str(auto_py), "-m", "qwak_auto.serve", "--artifact", str(artifact),
        "--bind", f"127.0.0.1:{auto_port}", "--workers", str(args.workers),
        "--max-batch-size", "100", "--timeout-ms", "30000", "--model-id", "churn",
        "--build-id", "bench", "--predictions-dir", str(preds), "--sample-rate", "1.0",
    ]  # fmt: skip
    mlflow_bin = mlflow_py.with_name("mlflow")
    mlflow_argv = [
        str(mlflow_bin), "models", "serve", "-m", str(mlflow_model), "--env-manager", "local",
        "-h", "127.0.0.1", "-p", str(mlflow_port), "-w", str(args.workers),
    ]  # fmt: skip
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"file://{WORK / 'mlruns'}",
        # MLflow starts `uvicorn` from PATH: its own environment's.
        "PATH": f"{mlflow_bin.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    proxy_port = free_port()
    proxy_argv = [
        sys.executable, "-m", "qwak_auto.deploy.proxy", "--listen", f"127.0.0.1:{proxy_port}",
        "--upstream", f"127.0.0.1:{auto_port}",
    ]  # fmt: skip
    logs = {name: (WORK / f"{name}.log").open("wb") for name in ("auto", "mlflow", "proxy")}
    servers = {
        "auto": subprocess.Popen(
            auto_argv, stdout=logs["auto"], stderr=subprocess.STDOUT, start_new_session=True
        ),
        "mlflow": subprocess.Popen(
            mlflow_argv,
            stdout=logs["mlflow"],
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        ),
        "proxy": subprocess.Popen(
            proxy_argv, stdout=logs["proxy"], stderr=subprocess.STDOUT, start_new_session=True
        ),
    }
    results: dict[tuple[str, int], list[dict[str, float]]] = {}
    try:
        wait(f"http://127.0.0.1:{auto_port}/ready", servers["auto"])
        wait(f"http://127.0.0.1:{mlflow_port}/ping", servers["mlflow"])
        wait(f"http://127.0.0.1:{proxy_port}/ready", servers["proxy"])
        for batch in (1, 100):
            rows = [ROW] * batch
            targets = {
                "auto": (f"http://127.0.0.1:{auto_port}/v1/churn/predict", json.dumps(rows)),
                "auto-proxy": (
                    f"http://127.0.0.1:{proxy_port}/v1/churn/predict",
                    json.dumps(rows),
                ),
                "mlflow": (
                    f"http://127.0.0.1:{mlflow_port}/invocations",
                    json.dumps({"dataframe_records": rows}),
                ),
            }
            for url, body in targets.values():  # warm up both
                wrk(url, body, 2, args.connections)
            for _ in range(args.rounds):
                for name, (url, body) in targets.items():
                    run = wrk(url, body, args.seconds, args.connections)
                    results.setdefault((name, batch), []).append(run)
                    print(name, batch, {k: round(v, 2) for k, v in run.items()}, flush=True)
    finally:
        for proc in servers.values():
            stop(proc)
        stop_by_cmdline(f"--port {mlflow_port} ")
        for handle in logs.values():
            handle.close()
    print()
    print("| batch | server | requests/s | p50 (ms) | p99 (ms) | errors | vs MLflow |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    names = ("auto", "auto-proxy", "mlflow")
    for batch in (1, 100):
        med = {
            name: {
                key: statistics.median(r[key] for r in results[(name, batch)])
                for key in ("rps", "p50_ms", "p99_ms", "errors")
            }
            for name in names
        }
        for name in names:
            m = med[name]
            ratio = m["rps"] / med["mlflow"]["rps"]
            print(
                f"| {batch} | {name} | {m['rps']:.0f} | {m['p50_ms']:.1f} | {m['p99_ms']:.1f} "
                f"| {m['errors']:.0f} | {ratio:.2f}x |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
