"""Stable local addresses (*sites*) and what each forwards to, recorded in the state store.

Two kinds, each a port on 127.0.0.1 allocated once and kept:

- a **variation site** per (model, environment, variation): the model servers of that
  variation, with weights (100 for the build serving; during a canary the old build and the
  new one share it, e.g. 90/10). Its address is what a deployment reports.
- a **model site** per (model, environment): the model's default address. Its requests are
  split between the model's variations by their ``traffic_weight`` (a variation without one
  shares what the others leave); a ``shadow`` variation takes none of them.

Every change of a site is followed by :func:`apply`, which renders every site into the
traffic layer (:mod:`qwak_auto.deploy.traffic`) under one lock, so two runners changing
different sites at once never load a configuration that misses the other's change.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qwak_auto.deploy import processes, traffic
from qwak_auto.platform.locks import locked

if TYPE_CHECKING:
    from qwak_auto.deploy.settings import Target
    from qwak_auto.state.base import StateStore

SCOPE = "traffic:sites"
LOCK_TIMEOUT = 60.0
_NAME = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class Backend:
    deployment_id: str
    dial: str  # 127.0.0.1:PORT of its model server
    weight: int  # percent of the variation's requests


@dataclass(frozen=True, slots=True, kw_only=True)
class Site:
    key: str
    port: int
    model_id: str
    environment: str
    variation: str = ""  # "" for a model site
    backends: tuple[Backend, ...] = ()
    traffic_weight: int | None = None  # variation sites: percent of the model's requests
    shadow: bool = False

    @property
    def address(self) -> str:
        return f"http://{processes.HOST}:{self.port}"

    def with_backends(self, backends: Sequence[Backend]) -> Site:
        return replace(self, backends=tuple(b for b in backends if b.weight > 0))

    def to_json(self) -> dict[str, Any]:
        return {
            "port": self.port,
            "model_id": self.model_id,
            "environment": self.environment,
            "variation": self.variation,
            "backends": [
                {"deployment_id": b.deployment_id, "dial": b.dial, "weight": b.weight}
                for b in self.backends
            ],
            "traffic_weight": self.traffic_weight,
            "shadow": self.shadow,
        }

    @classmethod
    def from_json(cls, key: str, data: Mapping[str, Any]) -> Site:
        return cls(
            key=key,
            port=int(data["port"]),
            model_id=str(data["model_id"]),
            environment=str(data.get("environment", "")),
            variation=str(data.get("variation", "")),
            backends=tuple(Backend(**b) for b in data.get("backends", [])),
            traffic_weight=data.get("traffic_weight"),
            shadow=bool(data.get("shadow", False)),
        )


@dataclass(slots=True)
class Sites:
    """The sites of one state store."""

    store: StateStore
    home: Path
    environ: Mapping[str, str] = field(default_factory=dict)

    def all(self) -> list[Site]:
        return [Site.from_json(k, v) for k, v in self.store.values(SCOPE).items()]

    def get(self, key: str) -> Site | None:
        value = self.store.get_value(SCOPE, key)
        return Site.from_json(key, value) if isinstance(value, dict) else None

    def variation(self, target: Target) -> Site:
        """The variation's site, allocated on first use."""
        return self._site(f"v:{target.key}", target.model_id, target.environment, target.variation)

    def model(self, model_id: str, environment: str) -> Site:
        return self._site(f"m:{model_id}/{environment}", model_id, environment, "")

    def _site(self, key: str, model_id: str, environment: str, variation: str) -> Site:
        site = self.get(key)
        if site is None:
            site = Site(
                key=key,
                port=processes.free_port(),
                model_id=model_id,
                environment=environment,
                variation=variation,
            )
            self.save(site)
        return site

    def save(self, site: Site) -> None:
        self.store.set_value(SCOPE, site.key, site.to_json())

    def forget(self, key: str) -> None:
        self.store.delete_value(SCOPE, key)

    def apply(self) -> str:
        """Every site into the traffic layer (Caddy started first if it is not running)."""
        with locked(traffic.folder(self.home) / "routes.lock", timeout=LOCK_TIMEOUT,
                    what="changing the local routes"):  # fmt: skip
            routes = routes_of(self.all())
            state = traffic.ensure(self.home, routes, self.environ, self.store)
            if state == "running":
                traffic.load(self.home, routes, self.environ)
            return state

    def ensure(self) -> str:
        """The traffic layer running with the recorded routes (after a crash or a reboot)."""
        if not self.store.values(SCOPE) or traffic.running(self.home):
            return "running"
        return self.apply()


def variation_shares(variations: Sequence[Site]) -> dict[str, int]:
    """Percent of a model's requests per variation site key: explicit ``traffic_weight``s,
    the rest shared by the variations without one; shadows get none."""
    live = [s for s in variations if not s.shadow and s.backends]
    explicit = {s.key: max(0, int(s.traffic_weight)) for s in live if s.traffic_weight is not None}
    rest = [s.key for s in live if s.traffic_weight is None]
    left = max(0, 100 - sum(explicit.values()))
    shares = dict(explicit)
    for index, key in enumerate(rest):
        shares[key] = left // len(rest) + (1 if index < left % len(rest) else 0)
    if not any(shares.values()) and live:
        shares = {s.key: 1 for s in live}  # weights that say nothing: split evenly
    return shares


def routes_of(sites: Sequence[Site]) -> list[traffic.Route]:
    routes = []
    by_model: dict[tuple[str, str], list[Site]] = {}
    for site in sites:
        if site.variation:
            by_model.setdefault((site.model_id, site.environment), []).append(site)
    for site in sorted(sites, key=lambda s: s.key):
        if site.variation:
            upstreams = [traffic.Upstream(b.dial, b.weight) for b in site.backends]
        else:
            variations = by_model.get((site.model_id, site.environment), [])
            shares = variation_shares(variations)
            upstreams = [
                traffic.Upstream(b.dial, shares.get(v.key, 0) * b.weight)
                for v in variations
                for b in v.backends
            ]
        routes.append(
            traffic.Route(name=_name(site.key), port=site.port, upstreams=_smallest(upstreams))
        )
    return routes


def _smallest(upstreams: Sequence[traffic.Upstream]) -> tuple[traffic.Upstream, ...]:
    """The upstreams that take a share, in the smallest whole weights (the same shares:
    9000/1000 reads 9/1); :mod:`qwak_auto.deploy.slots` turns them into slots."""
    live = [u for u in upstreams if u.weight > 0]
    divisor = math.gcd(*(u.weight for u in live)) if live else 1
    return tuple(replace(u, weight=u.weight // divisor) for u in live)


def _name(key: str) -> str:
    """A Caddy server name for a site key, unique even where two keys read alike."""
    slug = _NAME.sub("-", key.lower()).strip("-") or "site"
    return f"{slug}-{hashlib.sha1(key.encode()).hexdigest()[:6]}"
