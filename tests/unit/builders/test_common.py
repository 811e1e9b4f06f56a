from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from qwak_auto.builders import common
from qwak_auto.console import step_display
from qwak_auto.redact import register

WHEN = datetime(2026, 3, 29, 1, 2, 3, tzinfo=UTC)


def test_build_id_format(tmp_path: Path) -> None:
    build_id, log = common.claim_build_id(tmp_path, "churn", "4ef3faf5f9ce", WHEN)
    assert build_id == "churn-20260329010203-4ef3faf"
    assert log == tmp_path / "logs" / "builds" / f"{build_id}.log"
    assert log.is_file()


def test_build_ids_are_unique_within_a_second(tmp_path: Path) -> None:
    ids = {common.claim_build_id(tmp_path, "churn", "abcdef1234", WHEN)[0] for _ in range(5)}
    assert len(ids) == 5
    assert all(re.fullmatch(r"churn-20260329010203-abcdef1(-[0-9a-f]{6})?", i) for i in ids)


def test_build_id_sanitises_the_model_id(tmp_path: Path) -> None:
    build_id, _ = common.claim_build_id(tmp_path, "my model/v2", "", WHEN)
    assert build_id == "my-model-v2-20260329010203-nocommit"


def test_provenance_has_what_the_issue_lists() -> None:
    prov = common.provenance(
        automation="churn-retrain",
        spec_hash="abc",
        model_id="churn",
        build_id="b1",
        builder="local",
        repo_url="file:///repo",
        branch="main",
        commit="c" * 40,
        dependencies={"hash": "h", "resolved": ["pandas==2.2.0"]},
        python="3.11.7",
        metrics={"f1_score": 0.8},
        params={"n": "3"},
        artifact={"model.pkl": {"sha256": "d"}},
        timings={"total": 1.23456},
        started_at=WHEN,
        ended_at=WHEN,
        tests={"unit": "passed", "it": "passed"},
    )
    assert prov["automation"] == "churn-retrain"
    assert prov["spec_hash"] == "abc"
    assert prov["source"]["commit"] == "c" * 40
    assert prov["dependencies"]["resolved"] == ["pandas==2.2.0"]
    assert prov["python"] == "3.11.7"
    assert prov["metrics"] == {"f1_score": 0.8}
    assert prov["artifact"]["model.pkl"]["sha256"] == "d"
    assert prov["timings"] == {"total": 1.235}


def test_output_writes_redacted_lines_to_the_log(tmp_path: Path, capsys) -> None:
    register("s3cr3t-value")
    log = tmp_path / "b.log"
    with common.BuildOutput(log, display=step_display("t")) as out:
        out.write("token=s3cr3t-value\npartial")
        out.write(" line\n")
    text = log.read_text(encoding="utf-8")
    assert "s3cr3t-value" not in text
    assert "token=***" in text
    assert "partial line" in capsys.readouterr().err


def test_one_line() -> None:
    assert common.one_line("\n  first\nsecond") == "first"
    assert common.one_line("") == "unknown error"


def test_copy_code_leaves_out_git_and_caches(tmp_path: Path) -> None:
    src = tmp_path / "src"
    for name in ("main/model.py", ".git/config", "main/__pycache__/x.pyc", "tests/t.py"):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text("x", encoding="utf-8")
    common.copy_code(src, tmp_path / "code")
    copied = sorted(
        p.relative_to(tmp_path / "code").as_posix() for p in (tmp_path / "code").rglob("*")
    )
    assert copied == ["main", "main/model.py", "tests", "tests/t.py"]


def test_output_lines_are_json_log_lines_with_log_format_json(tmp_path: Path, capsys) -> None:
    import json

    from qwak_auto import log as logging

    register("s3cr3t-value")
    logging.configure(log_format="json")
    try:
        with common.BuildOutput(tmp_path / "b.log", display=step_display("b1")) as out:
            out.write("==> building\ntoken=s3cr3t-value\n\n")
    finally:
        logging.configure(log_format="text")
    lines = capsys.readouterr().err.splitlines()
    records = [json.loads(line) for line in lines]  # every line is JSON
    assert [r["message"] for r in records] == ["==> building", "token=***"]
    assert {r["build"] for r in records} == {"b1"}


def test_output_tail_keeps_the_last_lines_on_one_line() -> None:
    output = (
        "==> environment abc: reused (uv)\n"
        "Traceback (most recent call last):\n"
        '  File "<frozen runpy>", line 189, in _run_module_as_main\n'
        "\n"
        "ModuleNotFoundError: No module named 'qwak_auto'\n"
    )
    tail = common.output_tail(output)
    assert tail.endswith("ModuleNotFoundError: No module named 'qwak_auto'")
    assert "\n" not in tail
    assert tail.count(" | ") == 2
    assert common.output_tail("") == "no output"
    assert len(common.output_tail("x" * 1000 + "\n" + "y" * 1000)) <= 300
