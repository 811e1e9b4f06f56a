from __future__ import annotations

import json
from pathlib import Path

from qwak_auto.serve.metrics import Metrics


def test_render_merges_worker_snapshots(tmp_path: Path) -> None:
    other = Metrics({})
    other.observe("v1", 200, 0.002, 3)
    (tmp_path / "worker-1.json").write_text(json.dumps(other.snapshot()))
    mine = Metrics({"model_id": "churn", "build_id": 'b"1'}, tmp_path)
    mine.observe("v1", 200, 0.02, 1)
    mine.observe("predict", 413, 0.001, 7)
    mine.error("batch_too_large")
    text = mine.render(ready=True)
    assert 'auto_model_build_info{build_id="b\\"1",model_id="churn"} 1' in text
    assert 'auto_model_requests_total{route="v1",code="200"} 2' in text
    assert 'auto_model_requests_total{route="predict",code="413"} 1' in text
    assert 'auto_model_errors_total{reason="batch_too_large"} 1' in text
    assert 'auto_model_request_duration_seconds_bucket{le="0.0025"} 2' in text
    assert 'auto_model_request_duration_seconds_bucket{le="+Inf"} 3' in text
    assert "auto_model_batch_size_count 3" in text
    assert "auto_model_ready 1" in text


def test_persist_is_rate_limited(tmp_path: Path) -> None:
    metrics = Metrics({}, tmp_path)
    metrics.observe("v1", 200, 0.1, 1)
    metrics.persist(now=100.0)
    (written,) = tmp_path.glob("worker-*.json")
    metrics.observe("v1", 200, 0.1, 1)
    metrics.persist(now=100.5)
    assert json.loads(written.read_text())["latency"]["count"] == 1
    metrics.persist(now=101.5)
    assert json.loads(written.read_text())["latency"]["count"] == 2
