"""A compatibility package for Qwak model repositories built and served by auto.

It provides what model code uses from qwak-core, with qwak-core's signatures and return types
(checked against the real package by tests/integration/runtime/test_shim_surface.py):
``log_metric`` / ``log_param`` (dicts, as in the Qwak SDK), ``log_data``, ``log_file``, the
``api`` decorator (``qwak.model.decorators.api``) with its input and output adapters
(``qwak.model.adapters``), ``qwak_timer``, ``qwak.exceptions``, ``qwak.model.base``,
``qwak.model.schema`` (and ``schema_entities``), ``qwak.model.tools.run_local`` and
``qwak.testing.fixtures``. Qwak's hosted services (feature store, platform clients, artifact
store) are left out on purpose: using one fails with a message that says so
(see ``qwak._auto_leftout``). Only the standard library is needed to import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qwak import _auto_leftout
from qwak.model.decorators.api import api_decorator as api
from qwak.model.decorators.timer import qwak_timer
from qwak_auto import runtime

__version__ = "0.7.160+auto"

__all__ = ["api", "log_data", "log_file", "log_metric", "log_param", "qwak_timer"]

_auto_leftout.install()


def _pairs(what: str, first: Any, value: Any) -> list[tuple[str, Any]]:
    if isinstance(first, Mapping):
        return [(str(k), v) for k, v in first.items()]
    if isinstance(first, str) and value is not None:
        return [(first, value)]
    raise TypeError(f"qwak.{what} takes a dict of name -> value (or a name and a value)")


def log_metric(metrics: Any, value: Any = None) -> None:
    """``qwak.log_metric({"f1_score": 0.91})``: metrics of this build (auto also takes
    ``log_metric("f1_score", 0.91)``)."""
    for name, number in _pairs("log_metric", metrics, value):
        runtime.log_metric(name, number)


def log_param(params: Any, value: Any = None) -> None:
    """``qwak.log_param({"n_estimators": 300})``: parameters of this build."""
    for name, item in _pairs("log_param", params, value):
        runtime.log_param(name, item)


def log_data(
    dataframe: Any,
    tag: str,
    model_id: str | None = None,
    build_id: str | None = None,
    encoding: str = "utf-8",
) -> None:
    """auto records the frame's shape under ``tag`` (the data stays with the build)."""
    runtime.log_data(dataframe, tag)


def log_file(
    from_path: str,
    tag: str = "artifact",
    model_id: str | None = None,
    build_id: str | None = None,
) -> None:
    """Accepted with no effect: the build's files stay in its ``code/`` copy, which the
    served model reads (Qwak's artifact store, read back by ``load_file``, is left out)."""


# Older SDKs named the api decorator `analytics`.
analytics = api


def __getattr__(name: str) -> Any:
    raise _auto_leftout.missing(__name__, name)
