"""qwak_inference.realtime_client."""

from __future__ import annotations

from qwak_inference.realtime_client.client import RealTimeClient, SocketConfiguration

__all__ = ["RealTimeClient", "SocketConfiguration"]
