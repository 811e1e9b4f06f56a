"""The state store: records of automations, runs, steps, builds, deployments, evaluations."""

from __future__ import annotations
