"""qwak_inference.realtime_client."""

from __future__ import annotations

from qwak_inference.realtime_client.client import (  # type: ignore[import-not-found,unused-ignore]
    InferenceOutputFormat,
    RealTimeClient,
)

__all__ = ["InferenceOutputFormat", "RealTimeClient"]
