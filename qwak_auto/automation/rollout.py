"""How a new build takes traffic (``deployment_spec.rollout``) and the approval before it
(``requires_approval``): the typed values (extensions; SPEC-REFERENCE "Rollout, approval and
traffic")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qwak_auto.automation.units import parse_duration

DEFAULT_APPROVAL_TIMEOUT = 24 * 3600


@dataclass(frozen=True, slots=True, kw_only=True)
class Rollout:
    smoke_request_file: str = "main/sample_request.json"
    smoke_replay: int = 20
    canary_steps: tuple[int, ...] = (10, 50)
    step_seconds: int = 60
    bake_seconds: int = 0
    max_error_rate: float = 0.05
    max_p99_latency_ms: int | None = None
    min_requests: int = 20


# Before any traffic, even without a `rollout` block: the repository's sample request and
# recent production requests; then all of the variation's traffic at once.
SMOKE_ONLY = Rollout(canary_steps=(), step_seconds=0)


def seconds(text: Any, default: int) -> int:
    """A validated duration in seconds (``default`` when absent)."""
    if text is None:
        return default
    parsed = parse_duration(str(text))
    return default if parsed is None else parsed


def rollout_of(doc: Mapping[str, Any] | None) -> Rollout | None:
    if doc is None:
        return None
    return Rollout(
        smoke_request_file=doc.get("smoke_request_file", "main/sample_request.json"),
        smoke_replay=doc.get("smoke_replay", 20),
        canary_steps=tuple(doc.get("canary_steps", (10, 50))),
        step_seconds=seconds(doc.get("step_time"), 60),
        bake_seconds=seconds(doc.get("bake_time"), 0),
        max_error_rate=float(doc.get("max_error_rate", "0.05")),
        max_p99_latency_ms=doc.get("max_p99_latency_ms"),
        min_requests=doc.get("min_requests", 20),
    )
