"""Builders: turn a checked-out model repository into a built model artifact.

``local.py`` (a cached virtual environment and a subprocess) and ``docker.py`` share the
harness (``harness.py``, which runs INSIDE the build environment) and the bookkeeping in
``common.py`` (build ids, staging, provenance, the build log). This package's ``__init__``
stays import-free because the harness runs in environments that have only the model's
dependencies.
"""

from __future__ import annotations
