"""A compatibility ``qwak_inference``: a real-time client for models served by auto."""

from __future__ import annotations

from typing import Any

from qwak import _auto_leftout

from qwak_inference.realtime_client import RealTimeClient
from qwak_inference.realtime_client.client import InferenceOutputFormat

__all__ = ["InferenceOutputFormat", "RealTimeClient"]
__version__ = "0.2.1+auto"

_auto_leftout.install()


def __getattr__(name: str) -> Any:
    raise _auto_leftout.missing(__name__, name)
