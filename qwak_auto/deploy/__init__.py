"""Deployers: put a built model behind an address (``local``: gunicorn on 127.0.0.1 behind a
stable-address proxy; ``kubernetes``: manifests applied with kubectl)."""

from __future__ import annotations
