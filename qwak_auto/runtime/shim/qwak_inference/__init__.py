"""A compatibility ``qwak_inference``: a real-time client for models served by auto."""

from __future__ import annotations

from qwak_inference.realtime_client.client import (  # type: ignore[import-not-found,unused-ignore]
    InferenceOutputFormat,
    RealTimeClient,
)

__all__ = ["InferenceOutputFormat", "RealTimeClient"]
