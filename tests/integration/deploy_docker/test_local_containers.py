"""The local deployer serving docker builds: each backend is a container of the build's image
behind the stable-address proxy; a swap between two builds under steady traffic drops nothing;
a build that cannot start or is not ready in time changes nothing; the prediction log
reaches <home>/predictions; rollback works the same way; undeploy leaves
no container behind."""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import time
from pathlib import Path

import pytest

from qwak_auto.config import load_config
from qwak_auto.deploy import processes, traffic
from qwak_auto.deploy.health import health
from qwak_auto.deploy.local import deploy_build, rollback, undeploy
from qwak_auto.deploy.settings import ServeSettings, Target
from qwak_auto.errors import DeployError
from qwak_auto.run.contracts import BuildResult
from qwak_auto.state import open_url
from tests.integration.deploy_local.conftest import Load
from tests.integration.serve.artifacts import request
from tests.services.docker import Engine

pytestmark = [pytest.mark.docker, pytest.mark.slow]

TARGET = Target(model_id="churn", environment="dev", variation="default")
SETTINGS = ServeSettings(
    workers=1,
    timeout_ms=5000,
    max_batch_size=10,
    ready_timeout=180,
    env_vars={"MODEL_FLAVOUR": "x"},
    cpu_fraction=64.0,  # more than this host has: capped at its cores
    memory="768Mi",
)


def _containers(engine: Engine) -> list[str]:
    return engine.docker(
        "ps", "-a", "--filter", "label=io.qwak-auto=serving", "--format", "{{.Names}}"
    ).split()


def test_docker_builds_are_served_swapped_and_undeployed(
    tmp_path: Path,
    docker_engine: Engine,
    tiny_builds: list[BuildResult],
    serving_cleanup: None,
) -> None:
    one, two = tiny_builds
    assert one.python is None
    assert one.image == f"auto/churn:{one.build_id}"
    home = tmp_path / ".auto"
    config = load_config(env={"AUTO_HOME": str(home)}, cwd=tmp_path)
    store = open_url(f"sqlite:///{home / 'state.db'}")
    environ = {**os.environ, "AUTO_SECRET_TOKEN": "never-in-the-model"}
    proxy_pid = None
    try:
        first = deploy_build(one, TARGET, SETTINGS, store=store, config=config, environ=environ)
        port = int(first.address.rsplit(":", 1)[1])
        status, body = request(port, "POST", "/v1/churn/predict", [{"x": 2}])
        assert (status, body) == (200, [{"score": 4.0, "build": "one", "env": "x"}])

        serving = store.serving("churn", "dev", "default")
        assert serving is not None
        assert serving.build_id == one.build_id
        proxy_pid = serving.detail["proxy_pid"]
        name = serving.detail["container"]
        assert name.startswith(f"auto-churn-default-dev-{one.build_id.removeprefix('churn-')}-")
        assert serving.detail["image"] == one.image
        assert "pid" not in serving.detail
        assert "python" not in serving.detail
        assert health(serving) == "healthy"
        assert _containers(docker_engine) == [name]
        limits = docker_engine.docker(
            "inspect", "--format", "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}", name
        ).split()
        assert limits == [str((os.cpu_count() or 1) * 10**9), str(768 * 2**20)]
        # Only the env_vars reach the container, never the deployer's own environment.
        env = docker_engine.docker("inspect", "--format", "{{json .Config.Env}}", name)
        assert "MODEL_FLAVOUR=x" in json.loads(env)
        assert "never-in-the-model" not in env
        assert "DOCKER_HOST" not in env

        # A build whose container cannot start, or is not ready in time: one keeps serving,
        # the deployment is recorded failed, no container is left behind.
        missing = dataclasses.replace(two, build_id="churn-missing", image="auto/churn:absent")
        with pytest.raises(DeployError, match="docker run of auto/churn:absent failed"):
            deploy_build(missing, TARGET, SETTINGS, store=store, config=config, environ=environ)
        hasty = dataclasses.replace(SETTINGS, ready_timeout=0.05)
        with pytest.raises(DeployError, match=r"not ready within 0\.05s") as info:
            deploy_build(two, TARGET, hasty, store=store, config=config, environ=environ)
        assert f"build {one.build_id} keeps serving" in info.value.hint
        assert _containers(docker_engine) == [name]
        assert request(port, "POST", "/v1/churn/predict", [{"x": 1}])[1][0]["build"] == "one"
        failed = [d.build_id for d in store.deployments("churn") if d.status == "failed"]
        assert sorted(failed) == sorted(["churn-missing", two.build_id])

        # A -> B under steady traffic: nothing fails, B serves afterwards, A is gone.
        with Load(port, rate=20, threads=4, limit=300) as load:
            time.sleep(1.0)
            second = deploy_build(
                two, TARGET, SETTINGS, store=store, config=config, environ=environ
            )
            time.sleep(1.0)
        assert second.address == first.address
        assert load.failures == []
        assert len(load.results) > 20
        assert load.builds()[0] == "one"
        assert load.builds()[-1] == "two"
        now = store.serving("churn", "dev", "default")
        assert now is not None
        assert now.build_id == two.build_id
        assert _containers(docker_engine) == [now.detail["container"]]
        retired = next(d for d in store.deployments("churn") if d.build_id == one.build_id)
        assert retired.status == "retired"
        # The old container's output was kept before it was removed.
        assert "Booting worker" in Path(retired.detail["log"]).read_text()

        # The prediction log is on the host, written as this user: the gate sees it.
        segments = list((home / "predictions" / "churn" / "default").glob("*.jsonl*"))
        closed = [s for s in segments if s.name.endswith(".jsonl")]
        assert closed, segments  # the stopped container closed its segments
        assert all(s.stat().st_uid == os.getuid() for s in segments)
        line = json.loads(closed[0].read_text().splitlines()[0])
        assert line["build_id"] == one.build_id
        assert line["environment"] == "dev"

        # rollback puts build one back the same way (its record is not in this store: the
        # deployment's detail names the image).
        back = rollback(store, config, TARGET, environ)
        assert back.address == first.address
        assert request(port, "POST", "/v1/churn/predict", [{"x": 1}])[1][0]["build"] == "one"
        assert len(_containers(docker_engine)) == 1

        # undeploy: the proxy and the container stop; nothing is left in the engine.
        undeploy(store, TARGET, environ)
        assert _containers(docker_engine) == []
        assert not processes.alive(proxy_pid)
        assert store.serving("churn", "dev", "default") is None
    finally:
        traffic.stop(config.home)
        store.close()


