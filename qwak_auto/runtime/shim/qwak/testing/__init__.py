"""qwak.testing: pytest fixtures for a repository's ``tests/it``."""
