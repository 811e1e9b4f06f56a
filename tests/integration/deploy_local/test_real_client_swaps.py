"""qwak-inference's own ``RealTimeClient`` (a kept-alive ``requests`` session that resends
nothing), pointed at a local deployment as docs/migrating-from-qwak.md says, through a
canary swap and a rollback at 50 requests/s: not one prediction fails. Swaps and canary
steps change the proxy's slot files, not its configuration, so no kept-alive connection is
closed under a client (before the slots, 2 runs in 3 lost a prediction to a connection
reset). Real Caddy, real gunicorn, the real client."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from qwak_auto.automation.rollout import Rollout
from qwak_auto.deploy.local import deploy_build, rollback
from qwak_auto.deploy.settings import ServeSettings, Target
from tests.integration.deploy_local.conftest import Load, World

TARGET = Target(model_id="churn", environment="dev", variation="default")
ENV = {"PATH": "/usr/bin:/bin"}


def real_time_client(address: str) -> Any:
    """The documented set-up: token header, no Qwak login; no retry added."""
    from qwak_inference import RealTimeClient

    client = RealTimeClient(model_id="churn", model_api=f"{address}/v1/churn/predict")
    client.r_session.headers["Authorization"] = "Bearer unused"
    client.r_session.jwt_expiration = None
    return client


@dataclass
class Clients(Load):
    """``Load``'s steady 50 requests/s, sent by real clients, one per thread."""

    address: str = ""

    def _run(self) -> None:
        client = real_time_client(self.address)
        interval = self.threads / self.rate
        deadline = time.monotonic() + self.limit
        while not self._stop.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            try:
                self.results.append((200, client.predict([{"x": 1}])[0]["build"]))
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                self.failures.append(f"{type(exc).__name__}: {exc}"[:300])
            self._stop.wait(max(0.0, interval - (time.monotonic() - started)))


def _deploy(world: World, name: str, rollout: Rollout) -> str:
    return deploy_build(
        world.build(name),
        TARGET,
        ServeSettings(workers=2, ready_timeout=60),
        store=world.store,
        config=world.config,
        environ=ENV,
        rollout=rollout,
    ).address


def test_the_real_client_rides_through_a_canary_and_a_rollback(world: World) -> None:
    address = _deploy(world, "A", Rollout(canary_steps=()))
    canary = Rollout(canary_steps=(20, 50), step_seconds=1, bake_seconds=1, min_requests=1000)
    with Clients(port=int(address.rsplit(":", 1)[1]), address=address) as clients:
        time.sleep(1.0)
        assert _deploy(world, "B", canary) == address  # four route changes
        time.sleep(1.0)
        rollback(world.store, world.config, TARGET, ENV)
        time.sleep(1.0)
    assert clients.failures == []
    builds = clients.builds()
    assert len(builds) > 150
    assert builds[0] == "A"
    assert "B" in builds
    assert builds[-1] == "A"
