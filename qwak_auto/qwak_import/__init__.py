"""`auto import-qwak`: Qwak automation Python files to automation YAML, never run."""

from __future__ import annotations
