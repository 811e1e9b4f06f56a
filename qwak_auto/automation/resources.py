"""What the build and the deployment both describe: CPU and GPU resources, env_vars."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qwak_auto.automation.units import normalise_memory


@dataclass(frozen=True, slots=True)
class CpuResources:
    cpu_fraction: float = 2.0
    memory: str = "2Gi"


@dataclass(frozen=True, slots=True)
class GpuResources:
    gpu_type: str
    gpu_amount: int = 1


class EnvVars:
    """A spec with ``env_vars`` entries (``NAME=value``), read as a mapping by ``env``."""

    __slots__ = ()
    env_vars: tuple[str, ...]

    @property
    def env(self) -> dict[str, str]:
        return dict(entry.split("=", 1) for entry in self.env_vars)


def gpu_of(doc: Mapping[str, Any] | None) -> GpuResources | None:
    if not doc:
        return None
    return GpuResources(gpu_type=doc["gpu_type"], gpu_amount=doc.get("gpu_amount", 1))


def memory_of(value: Any, default: str = "2Gi") -> str:
    return normalise_memory(str(value)) or default if value is not None else default


def str_map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()}
