"""Predictions: files (all or nothing, bad rows by line) and prediction-log segments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from qwak_auto.analytics.ingest import ingest_file, ingest_segments
from qwak_auto.analytics.query import run_query
from qwak_auto.config import Config
from qwak_auto.errors import UsageError


def _record(i: int, **over: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "model_id": "churn",
        "build_id": "b1",
        "variation": "default",
        "environment": "dev",
        "ts": f"2026-01-01T00:00:{i:02d}Z",
        "latency_ms": 2.5,
        "status": 200,
        "features": {"age": 30 + i},
        "prediction": {"score": i / 10, "segment": "a"},
        "label": None,
    }
    rec.update(over)
    return rec


def _jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _count(config: Config) -> int:
    return int(run_query(config, "SELECT count(*) FROM predictions").rows[0][0])


def test_jsonl_loads_with_output_columns(config: Config, tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "p.jsonl", [_record(i) for i in range(4)])
    report = ingest_file(config, path)
    assert report.ok
    assert report.rows == 4
    assert set(report.columns_added) == {"score", "segment"}
    result = run_query(
        config,
        "SELECT round(avg(score), 6), any_value(segment), typeof(any_value(score)), "
        "typeof(any_value(segment)), max(features->>'age') FROM predictions "
        "WHERE model_id = 'churn'",
    )
    assert result.rows == ((0.15, "a", "DOUBLE", "VARCHAR", "33"),)


def test_bad_row_loads_nothing_and_names_the_line(config: Config, tmp_path: Path) -> None:
    records = [_record(0), _record(1, ts="yesterday"), _record(2), _record(3, status="ok")]
    path = _jsonl(tmp_path / "p.jsonl", records)
    with path.open("a") as handle:
        handle.write("{not json\n")
        handle.write(json.dumps({"model_id": "churn", "ts": "2026-01-01T00:00:00Z"}) + "\n")
    report = ingest_file(config, path)
    assert not report.ok
    assert report.rows == 0
    assert report.error_count == 4
    assert report.errors[0] == "line 2: ts: 'yesterday' is not an ISO-8601 time"
    assert report.errors[1].startswith("line 4: status:")
    assert report.errors[2].startswith("line 5: not valid JSON")
    assert report.errors[3] == "line 6: missing required field(s): prediction"
    assert _count(config) == 0


def test_unknown_field_is_an_error(config: Config, tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "p.jsonl", [_record(0, scroe=1)])
    report = ingest_file(config, path)
    assert report.errors[0].startswith("line 1: unknown field(s) scroe")


def test_model_id_from_outside(config: Config, tmp_path: Path) -> None:
    rec = _record(0)
    del rec["model_id"]
    path = _jsonl(tmp_path / "p.jsonl", [rec])
    assert not ingest_file(config, path).ok
    assert ingest_file(config, path, model_id="fraud").rows == 1
    assert run_query(config, "SELECT model_id FROM predictions").rows == (("fraud",),)


def test_csv(config: Config, tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "model_id,ts,latency_ms,status,features,prediction\n"
        'churn,2026-01-01T00:00:00Z,1.5,200,"{""a"": 1}","{""score"": 0.25}"\n'
        "churn,2026-01-01 00:00:01,,500,,0.5\n",
        encoding="utf-8",
    )
    report = ingest_file(config, path)
    assert report.ok, report.errors
    rows = run_query(
        config, "SELECT status, score, prediction_value, latency_ms FROM predictions ORDER BY ts"
    ).rows
    assert rows == ((200, 0.25, None, 1.5), (500, None, 0.5, None))


def test_csv_bad_row_reports_its_line(config: Config, tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "model_id,ts,prediction\nchurn,2026-01-01T00:00:00Z,1\nchurn,never,1\n",
        encoding="utf-8",
    )
    report = ingest_file(config, path)
    assert report.errors == ("line 3: ts: 'never' is not an ISO-8601 time",)
    assert _count(config) == 0


def _parquet(path: Path, select: str) -> Path:
    conn = duckdb.connect(":memory:")
    try:
        conn.execute(f"COPY ({select}) TO '{path}' (FORMAT parquet)")
    finally:
        conn.close()
    return path


def test_parquet(config: Config, tmp_path: Path) -> None:
    path = _parquet(
        tmp_path / "p.parquet",
        "SELECT 'churn' AS model_id, TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(i) AS ts, "
        "200 AS status, '{\"score\": ' || i || '}' AS prediction FROM range(5) t(i)",
    )
    report = ingest_file(config, path)
    assert report.ok, report.errors
    assert run_query(config, "SELECT sum(score) FROM predictions").rows == ((10.0,),)


def test_parquet_bad_row(config: Config, tmp_path: Path) -> None:
    path = _parquet(
        tmp_path / "p.parquet",
        "SELECT 'churn' AS model_id, CASE WHEN i = 3 THEN NULL ELSE "
        "TIMESTAMP '2026-01-01' END AS ts, i AS prediction FROM range(5) t(i)",
    )
    report = ingest_file(config, path)
    assert report.errors == ("row 4: missing required field(s): ts",)
    assert _count(config) == 0


def test_unknown_suffix(config: Config, tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text("x")
    with pytest.raises(UsageError, match="cannot tell"):
        ingest_file(config, path)


def test_a_folder_or_a_missing_file_is_a_usage_error_with_a_hint(
    config: Config, tmp_path: Path
) -> None:
    with pytest.raises(UsageError, match="is a folder") as folder:
        ingest_file(config, tmp_path)
    assert folder.value.hint
    with pytest.raises(UsageError, match="no such file") as missing:
        ingest_file(config, tmp_path / "nope.jsonl")
    assert missing.value.hint


def test_scalar_and_reserved_outputs(config: Config, tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "p.jsonl",
        [
            _record(0, prediction=1),
            _record(1, prediction={"status": "x", "bad name": 1, "flag": True, "nested": {"a": 1}}),
        ],
    )
    report = ingest_file(config, path)
    assert report.ok
    assert set(report.columns_added) == {"prediction_value", "flag", "nested"}
    rows = run_query(
        config,
        "SELECT prediction_value, flag, nested, status, prediction->>'bad name' "
        "FROM predictions ORDER BY ts",
    ).rows
    assert rows == ((1.0, None, None, 200, None), (None, 1.0, '{"a": 1}', 200, "1"))


def test_type_mismatch_becomes_null(config: Config, tmp_path: Path) -> None:
    ingest_file(config, _jsonl(tmp_path / "a.jsonl", [_record(0)]))
    ingest_file(config, _jsonl(tmp_path / "b.jsonl", [_record(1, prediction={"score": "high"})]))
    rows = run_query(config, "SELECT score, prediction->>'score' FROM predictions ORDER BY ts").rows
    assert rows == ((0.0, "0.0"), (None, "high"))


# ---------------------------------------------------------------- segments


def _segment_dir(config: Config) -> Path:
    folder = config.home / "predictions" / "churn" / "default"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_segments_open_then_closed_loaded_once(config: Config) -> None:
    folder = _segment_dir(config)
    lines = [json.dumps(_record(i)) + "\n" for i in range(5)]
    open_seg = folder / "b1-100-1.jsonl.open"
    open_seg.write_text("".join(lines[:2]) + lines[2][:15])  # a half-written third line
    assert ingest_segments(config) == 2
    assert ingest_segments(config) == 0  # nothing new complete yet
    open_seg.write_text("".join(lines[:4]))
    assert ingest_segments(config) == 2
    open_seg.write_text("".join(lines))
    open_seg.rename(folder / "b1-100-1.jsonl")
    assert ingest_segments(config) == 1
    assert ingest_segments(config) == 0
    assert _count(config) == 5
    assert run_query(config, "SELECT segment, done, rows FROM _ingested").rows == (
        ("churn/default/b1-100-1.jsonl", True, 5),
    )


def test_closed_segment_without_final_newline(config: Config) -> None:
    folder = _segment_dir(config)
    (folder / "b1-1-1.jsonl").write_text(json.dumps(_record(0)))
    assert ingest_segments(config) == 1


def test_bad_segment_line_is_skipped_not_fatal(config: Config) -> None:
    folder = _segment_dir(config)
    (folder / "b1-1-1.jsonl").write_text(
        json.dumps(_record(0)) + "\n{broken\n" + json.dumps(_record(1, ts="x")) + "\n"
    )
    assert ingest_segments(config) == 1


def test_no_segments_no_store(config: Config) -> None:
    assert ingest_segments(config) == 0
    assert not (config.home / "analytics.duckdb").exists()


def test_output_names_differing_in_case_share_a_column(config: Config, tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "p.jsonl",
        [_record(0, prediction={"Score": 1}), _record(1, prediction={"score": 2, "SCORE": 3})],
    )
    report = ingest_file(config, path)
    assert report.columns_added == ("Score",)
    assert run_query(config, "SELECT score FROM predictions ORDER BY ts").rows == ((1.0,), (2.0,))


def test_null_output_adds_no_column_until_typed(config: Config, tmp_path: Path) -> None:
    report = ingest_file(config, _jsonl(tmp_path / "a.jsonl", [_record(0, prediction={"p": None})]))
    assert report.columns_added == ()
    report = ingest_file(config, _jsonl(tmp_path / "b.jsonl", [_record(1, prediction={"p": 0.5})]))
    assert report.columns_added == ("p",)


def test_threads_of_one_process_load_each_line_once(config: Config) -> None:
    from concurrent.futures import ThreadPoolExecutor

    folder = _segment_dir(config)
    for i in range(10):
        (folder / f"b1-{i}-1.jsonl").write_text(
            "".join(json.dumps(_record(j)) + "\n" for j in range(20))
        )
    with ThreadPoolExecutor(3) as pool:
        loaded = sorted(pool.map(lambda _: ingest_segments(config), range(3)))
    assert loaded == [0, 0, 200]
    assert _count(config) == 200


def test_segment_line_with_null_prediction_is_kept(config: Config) -> None:
    folder = _segment_dir(config)
    (folder / "b1-1-1.jsonl").write_text(json.dumps(_record(0, prediction=None)) + "\n")
    assert ingest_segments(config) == 1
    assert run_query(config, "SELECT prediction FROM predictions").rows == ((None,),)


def test_served_model_log_format(config: Config) -> None:
    """The line the model server writes (qwak_auto/serve/predlog.py) loads as is."""
    folder = _segment_dir(config)
    line = {
        "model_id": "churn",
        "build_id": "b1",
        "variation": "default",
        "environment": "dev",
        "ts": "2026-01-01T00:00:00.123Z",
        "latency_ms": 1.234,
        "status": 200,
        "features": {"age": 3},
        "prediction": {"churn_probability": 0.3},
        "label": None,
    }
    (folder / "b1-77-1700000000000.jsonl.open").write_text(json.dumps(line) + "\n")
    assert ingest_segments(config) == 1
    rows = run_query(config, "SELECT churn_probability, epoch_ms(ts) FROM predictions").rows
    assert rows == ((0.3, 1767225600123),)
