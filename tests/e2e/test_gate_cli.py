"""`auto query` and `auto ingest predictions`, as a user types them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qwak_auto.cli import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _predictions(path: Path, bad_line: bool = False) -> Path:
    lines = [
        json.dumps(
            {"model_id": "churn", "ts": f"2026-01-01T00:00:0{i}Z", "prediction": {"score": i / 4}}
        )
        for i in range(4)
    ]
    if bad_line:
        lines[2] = json.dumps({"model_id": "churn", "ts": "soon", "prediction": 1})
    path.write_text("\n".join(lines) + "\n")
    return path


def test_query_on_an_empty_store(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "query", "SELECT avg(score) FROM predictions")
    # no `score` column yet: a clear failure, not a traceback
    assert code == 1
    code, out, _ = _run(capsys, "query", "SELECT count(*) AS n FROM predictions")
    assert code == 0
    assert "value: 0 (counts as a threshold)" in out


def test_ingest_then_query(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _predictions(tmp_path / "p.jsonl")
    code, out, _ = _run(capsys, "ingest", "predictions", str(path))
    assert code == 0
    assert out.strip() == f"loaded 4 predictions from {path} (new columns: score)"
    sql = "SELECT avg(score) FROM predictions WHERE model_id = 'churn'"
    code, out, _ = _run(capsys, "query", sql)
    assert code == 0
    assert out.splitlines()[-1] == "value: 0.375 (counts as a threshold)"
    code, out, _ = _run(capsys, "query", sql, "--format", "json")
    data = json.loads(out)
    assert data["counts"] is True
    assert data["value"] == 0.375
    assert data["columns"] == ["avg(score)"]


def test_ingest_bad_row_loads_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _predictions(tmp_path / "p.jsonl", bad_line=True)
    code, _, err = _run(capsys, "ingest", "predictions", str(path))
    assert code == 1
    assert f"{path}: line 3: ts: 'soon' is not an ISO-8601 time" in err
    assert "1 bad row(s); nothing was loaded" in err
    code, out, _ = _run(capsys, "query", "SELECT count(*) FROM predictions", "--format", "json")
    assert json.loads(out)["value"] == 0


def test_ingest_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _predictions(tmp_path / "p.jsonl", bad_line=True)
    code, out, _ = _run(capsys, "ingest", "predictions", str(path), "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["loaded"] == 0
    assert data["errors"] == ["line 3: ts: 'soon' is not an ISO-8601 time"]


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("SELECT * FROM range(3)", "returned 3 rows"),
        ("SELECT 'abc'", "not a number"),
        ("SELECT 'nan'::DOUBLE", "not a finite number"),
        ("SELECT 1 WHERE false", "no rows"),
    ],
)
def test_query_that_would_not_count(capsys: pytest.CaptureFixture[str], sql: str, why: str) -> None:
    code, out, _ = _run(capsys, "query", sql)
    assert code == 1
    assert "would not count as a threshold" in out
    assert why in out


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("COPY predictions TO '/tmp/x.csv'", "only SELECT queries are allowed, this is COPY"),
        ("SELECT 1; SELECT 2", "exactly one statement"),
        ("SELECT * FROM read_csv('/etc/passwd')", "file system operations are disabled"),
    ],
)
def test_query_refused(capsys: pytest.CaptureFixture[str], sql: str, why: str) -> None:
    code, _, err = _run(capsys, "query", sql)
    assert code == 1
    assert "error: would not count as a threshold:" in err
    assert why in err
    assert "Traceback" not in err


def test_query_table_shows_first_rows(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "query", "SELECT range AS n, range * 2 AS m FROM range(25)")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].split() == ["n", "m"]
    assert lines[1].split() == ["0", "0"]
    assert "(25 rows, first 20 shown)" in out


def test_bad_format(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "query", "SELECT 1", "--format", "yaml")
    assert code == 2
    assert "not a format" in err
