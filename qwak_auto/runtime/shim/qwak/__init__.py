"""A compatibility package for Qwak model repositories built and served by auto.

Only what model code and its tests use is provided: ``log_metric``/``log_param`` (dicts, as in
the Qwak SDK), ``log_data``, the ``api``/``analytics`` decorators (with input adapters),
``qwak.model.base``, ``qwak.model.schema`` (and ``schema_entities``), ``qwak.model.adapters``,
``qwak.model.tools.run_local`` and ``qwak.testing.fixtures``.
Everything here needs only the standard library (pandas is imported where data is handled).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from qwak_auto import runtime

__version__ = "0.0.0+auto"

F = TypeVar("F", bound=Callable[..., Any])


def _pairs(what: str, first: Any, value: Any) -> list[tuple[str, Any]]:
    if isinstance(first, Mapping):
        return [(str(k), v) for k, v in first.items()]
    if isinstance(first, str) and value is not None:
        return [(first, value)]
    raise TypeError(f"qwak.{what} takes a dict of name -> value (or a name and a value)")


def log_metric(metrics: Any, value: Any = None, **_ignored: Any) -> None:
    """``qwak.log_metric({"f1_score": 0.91})``: a metric of this build."""
    for name, number in _pairs("log_metric", metrics, value):
        runtime.log_metric(name, number)


def log_param(params: Any, value: Any = None, **_ignored: Any) -> None:
    """``qwak.log_param({"n_estimators": 300})``: a parameter of this build."""
    for name, item in _pairs("log_param", params, value):
        runtime.log_param(name, item)


def log_data(dataframe: Any = None, tag: str = "data", **_ignored: Any) -> None:
    runtime.log_data(dataframe, tag)


def log_file(*_args: Any, **_kwargs: Any) -> None:
    """Accepted and ignored: auto keeps the model's files in the build's ``code/`` copy."""


def api(*args: Any, **options: Any) -> Any:
    """``@qwak.api(...)``: marks the prediction method. ``input_adapter`` is applied to the
    frame the server passes (see qwak.model.adapters); other options such as ``analytics``
    or ``feature_extraction`` are accepted, and auto logs predictions in its server."""
    adapter = options.get("input_adapter")

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*call_args: Any, **call_kwargs: Any) -> Any:
            if adapter is not None and hasattr(adapter, "adapt") and len(call_args) >= 2:
                call_args = (call_args[0], adapter.adapt(call_args[1]), *call_args[2:])
            return func(*call_args, **call_kwargs)

        wrapper.__qwak_api__ = True  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    # Allow the bare form `@qwak.api` as well as `@qwak.api()`.
    if len(args) == 1 and callable(args[0]) and not options:
        return decorate(args[0])
    return decorate


analytics = api
