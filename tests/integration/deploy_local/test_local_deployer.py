"""The local deployer for real: swaps under 50 requests/s, a crashing build, rollback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from qwak_auto.deploy import processes, traffic
from qwak_auto.deploy.health import health
from qwak_auto.deploy.local import deploy_build, rollback, undeploy
from qwak_auto.deploy.settings import ServeSettings, Target
from qwak_auto.errors import DeployError
from tests.integration.deploy_local.conftest import Load, World
from tests.integration.serve.artifacts import request

TARGET = Target(model_id="churn", environment="dev", variation="default")
SETTINGS = ServeSettings(
    workers=2, timeout_ms=5000, max_batch_size=10, ready_timeout=60, env_vars={"MODEL_FLAVOUR": "x"}
)


def _deploy(world: World, name: str, settings: ServeSettings = SETTINGS):
    return deploy_build(
        world.build(name),
        TARGET,
        settings,
        store=world.store,
        config=world.config,
        environ={"PATH": "/usr/bin:/bin", "AUTO_SECRET_TOKEN": "never-in-the-model"},
    )


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def test_swaps_under_load_drop_nothing(world: World) -> None:
    first = _deploy(world, "A")
    port = _port(first.address)
    assert request(port, "POST", "/v1/churn/predict", [{"x": 2}])[1][0] == {
        "score": 4.0, "build": "A", "data": "data-of-A", "env": "x"
    }  # fmt: skip
    serving_a = world.store.serving("churn", "dev", "default")
    assert serving_a is not None
    assert health(serving_a) == "healthy"

    # 1. A -> B under 50 requests/s
    with Load(port) as load:
        time.sleep(1.0)
        second = _deploy(world, "B")
        time.sleep(1.0)
    assert second.address == first.address  # one stable address
    assert load.failures == []
    assert len(load.results) > 50
    assert load.builds()[0] == "A"
    assert load.builds()[-1] == "B"
    retired = next(d for d in world.store.deployments("churn") if d.build_id == "build-A")
    assert retired.status == "retired"
    assert retired.retired_at is not None
    assert not processes.alive(retired.detail["pid"])

    # 2. B -> a build that crashes on start, under load: B keeps serving
    with Load(port) as load:
        time.sleep(0.5)
        with pytest.raises(DeployError, match="boom on start") as info:
            _deploy(world, "crash")
    assert "build build-B keeps serving" in info.value.hint
    assert load.failures == []
    assert set(load.builds()) == {"B"}
    failed = next(d for d in world.store.deployments("churn") if d.build_id == "build-crash")
    assert failed.status == "failed"
    assert "boom on start" in failed.reason
    serving = world.store.serving("churn", "dev", "default")
    assert serving is not None
    assert serving.build_id == "build-B"

    # 3. rollback puts A back, the same way
    with Load(port) as load:
        time.sleep(0.5)
        back = rollback(world.store, world.config, TARGET, {"PATH": "/usr/bin:/bin"})
        time.sleep(0.5)
    assert load.failures == []
    assert load.builds()[-1] == "A"
    assert back.address == first.address
    statuses = {
        d.build_id: d.status for d in world.store.deployments("churn", status="rolled_back")
    }
    assert statuses == {"build-B": "rolled_back"}

    # 4. undeploy stops the proxy and the server
    record = undeploy(world.store, TARGET)
    assert record is not None
    assert record.status == "retired"
    assert not processes.port_open(port)
    assert not processes.alive(record.detail["pid"])
    assert health(record) == "retired"


def test_not_ready_in_time_fails_and_records_why(world: World) -> None:
    settings = ServeSettings(workers=1, ready_timeout=2)
    with pytest.raises(DeployError, match="not ready within 2s") as info:
        _deploy(world, "slow", settings)
    assert "nothing was serving there" in info.value.hint
    (failed,) = world.store.deployments("churn")
    assert failed.status == "failed"
    assert "not ready within 2s" in failed.reason
    assert not processes.port_open(failed.detail["backend_port"])  # the slow one was stopped
    assert not Path(failed.detail["log"]).with_name("gunicorn.pid").exists()


def test_daemon_mode_is_found_by_its_pid_file(world: World) -> None:
    settings = ServeSettings(workers=1, daemon=True, ready_timeout=60)
    outcome = _deploy(world, "A", settings)
    record = world.store.serving("churn", "dev", "default")
    assert record is not None
    pid = record.detail["pid"]
    assert processes.alive(pid)
    assert health(record) == "healthy"
    assert request(_port(outcome.address), "GET", "/ready")[0] == 200
    undeploy(world.store, TARGET)
    assert not processes.alive(pid)


def test_a_proxy_stopped_by_undeploy_is_not_reported_gone(world: World) -> None:
    """Undeploying the last local model stops Caddy on purpose: the next deploy starts it
    without the "was gone: started again" warning a crashed proxy gets."""
    _deploy(world, "A")
    assert world.store.get_value(traffic.SCOPE, "proxy")["restarted"] is False
    undeploy(world.store, TARGET)
    assert world.store.get_value(traffic.SCOPE, "proxy") is None
    _deploy(world, "A")
    assert world.store.get_value(traffic.SCOPE, "proxy")["restarted"] is False
