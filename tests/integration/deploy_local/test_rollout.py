"""Only a good build takes traffic: smoke before traffic, a watched canary that rolls back by
itself, a model's traffic split between variations, a shadow that answers nobody. Real
Caddy, real gunicorn, real requests on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from qwak_auto.automation.rollout import Rollout
from qwak_auto.automation.validate import load_automations
from qwak_auto.deploy import traffic
from qwak_auto.deploy.local import deploy_build
from qwak_auto.deploy.settings import ServeSettings, Target
from qwak_auto.errors import DeployError, RolledBack
from qwak_auto.run.contracts import DeployOutcome
from tests.integration.deploy_local.conftest import Load, World
from tests.integration.serve.artifacts import request

DEFAULT = Target(model_id="churn", environment="dev", variation="default")
ENV = {"PATH": "/usr/bin:/bin"}
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _deploy(
    world: World,
    name: str,
    target: Target = DEFAULT,
    rollout: Rollout | None = None,
    **settings: object,
) -> DeployOutcome:
    return deploy_build(
        world.build(name), target, ServeSettings(workers=1, ready_timeout=60, **settings),  # type: ignore[arg-type]
        store=world.store, config=world.config, environ=ENV,
        rollout=rollout or Rollout(canary_steps=()),
    )  # fmt: skip


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def test_a_build_that_fails_only_when_served_never_takes_traffic(world: World) -> None:
    port = _port(_deploy(world, "A").address)
    with Load(port) as load:
        time.sleep(0.5)
        with pytest.raises(DeployError, match="smoke: the sample request") as info:
            _deploy(world, "broken")
        time.sleep(0.5)
    assert "HTTP 500" in info.value.message
    assert "PAYMENTS_API_URL" in info.value.message
    assert load.failures == []
    assert set(load.builds()) == {"A"}
    broken = next(d for d in world.store.deployments("churn") if d.build_id == "build-broken")
    assert broken.status == "failed"
    serving = world.store.serving("churn", "dev", "default")
    assert serving is not None
    assert serving.build_id == "build-A"


def test_a_canary_that_starts_failing_is_rolled_back_within_its_step(world: World) -> None:
    port = _port(_deploy(world, "A").address)
    rollout = Rollout(
        canary_steps=(10,), step_seconds=30, min_requests=5, max_error_rate=0.05, smoke_replay=20
    )
    with Load(port) as load:
        time.sleep(2.0)  # production requests for the smoke to replay
        started = time.monotonic()
        with pytest.raises(RolledBack) as info:
            _deploy(world, "flaky", rollout=rollout)
        took = time.monotonic() - started
        time.sleep(1.0)
    assert took < 30
    message = info.value.message
    assert "rolled back during the canary 10%" in message
    assert "above max_error_rate 5.0%" in message
    seen = [f for f in load.failures if f.startswith("HTTP 500")]
    assert seen, "clients saw the canary's errors"
    assert f"{len(seen)} with a 5xx" in message  # every 5xx a client saw, counted
    assert len(load.failures) == len(seen)  # and nothing else failed
    assert load.builds()[-1] == "A"
    flaky = next(d for d in world.store.deployments("churn") if d.build_id == "build-flaky")
    assert flaky.status == "rolled_back"
    assert flaky.detail["windows"][-1]["verdict"] is False
    serving = world.store.serving("churn", "dev", "default")
    assert serving is not None
    assert serving.build_id == "build-A"


def test_a_watched_canary_is_promoted(world: World) -> None:
    port = _port(_deploy(world, "A").address)
    rollout = Rollout(canary_steps=(20, 50), step_seconds=2, bake_seconds=1, min_requests=5)
    with Load(port) as load:
        time.sleep(0.5)
        _deploy(world, "B", rollout=rollout)
        time.sleep(0.5)
    assert load.failures == []
    builds = load.builds()
    assert builds[0] == "A"
    assert builds[-1] == "B"
    record = world.store.serving("churn", "dev", "default")
    assert record is not None
    assert record.build_id == "build-B"
    phases = [w["phase"] for w in record.detail["windows"]]
    assert phases == ["canary 20%", "canary 50%", "bake"]
    assert all(w["verdict"] for w in record.detail["windows"])


def _pricing_example() -> dict[str, ServeSettings]:
    """The variations of examples/pricing-ab-test.yaml and their traffic settings."""
    automations, problems = load_automations([EXAMPLES / "pricing-ab-test.yaml"])
    assert not [p for p in problems if p.severity.value == "error"]
    return {
        a.action.deployment_spec.variation_name: ServeSettings.from_spec(a.action.deployment_spec)
        for a in automations
    }


def test_a_model_address_splits_between_variations_and_a_shadow_answers_none(
    world: World,
) -> None:
    # The pricing A/B example's split: its champion and its challenger (traffic_weight 10).
    variations = _pricing_example()
    assert set(variations) == {"champion", "challenger"}
    assert variations["champion"].traffic_weight is None  # the rest: 90 %
    weight = variations["challenger"].traffic_weight
    assert weight == 10
    first = _deploy(world, "A", Target(model_id="churn", environment="dev", variation="champion"))
    _deploy(
        world,
        "B",
        Target(model_id="churn", environment="dev", variation="challenger"),
        traffic_weight=weight,
    )
    _deploy(
        world, "C", Target(model_id="churn", environment="dev", variation="mirror"), shadow=True
    )
    serving = world.store.serving("churn", "dev", "champion")
    assert serving is not None
    model_port = _port(serving.detail["model_address"])
    assert model_port != _port(first.address)

    answers: Counter[str] = Counter()
    lock = threading.Lock()

    def send(count: int) -> None:
        for _ in range(count):
            status, body = request(model_port, "POST", "/v1/churn/predict", [{"x": 1}])
            assert status == 200
            with lock:
                answers[body[0]["build"]] += 1

    workers = [threading.Thread(target=send, args=(400,)) for _ in range(5)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert sum(answers.values()) == 2000
    assert "C" not in answers  # the shadow answers none of them
    assert 0.07 <= answers["B"] / 2000 <= 0.13
    # ... and logs all of them, from its own server
    log_dir = world.config.home / "predictions" / "churn" / "mirror"
    deadline = time.monotonic() + 60
    rows = 0
    while time.monotonic() < deadline:
        rows = sum(len(p.read_text().splitlines()) for p in log_dir.glob("*.jsonl*") if p.is_file())
        if rows >= 2000:
            break
        time.sleep(0.5)
    assert rows == 2000
    some = next(p for p in log_dir.glob("*.jsonl*"))
    line = json.loads(some.read_text().splitlines()[0])
    assert (line["variation"], line["build_id"]) == ("mirror", "build-C")


def _as_nobody(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    if os.geteuid() != 0:
        pytest.skip("needs root to run a probe as another user (setpriv --reuid=nobody)")
    return subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
         sys.executable, "-c", code, *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


PROBE_SOCKET = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
    s.sendall(b"POST /load HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 2\\r\\n\\r\\n{}")
    print("connected", s.recv(100))
except OSError as exc:
    print("refused", type(exc).__name__)
"""