def test_a_container_backend_takes_the_api_keys(
    tmp_path: Path,
    docker_engine: Engine,
    tiny_builds: list[BuildResult],
    serving_cleanup: None,
) -> None:
    """api_keys_secret with a docker build: the keys file is mounted read-only, read by the
    server at start and removed from the host once it answers; requests need a key."""
    one, _two = tiny_builds
    home = tmp_path / ".auto"
    config = load_config(env={"AUTO_HOME": str(home)}, cwd=tmp_path)
    store = open_url(f"sqlite:///{home / 'state.db'}")
    key = "container-key-" + "7" * 20
    environ = {**os.environ, "AUTO_SECRET_CHURN_KEYS": key}
    settings = dataclasses.replace(SETTINGS, api_keys_secret="churn_keys")
    try:
        outcome = deploy_build(one, TARGET, settings, store=store, config=config, environ=environ)
        port = int(outcome.address.rsplit(":", 1)[1])
        assert request(port, "POST", "/v1/churn/predict", [{"x": 2}])[0] == 401
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request(
            "POST",
            "/v1/churn/predict",
            body=json.dumps([{"x": 2}]),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        answer = conn.getresponse()
        assert (answer.status, json.loads(answer.read())[0]["score"]) == (200, 4.0)
        conn.close()
        serving = store.serving("churn", "dev", "default")
        assert serving is not None
        assert not (Path(serving.detail["log"]).parent / "api_keys").exists()
        inspect = docker_engine.docker("inspect", serving.detail["container"])
        assert key not in inspect
        undeploy(store, TARGET, environ)
    finally:
        traffic.stop(config.home)
        store.close()
