"""A compatibility ``qwak_inference``: a real-time client for models served by auto."""

from __future__ import annotations

from typing import Any

from qwak._auto_leftout import install, missing

from qwak_inference.realtime_client import RealTimeClient
from qwak_inference.realtime_client.client import InferenceOutputFormat

__all__ = ["InferenceOutputFormat", "RealTimeClient"]
__version__ = "0.2.1+auto"

install()


def __getattr__(name: str) -> Any:
    raise missing("qwak_inference", name)