PROBE_HTTP = """
import http.client, sys
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
headers = {"Authorization": sys.argv[3]} if len(sys.argv) > 3 else {}
conn.request("GET", sys.argv[2], headers=headers)
resp = conn.getresponse()
print(resp.status, resp.read()[:200])
"""


def test_another_user_cannot_change_routes_or_get_credentials(world: World) -> None:
    _deploy(world, "A")
    socket_path = traffic.admin_socket(world.config.home)
    assert socket_path.exists()
    assert oct(traffic.folder(world.config.home).stat().st_mode & 0o777) == "0o700"
    probe = _as_nobody(PROBE_SOCKET, str(socket_path))
    assert probe.stdout.startswith("refused PermissionError"), probe.stdout + probe.stderr
    # the routes are still ours
    assert traffic.running(world.config.home)


def test_credentials_need_the_deployments_token(tmp_path: Path) -> None:
    from qwak_auto.deploy.credentials import CredentialsServer

    server = CredentialsServer(0, "the-right-token-0123456789", "arn:aws:iam::1:role/r", "s")
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for args in ((), ("wrong-token",)):
            probe = _as_nobody(PROBE_HTTP, str(port), "/credentials", *args)
            assert probe.stdout.startswith("401"), probe.stdout + probe.stderr
        status, _ = request(port, "GET", "/credentials")
        assert status == 401
    finally:
        server.shutdown()
        server.server_close()


def test_a_proxy_that_is_gone_comes_back_with_its_routes(world: World) -> None:
    from qwak_auto.deploy.processes import stop_pid
    from qwak_auto.run.recovery import recover

    port = _port(_deploy(world, "A").address)
    pid = traffic.pid(world.config.home)
    assert pid is not None
    stop_pid(pid, grace=0.1)  # crashed, or the machine rebooted
    assert not traffic.running(world.config.home)
    done = recover(world.store, world.config, ENV)  # what the next tick does
    assert "local proxy started again (it was gone), with the recorded routes" in done
    status, body = request(port, "POST", "/v1/churn/predict", [{"x": 1}])
    assert (status, body[0]["build"]) == (200, "A")


def test_request_bodies_are_capped_at_the_proxy(world: World) -> None:
    port = _port(_deploy(world, "A").address)
    big = b"[" + b'{"x": 1},' * 1_200_000 + b'{"x": 1}]'  # about 11 MiB
    status, _ = request(port, "POST", "/v1/churn/predict", raw=big, timeout=60)
    assert status == 413
