"""The automation file format: load (positions, hazards), schema, semantic checks, model."""

from __future__ import annotations
