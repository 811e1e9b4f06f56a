"""CLI commands of this area (registered on import)."""

from __future__ import annotations

from qwak_auto.cli import app as app  # noqa: F401
