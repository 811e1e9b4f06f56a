"""Secret backends, their registry, and the redactor every output passes through."""

from __future__ import annotations
