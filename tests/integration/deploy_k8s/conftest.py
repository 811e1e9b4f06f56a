"""A recording `kubectl` on PATH: it logs every call (argv and stdin) as a JSON line, keeps the
last applied manifests, and fails `rollout status` while the last applied manifests contain
the text in $KUBECTL_FAIL_ROLLOUT_IF. No API server runs here; this records the conversation."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

SCRIPT = r"""#!{python}
import json, os, sys
record = os.environ["KUBECTL_RECORD"]
state = record + ".applied"
stdin = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
with open(record, "a") as fh:
    fh.write(json.dumps({{"argv": sys.argv[1:], "stdin": stdin}}) + "\n")
args = sys.argv[1:]
if "apply" in args:
    with open(state, "w") as fh:
        fh.write(stdin)
    print("deployment.apps/model configured")
    sys.exit(0)
if "rollout" in args:
    fail = os.environ.get("KUBECTL_FAIL_ROLLOUT_IF", "")
    applied = open(state).read() if os.path.exists(state) else ""
    if fail and fail in applied:
        print("error: deployment exceeded its progress deadline", file=sys.stderr)
        sys.exit(1)
    print("deployment successfully rolled out")
    sys.exit(0)
if "get" in args and "secret" in args:
    print(json.dumps({{"data": {{}}}}))
    sys.exit(0)
sys.exit(0)
"""


class Kubectl:
    def __init__(self, record: Path) -> None:
        self.record = record

    def calls(self) -> list[dict[str, object]]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines()]


@pytest.fixture
def kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Kubectl:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "kubectl"
    exe.write_text(SCRIPT.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    record = tmp_path / "kubectl.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("KUBECTL_RECORD", str(record))
    return Kubectl(record)
