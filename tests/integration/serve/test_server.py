"""The model server for real: gunicorn on 127.0.0.1, a model built in its own venv."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd

from tests.integration.serve.artifacts import make_artifact, request, serve_argv, wait_ready
from tests.integration.serve.conftest import Server, free_port


def test_qwak_and_pandas_shapes_round_trip(server: Server) -> None:
    df = pd.DataFrame({"x": [1, 2, 3]})
    for path in ("/v1/churn/predict", "/v1/churn/default/predict", "/predict"):
        for orient in ("split", "records", "columns"):
            status, body = request(
                server.port, "POST", path, raw=df.to_json(orient=orient).encode()
            )
            assert status == 200, (path, orient, body)
            out = pd.DataFrame(body)
            assert list(out["score"]) == [2.0, 4.0, 6.0]
            assert set(out["build"]) == {"b1"}
    # data files are read relative to main/; env vars reach the model
    status, body = request(server.port, "POST", "/predict", {"x": 4})
    assert status == 200
    assert body == [{"score": 8.0, "build": "b1", "data": "data-of-b1", "env": "vanilla"}]
    # pandas reads the response back as Qwak's client does
    assert pd.read_json(io.StringIO(json.dumps(body))).shape == (1, 4)


def test_mlflow_invocations(server: Server) -> None:
    cases = [
        {"dataframe_split": {"columns": ["x"], "data": [[1], [2]]}},
        {"dataframe_records": [{"x": 1}, {"x": 2}]},
        {"instances": [{"x": 1}, {"x": 2}]},
        {"inputs": {"x": [1, 2]}},
    ]
    for case in cases:
        status, body = request(server.port, "POST", "/invocations", case)
        assert status == 200, (case, body)
        assert [p["score"] for p in body["predictions"]] == [2.0, 4.0]


def test_refusals_keep_the_server_serving(server: Server) -> None:
    status, body = request(server.port, "POST", "/predict", [{"x": i} for i in range(6)])
    assert status == 413
    assert "max_batch_size=5" in body["error"]
    status, body = request(server.port, "POST", "/predict", raw=b'[{"x": 1},')
    assert status == 400
    assert "malformed JSON" in body["error"]
    status, body = request(server.port, "POST", "/v1/other-model/predict", [{"x": 1}])
    assert status == 404
    for _ in range(4):  # more slow predictions than the pool has threads
        status, body = request(server.port, "POST", "/predict", [{"x": 1, "sleep": 3}])
        assert status == 504
        assert "http_request_timeout_ms=700" in body["error"]
    for _ in range(4):
        status, body = request(server.port, "POST", "/predict", [{"x": 1}])
        assert status == 200
        assert body[0]["score"] == 2.0


def test_health_ready_metrics(server: Server) -> None:
    assert request(server.port, "GET", "/health")[0] == 200
    status, body = request(server.port, "GET", "/ready")
    assert (status, body["build_id"]) == (200, "b1")
    request(server.port, "POST", "/predict", [{"x": 1}])
    time.sleep(1.2)  # the other worker's snapshot is written at most once a second
    status, text = request(server.port, "GET", "/metrics")
    assert status == 200
    assert 'auto_model_build_info{build_id="b1",environment="dev"' in text
    assert "auto_model_requests_total{" in text
    assert "auto_model_request_duration_seconds_bucket" in text
    assert "auto_model_batch_size_count" in text


def test_prediction_log_segments_closed_on_shutdown(
    build_python: Path, artifact: Path, tmp_path: Path
) -> None:
    port = free_port()
    preds = tmp_path / "predictions"
    argv = serve_argv(
        build_python,
        artifact,
        port,
        workers=1,
        max_batch_size=10,
        build_id="b9",
        variation="blue",
        predictions_dir=preds,
        rotate_records=3,
    )
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    srv = Server(port, proc, tmp_path / "log", preds)
    try:
        wait_ready(port, proc)
        for i in range(4):
            assert request(port, "POST", "/v1/churn/blue/predict", [{"x": i}])[0] == 200
        time.sleep(1.0)
        folder = preds / "churn" / "blue"
        assert len(list(folder.glob("*.jsonl"))) == 1  # rotated after 3 lines
        assert len(list(folder.glob("*.jsonl.open"))) == 1
    finally:
        assert srv.stop() == 0
    segments = sorted(folder.iterdir())
    assert all(p.name.endswith(".jsonl") and p.name.startswith("b9-") for p in segments)
    lines = [json.loads(line) for p in segments for line in p.read_text().splitlines()]
    assert len(lines) == 4
    first = lines[0]
    assert set(first) == {
        "model_id", "build_id", "variation", "environment", "ts", "latency_ms", "status",
        "features", "prediction", "label",
    }  # fmt: skip
    assert (first["model_id"], first["variation"], first["status"]) == ("churn", "blue", 200)
    assert first["features"] == {"x": 0}
    assert first["prediction"]["score"] == 0.0
    assert first["label"] is None


def test_daemon_mode_pid_file_and_stop(build_python: Path, artifact: Path, tmp_path: Path) -> None:
    port = free_port()
    pid_file = tmp_path / "serve.pid"
    argv = serve_argv(
        build_python, artifact, port, workers=1, daemon=True, pid_file=pid_file, build_id="d"
    )
    # The daemon keeps its stderr (the deployment's log file): never a pipe here.
    with (tmp_path / "serve.log").open("wb") as log:
        done = subprocess.run(argv, timeout=60, stdout=log, stderr=subprocess.STDOUT)
    assert done.returncode == 0, (tmp_path / "serve.log").read_text()
    try:
        wait_ready(port)
        pid = int(pid_file.read_text())
        os.kill(pid, 0)
        assert request(port, "POST", "/predict", {"x": 1})[0] == 200
    finally:
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGTERM)
        for _ in range(200):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("daemon did not stop")


def test_model_that_cannot_load_halts_with_the_reason(build_python: Path, tmp_path: Path) -> None:
    broken = make_artifact(build_python, tmp_path / "broken", tag="x", init_fail=True)
    port = free_port()
    argv = serve_argv(build_python, broken, port, workers=2)
    done = subprocess.run(argv, timeout=60, capture_output=True, text=True)
    assert done.returncode == 3
    assert "boom on start" in done.stderr


def test_bad_options_exit_2(build_python: Path, tmp_path: Path) -> None:
    argv = serve_argv(build_python, tmp_path, free_port())
    done = subprocess.run(argv, timeout=60, capture_output=True, text=True)
    assert done.returncode == 2
    assert "no model.pkl" in done.stderr


def test_qwak_realtime_client_shim_reads_the_answer(server: Server, build_python: Path) -> None:
    """`RealTimeClient(model_id, model_api=URL)` (auto's qwak_inference shim) against it:
    a DataFrame in, a list of dicts out (InferenceOutputFormat.DICTIONARY), as the real one."""
    import qwak_auto

    shim = Path(qwak_auto.__file__).parent / "runtime" / "shim"
    script = (
        "import pandas as pd\n"
        "from qwak_inference.realtime_client.client import RealTimeClient\n"
        f"client = RealTimeClient('churn', model_api='http://127.0.0.1:{server.port}')\n"
        "out = client.predict(pd.DataFrame({'x': [1, 2]}))\n"
        "assert isinstance(out, list), type(out)\n"
        "print([row['score'] for row in out])\n"
    )
    done = subprocess.run(
        [str(build_python), "-c", script],
        env={**os.environ, "PYTHONPATH": str(shim)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[2.0, 4.0]"


def test_a_ready_worker_has_the_request_path_loaded(build_python: Path, tmp_path: Path) -> None:
    """/ready means every worker can answer at once: pandas (the request path's) is imported
    while the model loads, also for a model whose own code never imports it (else each
    worker's first request waited 1-2 s for the import)."""
    main = tmp_path / "plain" / "code" / "main"
    main.mkdir(parents=True)
    (main / "__init__.py").write_text("")
    (main / "echo.py").write_text("class Echo:\n    def predict(self, df):\n        return df\n")
    script = (
        f"import sys, cloudpickle; sys.path.insert(0, {str(main.parent)!r})\n"
        "from main.echo import Echo\n"
        f"cloudpickle.dump(Echo(), open({str(tmp_path / 'plain' / 'model.pkl')!r}, 'wb'))\n"
    )
    subprocess.run([str(build_python), "-c", script], check=True, timeout=120)
    port = free_port()
    argv = serve_argv(build_python, tmp_path / "plain", port, workers=2, model_id="echo")
    with (tmp_path / "serve.log").open("wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    server = Server(port, proc, tmp_path / "serve.log", tmp_path)
    try:
        wait_ready(port, proc)
        workers = [
            int(entry.name)
            for entry in Path("/proc").iterdir()
            if entry.name.isdigit() and _parent(int(entry.name)) == proc.pid
        ]
        assert len(workers) == 2
        for pid in workers:
            assert "/pandas/_libs/" in Path(f"/proc/{pid}/maps").read_text(), pid
        assert request(port, "POST", "/v1/echo/predict", [{"x": 1}]) == (200, [{"x": 1}])
    finally:
        server.stop()


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None
