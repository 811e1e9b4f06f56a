from __future__ import annotations

from qwak_auto.cli import entry

entry()
