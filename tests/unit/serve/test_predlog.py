from __future__ import annotations

import json
from pathlib import Path

from qwak_auto.serve.predlog import Entry, PredictionLog


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _log(tmp_path: Path, clock: Clock, **kw: object) -> PredictionLog:
    return PredictionLog(
        tmp_path, model_id="churn", build_id="b1", variation="v", environment="prod",
        clock=clock, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_lines_follow_the_contract(tmp_path: Path) -> None:
    log = _log(tmp_path, Clock())
    log.write(Entry([{"x": 1}, {"x": float("nan")}], [{"score": 2.0}], 1.23456, 200, 0.0))
    log.flush()
    (segment,) = (tmp_path / "churn" / "v").iterdir()
    assert segment.name.endswith(".jsonl.open")
    first, second = (json.loads(line) for line in segment.read_text().splitlines())
    assert first == {
        "model_id": "churn", "build_id": "b1", "variation": "v", "environment": "prod",
        "ts": "1970-01-01T00:00:00.000Z", "latency_ms": 1.235, "status": 200,
        "features": {"x": 1}, "prediction": {"score": 2.0}, "label": None,
    }  # fmt: skip
    assert second["features"] == {"x": None}  # NaN is not JSON
    assert second["prediction"] is None  # fewer outputs than inputs
    log.close()
    (closed,) = (tmp_path / "churn" / "v").iterdir()
    assert closed.name.endswith(".jsonl")
    assert closed.name.startswith("b1-")


def test_rotation_by_records_and_age(tmp_path: Path) -> None:
    clock = Clock()
    log = _log(tmp_path, clock, max_records=2, max_seconds=10)
    log.write(Entry([{"x": i} for i in range(5)], [], 1.0, 200, clock.now))
    folder = tmp_path / "churn" / "v"
    assert len(list(folder.glob("*.jsonl"))) == 2
    assert len(list(folder.glob("*.jsonl.open"))) == 1
    log.rotate_if_due()
    assert len(list(folder.glob("*.jsonl.open"))) == 1
    clock.now += 11
    log.rotate_if_due()
    assert len(list(folder.glob("*.jsonl"))) == 3
    assert not list(folder.glob("*.open"))
    total = sum(len(p.read_text().splitlines()) for p in folder.iterdir())
    assert total == 5
