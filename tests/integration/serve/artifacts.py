"""Build environments and model artifacts for serving tests, made for real.

A build environment is a venv (uv) with pandas, cloudpickle and gunicorn, and a ``.pth``
pointing at this checkout so ``python -m qwak_auto.serve`` imports there, as the build helper's
environments do. An artifact is ``model.pkl`` (cloudpickled in that venv) plus ``code/main/``.
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import qwak_auto

SERVING_PACKAGES = ("pandas", "cloudpickle", "gunicorn")
REPO_ROOT = Path(qwak_auto.__file__).resolve().parents[1]

MODEL_CODE = """
import os
import time

import pandas as pd


class Model:
    def __init__(self, tag, init_fail=False, init_sleep=0.0, fail_after=None):
        self.tag = tag
        self.init_fail = init_fail
        self.init_sleep = init_sleep
        self.fail_after = fail_after  # answers per process before predict starts raising
        self.calls = 0

    def initialize_model(self):
        if self.init_sleep:
            time.sleep(self.init_sleep)
        if self.init_fail:
            raise RuntimeError("boom on start: the model cannot initialise")
        with open("data.txt") as handle:  # read relative to main/, as in Qwak
            self.data = handle.read().strip()

    def predict(self, df):
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            # what a model that needs something only production lacks does
            raise RuntimeError("PAYMENTS_API_URL is not set in the serving environment")
        if "sleep" in df.columns:
            time.sleep(float(df["sleep"].iloc[0]))
        return pd.DataFrame(
            {
                "score": df["x"].astype(float) * 2.0,
                "build": self.tag,
                "data": self.data,
                "env": os.environ.get("MODEL_FLAVOUR", ""),
            }
        )
"""


def make_python(root: Path) -> Path:
    """A venv with the serving dependencies; falls back to this interpreter without uv."""
    venv = root / "build-env"
    uv = Path(sys.executable).with_name("uv")
    try:
        subprocess.run(
            [str(uv), "venv", "-q", str(venv), "--python", sys.executable],
            check=True,
            timeout=120,
            capture_output=True,
        )
        python = venv / "bin" / "python"
        subprocess.run(
            [str(uv), "pip", "install", "-q", "--python", str(python), *SERVING_PACKAGES],
            check=True,
            timeout=300,
            capture_output=True,
        )
    except (OSError, subprocess.SubprocessError):
        return Path(sys.executable)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "auto_checkout.pth").write_text(str(REPO_ROOT) + "\n")
    return python


def make_artifact(
    python: Path,
    dest: Path,
    *,
    tag: str,
    init_fail: bool = False,
    init_sleep: float = 0.0,
    fail_after: int | None = None,
    sample_request: bool = False,
) -> Path:
    main = dest / "code" / "main"
    main.mkdir(parents=True)
    (main / "__init__.py").write_text("")
    (main / "model.py").write_text(MODEL_CODE)
    (main / "data.txt").write_text(f"data-of-{tag}\n")
    if sample_request:
        (main / "sample_request.json").write_text('[{"x": 1}, {"x": 2}]')
    script = (
        "import sys, cloudpickle\n"
        f"sys.path.insert(0, {str(dest / 'code')!r})\n"
        "from main.model import Model\n"
        f"m = Model({tag!r}, init_fail={init_fail!r}, init_sleep={init_sleep!r}, "
        f"fail_after={fail_after!r})\n"
        f"cloudpickle.dump(m, open({str(dest / 'model.pkl')!r}, 'wb'))\n"
    )
    subprocess.run([str(python), "-c", script], check=True, timeout=120, capture_output=True)
    return dest


def serve_argv(python: Path, artifact: Path, port: int, **options: Any) -> list[str]:
    argv = [str(python), "-m", "qwak_auto.serve", "--artifact", str(artifact)]
    argv += ["--bind", f"127.0.0.1:{port}", "--model-id", options.pop("model_id", "churn")]
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif value is not None and value is not False:
            argv += [flag, str(value)]
    return argv


def request(
    port: int, method: str, path: str, body: Any = None, raw: bytes | None = None, timeout=10.0
) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        payload = resp.read()
    finally:
        conn.close()
    try:
        return resp.status, json.loads(payload)
    except ValueError:
        return resp.status, payload.decode()


def wait_ready(port: int, proc: subprocess.Popen[bytes] | None = None, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        try:
            if request(port, "GET", "/ready", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("server not ready in time")


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
