"""Deployment conditions: a build's metrics against thresholds. Reads only."""
