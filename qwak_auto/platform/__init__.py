"""Helpers that more than one step needs: AWS credentials, docker, locks."""
