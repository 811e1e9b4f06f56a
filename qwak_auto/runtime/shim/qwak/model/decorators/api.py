"""``@qwak.api()``: marks the prediction method and names its input and output adapters.

As in qwak-core, the decorator must be called (``@api()``); the adapters and options are
left on the function (``_input_adapter``, ``_output_adapter``, ``_fs_extraction`` and the
analytics options), where auto's server and ``run_local`` read them (qwak_auto/serve/adapters.py).
Calling the method directly runs it unchanged.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import Any

from qwak import _auto_leftout
from qwak.exceptions import QwakException
from qwak.model.adapters import (
    BaseInputAdapter,
    BaseOutputAdapter,
    DataFrameInputAdapter,
    DataFrameOutputAdapter,
)

__all__ = ["API_NOT_CONFIGURED_ERROR_MESSAGE", "QwakException", "api_decorator"]

API_NOT_CONFIGURED_ERROR_MESSAGE = (
    "There has been an error configuring the Qwak model. When testing locally, "
    "please use 'run_local' as described in our docs: "
    "https://docs.qwak.com/docs/testing-locally#/running-models-locally"
)

_FORGOT_TO_CALL = """
        You forgot to call the `@api` decorator.

        Correct way -
        @api()
        def function():
            pass

        Wrong way -
        @api
        def function():
            pass
        """


def api_decorator(
    analytics: bool = True,
    analytics_sample_ratio: float = 1.0,
    analytics_exclude_columns: list = [],  # type: ignore[type-arg]  # noqa: B006 - qwak-core's
    feature_extraction: bool = False,
    input_adapter: BaseInputAdapter = DataFrameInputAdapter(),  # noqa: B008 - qwak-core's
    output_adapter: BaseOutputAdapter = DataFrameOutputAdapter(),  # noqa: B008 - qwak-core's
) -> Callable:  # type: ignore[type-arg]
    if callable(analytics):
        raise TypeError(_FORGOT_TO_CALL)
    if feature_extraction:
        raise _auto_leftout.LeftOutError(
            _auto_leftout.message("qwak.feature_store")
            + " (`@api(feature_extraction=True)` needs it)",
            name="qwak.feature_store",
        )

    def load(func: Callable[..., Any]) -> Callable[..., Any]:
        func = _extract_wrapped(func)
        func._input_adapter = input_adapter  # type: ignore[attr-defined]
        func._output_adapter = output_adapter  # type: ignore[attr-defined]
        func._fs_extraction = feature_extraction  # type: ignore[attr-defined]
        func._analytics = analytics  # type: ignore[attr-defined]
        func._analytics_sample_ratio = analytics_sample_ratio  # type: ignore[attr-defined]
        func._analytics_exclude_columns = list(analytics_exclude_columns)  # type: ignore[attr-defined]

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            return func(*args, **kwargs)

        return run

    return load


def __getattr__(name: str) -> Any:
    raise _auto_leftout.missing(__name__, name)


def _extract_wrapped(decorated: Callable[..., Any]) -> Callable[..., Any]:
    """qwak-core's extract_wrapped: the first plain function in a decorator's closure."""
    closure = getattr(decorated, "__closure__", None)
    if closure:
        inner = (cell.cell_contents for cell in closure)
        return next((c for c in inner if isinstance(c, types.FunctionType)), decorated)
    return decorated
