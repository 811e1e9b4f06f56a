"""The peer of benchmarks/serve.py: ``mlflow models serve`` with the same fitted models.

MLflow lives in an environment of its own (benchmarks/.work/serve/mlflow-env, made with uv):
full MLflow pins an older gunicorn and mlflow-skinny than the project's .venv has. Its MLflow
requirement is the one in pyproject.toml's ``bench`` extra; pandas, numpy, scikit-learn and
cloudpickle are pinned to the versions of auto's build environment, so both servers run the
same library code.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from benchmarks.serving import cpu

ROOT = Path(__file__).resolve().parents[2]
PINNED = ("pandas", "numpy", "scikit-learn", "cloudpickle")
VERSIONS = """
import importlib.metadata as m, json, sys
print(json.dumps({name: m.version(name) for name in sys.argv[1:]}))
"""

# In the build environment: the fitted estimator out of the built ChurnModel.
EXTRACT = """
import pickle, sys
from pathlib import Path
from qwak_auto.serve.worker import load_model, prepare_process
artifact, out = Path(sys.argv[1]), sys.argv[2]
prepare_process(artifact)
model = load_model(artifact)
with open(out, "wb") as handle:
    pickle.dump(model.model, handle)
"""

# In MLflow's environment: the same estimator and the same predict code as ChurnModel.predict,
# and a model that returns its input. No signature, so MLflow enforces no schema.
SAVE = """
import pickle, sys
import mlflow.pyfunc
import pandas as pd

FEATURES = ["Account_Length", "Intl_Plan", "VMail_Message", "Day_Mins", "Day_Calls",
            "Eve_Mins", "Night_Mins", "Intl_Mins", "CustServ_Calls", "Agitation_Level"]

class Churn(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        with open(context.artifacts["estimator"], "rb") as handle:
            self.model = pickle.load(handle)

    def predict(self, context, model_input, params=None):
        probabilities = self.model.predict_proba(model_input[FEATURES])[:, 1]
        return pd.DataFrame({"churn_probability": probabilities})

class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input

estimator, churn_dir, echo_dir = sys.argv[1:4]
reqs = ["mlflow", "pandas", "scikit-learn"]
mlflow.pyfunc.save_model(churn_dir, python_model=Churn(), artifacts={"estimator": estimator},
                         pip_requirements=reqs)
mlflow.pyfunc.save_model(echo_dir, python_model=Echo(), pip_requirements=reqs)
"""


def sh(argv: list[str], env: dict[str, str] | None = None) -> str:
    done = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=900, env=env)
    return done.stdout


def versions(python: Path, names: tuple[str, ...] = (*PINNED, "gunicorn")) -> dict[str, str]:
    import json

    found: dict[str, str] = json.loads(sh([str(python), "-c", VERSIONS, *names]))
    return found


def bench_requirement(name: str) -> str:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    found: str = next(r for r in extras["bench"] if r.split(">")[0].split("=")[0].strip() == name)
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    port: int
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        """SIGTERM to the mlflow command and every process it started (by their ids)."""
        pids = cpu.tree(self.proc.pid)
        for pid in reversed(pids):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.proc.wait(10)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(cpu.alive(p) for p in pids[1:]):
            time.sleep(0.1)


class Mlflow:
    def __init__(self, work: Path, tmp: Path, build_python: Path) -> None:
        self.tmp = tmp
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        env = work / "mlflow-env"
        self.python = env / "bin" / "python"
        uv = Path(sys.executable).with_name("uv")
        if not self.python.exists():
            sh([str(uv), "venv", "-q", str(env), "--python", sys.executable])
        pins = [f"{k}=={v}" for k, v in versions(build_python, PINNED).items()]
        sh([str(uv), "pip", "install", "-q", "--python", str(self.python),
            bench_requirement("mlflow"), *pins])  # fmt: skip
        self.models = {"churn": tmp / "mlflow-churn", "echo": tmp / "mlflow-echo"}

    def save_models(self, churn_artifact: Path, build_python: Path) -> None:
        estimator = self.tmp / "estimator.pkl"
        sh([str(build_python), "-c", EXTRACT, str(churn_artifact), str(estimator)])
        sh([str(self.python), "-c", SAVE, str(estimator),
            str(self.models["churn"]), str(self.models["echo"])])  # fmt: skip

    def versions(self) -> dict[str, str]:
        return versions(self.python, ("mlflow", "uvicorn", "fastapi"))

    def serve(self, name: str, workers: int) -> Server:
        port = free_port()
        bin_dir = self.python.parent
        env = {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",  # its own uvicorn
            "MLFLOW_TRACKING_URI": f"file://{self.tmp / 'mlruns'}",
            # No usage reports: this machine has no internet, and a user's would not wait.
            "MLFLOW_DISABLE_TELEMETRY": "true",
        }
        argv = [
            str(bin_dir / "mlflow"), "models", "serve", "-m", str(self.models[name]),
            "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", str(workers),
        ]  # fmt: skip
        log_path = self.logs / f"mlflow-{name}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        server = Server(port, proc)
        deadline = time.monotonic() + 600  # MLflow's imports are slow on a busy machine
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"mlflow models serve exited: see {log_path}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as resp,
            ):
                if resp.status == 200:
                    return server
            time.sleep(0.2)
        server.stop()
        raise SystemExit(f"mlflow models serve did not answer /ping on :{port}")
