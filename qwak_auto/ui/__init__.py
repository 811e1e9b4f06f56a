"""`auto ui`: a read-only dashboard (a WSGI app served by gunicorn on 127.0.0.1)."""

from __future__ import annotations
