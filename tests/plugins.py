"""A real plugin distribution for tests: a ``.dist-info`` folder with ``entry_points.txt`` on
the import path, found by ``importlib.metadata`` exactly as an installed plugin package is."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from qwak_auto.platform import plugins

NAME = "auto-test-plugins"
VERSION = "0.1"


def write_plugin(root: Path, groups: Mapping[str, Mapping[str, str]]) -> Path:
    """Write the distribution under ``root``; ``groups`` maps an entry-point group to
    ``{name: "module:attr"}``. Returns ``root`` (put it on PYTHONPATH)."""
    dist = root / f"{NAME.replace('-', '_')}-{VERSION}.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n")
    lines: list[str] = []
    for group, entries in groups.items():
        lines.append(f"[{group}]")
        lines.extend(f"{name} = {target}" for name, target in entries.items())
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return root


def install_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, groups: Mapping[str, Mapping[str, str]]
) -> Path:
    """The plugin on this process's import path, for the length of the test (the registry
    forgets the entry points it read before every test: tests/conftest.py)."""
    root = write_plugin(tmp_path / "plugins", groups)
    monkeypatch.syspath_prepend(str(root))
    plugins.refresh()
    return root
