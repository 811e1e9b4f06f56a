"""A Qwak model repository that uses qwak-core's runtime APIs (tests/fixtures/model-repos/
qwak-apis) builds with the local builder (its tests/it run against the build), is deployed by
the local deployer (real gunicorn behind the stable-address proxy), and answers the real
clients: qwak-inference's ``RealTimeClient`` and mlflow-skinny's ``ScoringServerClient``,
without and with API keys (``deployment_spec.api_keys_secret``)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

import qwak_auto
from qwak_auto.builders.local import LocalBuilder
from qwak_auto.deploy import processes, traffic
from qwak_auto.deploy.local import deploy_build
from qwak_auto.deploy.settings import ServeSettings, Target
from qwak_auto.run.contracts import BuildResult, RunContext
from qwak_auto.source import GitSource
from tests.integration.builders.conftest import REPO_ROOT, MakeCtx, commit_tree

pytestmark = pytest.mark.slow

REPO = REPO_ROOT / "tests" / "fixtures" / "model-repos" / "qwak-apis"
KEYS = ("score-key-" + "1" * 24, "score-key-" + "2" * 24)
ROW = {"tenure": 10.0, "spend": 100.0}


@pytest.fixture
def built(make_ctx: MakeCtx, tmp_path: Path) -> tuple[BuildResult, RunContext]:
    commit_tree(tmp_path / "repo", source=REPO)
    ctx = make_ctx(f"file://{tmp_path / 'repo'}", model_id="score", name="score-retrain")
    checkout = GitSource().fetch(ctx.automation.action.build_spec, ctx)
    return LocalBuilder().build(checkout, ctx), ctx


@pytest.fixture
def deploy(built: tuple[BuildResult, RunContext]) -> Iterator[Any]:
    build, ctx = built
    targets: list[Target] = []

    def run(environment: str, **settings: Any) -> str:
        target = Target(model_id="score", environment=environment, variation="default")
        targets.append(target)
        environ = {**os.environ, "AUTO_SECRET_SCORE_API_KEYS": "\n".join(KEYS) + "\n"}
        outcome = deploy_build(
            build,
            target,
            ServeSettings(workers=1, max_batch_size=50, ready_timeout=90, **settings),
            store=ctx.store,
            config=ctx.config,
            environ=environ,
        )
        return outcome.address

    yield run
    for target in targets:
        serving = ctx.store.serving(target.model_id, target.environment, target.variation)
        if serving is not None:
            processes.stop_pid(serving.detail.get("pid"), grace=5)
    traffic.stop(ctx.config.home)


def real_time_client(address: str, key: str = "unused") -> Any:
    """docs/migrating-from-qwak.md: the real client pointed at a local deployment."""
    from qwak_inference import RealTimeClient

    client = RealTimeClient(model_id="score", model_api=f"{address}/v1/score/predict")
    client.r_session.headers["Authorization"] = f"Bearer {key}"
    client.r_session.jwt_expiration = None
    return client


def test_the_repository_builds_and_its_tests_it_pass(built: tuple[BuildResult, RunContext]) -> None:
    build, _ctx = built
    assert 0 <= build.metrics["rmse"] < 1.0
    assert build.params["features"] == "tenure,spend"
    log = build.log_path.read_text(encoding="utf-8")
    assert "test_dictionary_and_raw PASSED" in log or "1 passed" in log


# mlflow.pyfunc warns about its own type hints when imported.
@pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning")
def test_real_clients_against_a_local_deployment(deploy: Any) -> None:
    from mlflow.pyfunc.scoring_server.client import ScoringServerClient
    from qwak.exceptions import QwakHTTPException
    from qwak_inference.realtime_client.client import InferenceOutputFormat

    address = deploy("dev")
    port = int(address.rsplit(":", 1)[1])

    # mlflow-skinny's client: ping, version, wait_server_ready, invoke with a DataFrame
    mlflow = ScoringServerClient("127.0.0.1", port)
    mlflow.wait_server_ready(timeout=30)
    mlflow.ping()
    assert mlflow.get_version() == qwak_auto.__version__
    frame = pd.DataFrame([ROW, {"tenure": 20.0, "spend": 50.0}])
    predictions = mlflow.invoke(frame).get_predictions()
    assert list(predictions.columns) == ["score"]
    assert len(predictions) == 2
    assert 15.0 < predictions["score"][0] < 19.0

    # qwak-inference's client: a list of dicts, a DataFrame, the raw bytes
    client = real_time_client(address)
    rows = client.predict(frame)
    assert isinstance(rows, list)
    assert rows[0]["score"] == pytest.approx(predictions["score"][0])
    assert client.predict(frame, orient="records") == rows
    assert client.predict([ROW]) == rows[:1]
    table = client.predict(frame, output_format=InferenceOutputFormat.PANDAS)
    assert table["score"].tolist() == pytest.approx([r["score"] for r in rows])
    raw = client.predict(frame, output_format=InferenceOutputFormat.RAW)
    assert json.loads(raw) == rows
    # the model's own QwakHTTPException reaches the client with its status
    with pytest.raises(QwakHTTPException) as refused:
        client.predict(pd.DataFrame([{"tenure": 1.0}]))
    assert refused.value.status_code == 400
    assert "missing features" in str(refused.value.message)

    # MLflow's other inputs: CSV, and rows without names (400 with the reason)
    url = f"{address}/invocations"
    csv = requests.post(
        url, data=frame.to_csv(index=False), headers={"Content-Type": "text/csv"}, timeout=30
    )
    assert csv.status_code == 200
    assert csv.json()["predictions"] == rows
    positional = requests.post(url, json={"instances": [[10.0, 100.0]]}, timeout=30)
    assert positional.status_code == 400
    assert "missing features" in positional.json()["message"]

    # qwak_timer sections show in the server's metrics
    metrics = requests.get(f"{address}/metrics", timeout=30).text
    assert 'auto_model_timer_seconds_count{name="predict"}' in metrics


def test_api_keys_guard_the_served_model(
    deploy: Any, built: tuple[BuildResult, RunContext]
) -> None:
    from qwak.exceptions import QwakHTTPException

    address = deploy("secure", api_keys_secret="score_api_keys")
    with pytest.raises(QwakHTTPException) as refused:
        real_time_client(address, "not-a-key-of-this-model").predict([ROW])
    assert refused.value.status_code == 401
    assert requests.post(f"{address}/predict", json=[ROW], timeout=30).status_code == 401
    for key in KEYS:
        assert real_time_client(address, key).predict([ROW])[0]["score"] > 15.0
    assert requests.get(f"{address}/ping", timeout=30).status_code == 200

    # The keys reached the server through a private file that is gone now: not in argv,
    # the deployment's folder, its log or its record.
    _build, ctx = built
    serving = ctx.store.serving("score", "secure", "default")
    assert serving is not None
    folder = Path(serving.detail["log"]).parent
    assert not (folder / "api_keys").exists()
    cmdline = Path(f"/proc/{serving.detail['pid']}/cmdline").read_bytes().decode()
    texts = [cmdline, (folder / "serve.log").read_text(), json.dumps(serving.detail)]
    for key in KEYS:
        assert not any(key in text for text in texts)
    assert serving.detail["serve"]["api_keys_secret"] == "score_api_keys"
