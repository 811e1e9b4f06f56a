"""What the build harness is asked to do, how it fails and how it shows progress (shared by
:mod:`qwak_auto.builders.harness` and :mod:`qwak_auto.builders.harness_tests`).

Only the standard library is imported here: this runs inside the build environment.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path


class HarnessFailure(Exception):
    """A failed build: the message is the one-line reason recorded with it."""


@dataclass(slots=True)
class Request:
    code_dir: Path
    main_dir: str
    out_dir: Path
    model_id: str
    build_id: str
    parameters: dict[str, str] = field(default_factory=dict)
    env_vars: dict[str, str] = field(default_factory=dict)
    run_tests: bool = True
    run_it: bool = True
    deadline: float = 0.0  # epoch seconds; 0 = none

    @classmethod
    def load(cls, path: Path) -> Request:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            code_dir=Path(raw["code_dir"]),
            main_dir=str(raw.get("main_dir", "main")),
            out_dir=Path(raw["out_dir"]),
            model_id=str(raw["model_id"]),
            build_id=str(raw["build_id"]),
            parameters={str(k): str(v) for k, v in (raw.get("parameters") or {}).items()},
            env_vars={str(k): str(v) for k, v in (raw.get("env_vars") or {}).items()},
            run_tests=bool(raw.get("run_tests", True)),
            run_it=bool(raw.get("run_it", True)),
            deadline=float(raw.get("deadline") or 0.0),
        )

    def remaining(self) -> float:
        if not self.deadline:
            return 3600.0
        left = self.deadline - time.time()
        if left <= 0:
            raise HarnessFailure("the build ran past its timeout")
        return left


def phase(name: str) -> None:
    """A progress marker the builder shows on the terminal (and keeps in the log)."""
    print(f"==> {name}", flush=True)


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    detail = text[0] if text else ""
    return f"{type(exc).__name__}: {detail}"[:300] if detail else type(exc).__name__
