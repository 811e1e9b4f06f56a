"""What model code imports: the :class:`Model` base class and the build-time log.

Runs inside the build environment and the model server, so it needs only the standard
library (pandas is imported by the model, not here). The harness fills the build context
(parameters, env_vars) before it calls ``build()`` and reads the logged metrics and params
afterwards; outside a build, logging is kept in memory and ``parameters`` is empty.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BuildLog",
    "Model",
    "current",
    "env",
    "log_data",
    "log_metric",
    "log_param",
    "parameters",
    "record_timing",
    "reset",
    "timings",
]


@dataclass(slots=True)
class BuildLog:
    """What one build logged. Metrics must be finite numbers (checked by the harness)."""

    parameters: dict[str, str] = field(default_factory=dict)
    env_vars: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    data: dict[str, tuple[int, int]] = field(default_factory=dict)  # tag -> (rows, columns)


_current = BuildLog()


def current() -> BuildLog:
    return _current


def reset(
    parameters: Mapping[str, str] | None = None, env_vars: Mapping[str, str] | None = None
) -> BuildLog:
    """Start a fresh build log (the harness calls this once before build())."""
    global _current
    _current = BuildLog(parameters=dict(parameters or {}), env_vars=dict(env_vars or {}))
    return _current


def parameters() -> Mapping[str, str]:
    """The build spec's ``parameters`` (strings), as given to this build."""
    return dict(_current.parameters)


def env() -> Mapping[str, str]:
    """The build spec's ``env_vars`` (also set in ``os.environ`` during the build)."""
    return dict(_current.env_vars)


def log_metric(name: str, value: Any) -> None:
    """Record a metric of this build. The harness fails the build if it is not finite."""
    _current.metrics[str(name)] = value


def log_param(name: str, value: Any) -> None:
    _current.params[str(name)] = str(value)


def log_data(dataframe: Any, tag: str) -> None:
    """Qwak's log_data: auto records the shape only (the data stays with the model)."""
    shape = getattr(dataframe, "shape", None)
    rows, cols = (int(shape[0]), int(shape[1])) if shape is not None and len(shape) == 2 else (0, 0)
    _current.data[str(tag)] = (rows, cols)


_timings: dict[str, tuple[int, float]] = {}  # name -> (count, seconds), this process
_timings_lock = threading.Lock()


def record_timing(name: str, seconds: float) -> None:
    """One run of a named section of model code (``qwak.qwak_timer``); the model server
    exposes the totals in ``/metrics`` as ``auto_model_timer_seconds``."""
    with _timings_lock:
        count, total = _timings.get(name, (0, 0.0))
        _timings[name] = (count + 1, total + seconds)


def timings() -> dict[str, tuple[int, float]]:
    with _timings_lock:
        return dict(_timings)


def finite_number(value: Any) -> float | None:
    """``value`` as a float when it is a finite real number (bools excluded), else None."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class Model:
    """Base class for auto models (Qwak's ``QwakModel`` is a subclass of this).

    ``build()`` trains (runs once, in the build); ``initialize_model()`` runs once in each
    server worker after the built model is loaded; ``predict(df)`` answers requests.
    """

    def build(self) -> None:
        """Train the model. Override."""

    def initialize_model(self) -> None:
        """Prepare a loaded model for serving (open files, warm caches). Optional."""

    def predict(self, df: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.predict(df) is not implemented")

    def schema(self) -> Any:
        return None

    # Settable, because Qwak models often assign attributes of their own in __init__.
    @property
    def parameters(self) -> Mapping[str, str]:
        value = self.__dict__.get("_auto_parameters")
        return parameters() if value is None else value

    @parameters.setter
    def parameters(self, value: Mapping[str, str]) -> None:
        self.__dict__["_auto_parameters"] = value

    @property
    def env_vars(self) -> Mapping[str, str]:
        value = self.__dict__.get("_auto_env_vars")
        return env() if value is None else value

    @env_vars.setter
    def env_vars(self, value: Mapping[str, str]) -> None:
        self.__dict__["_auto_env_vars"] = value

    def log_metric(self, name: str, value: Any) -> None:
        log_metric(name, value)

    def log_param(self, name: str, value: Any) -> None:
        log_param(name, value)

    @staticmethod
    def getenv(name: str, default: str | None = None) -> str | None:
        return os.environ.get(name, default)
