"""The model server: a WSGI app served by gunicorn (``python -m qwak_auto.serve``).

Everything in this package runs inside the build environment, so it imports only the
standard library, pandas, numpy, cloudpickle, gunicorn and ``qwak_auto.redact``.
"""

from __future__ import annotations
