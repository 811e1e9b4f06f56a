"""What a build pod reports (its result line and termination message) and how the runner
reads a failed Job (Kubernetes' own reasons)."""

from __future__ import annotations

import json

from qwak_auto.builders.kubernetes_follow import Output, failure_reason
from qwak_auto.builders.kubernetes_pod import (
    TERMINATION_LIMIT,
    digest,
    parse_result,
    result_line,
    termination_message,
)
from qwak_auto.builders.kubernetes_result import termination_of

RESULT = {
    "status": "succeeded",
    "reason": "",
    "metrics": {"f1_score": 0.71, "auc": 0.9},
    "params": {"n_estimators": "300"},
    "resolved": [f"package{i}==1.{i}.0" for i in range(400)],
}


def test_the_result_line_round_trips_through_a_log():
    log = "==> installing\nmetric f1_score = 0.71\n" + result_line(RESULT) + "\n"
    assert parse_result(log) == RESULT
    assert parse_result("no result here\n") is None


def test_the_termination_message_vouches_for_the_whole():
    short = termination_of(termination_message(RESULT))
    assert short is not None
    assert short["digest"] == digest(RESULT)
    assert short["metrics"] == RESULT["metrics"]
    assert "resolved" not in short
    assert len(termination_message(RESULT).encode()) <= TERMINATION_LIMIT


def test_a_huge_result_still_fits_the_termination_message():
    huge = {**RESULT, "params": {f"p{i}": "x" * 50 for i in range(200)}}
    short = json.loads(termination_message(huge))
    assert "params" not in short
    assert short["metrics"] == RESULT["metrics"]
    assert short["truncated"] is True
    many = {**huge, "metrics": {f"m{i}": float(i) for i in range(500)}}
    assert len(termination_message(many).encode()) <= TERMINATION_LIMIT
    assert "metrics" not in json.loads(termination_message(many))


def test_the_result_line_stays_out_of_the_build_log():
    written: list[str] = []

    class Sink:
        def write(self, text: str) -> int:
            written.append(text)
            return len(text)

        def flush(self) -> None:
            pass

    out = Output(Sink())
    out.write("metric f1 = 0.7\n")
    out.write(result_line(RESULT) + "\n")
    assert written == ["metric f1 = 0.7\n"]


FAILED = {
    "type": "Failed",
    "status": "True",
    "reason": "BackoffLimitExceeded",
    "message": "Job has reached the specified backoff limit",
}


def terminated(code: int, reason: str, message: str = "") -> dict[str, object]:
    return {"terminated": {"exitCode": code, "reason": reason, "message": message}}


def test_a_failed_build_step_says_the_harness_reason():
    message = termination_message({"status": "failed", "reason": "unit tests failed (tests/)"})
    states = {"source": terminated(0, "Completed"), "build": terminated(1, "Error", message)}
    assert failure_reason(FAILED, {}, states) == (
        "step build exited with status 1 (Error): unit tests failed (tests/)"
    )


def test_a_step_without_a_report_shows_its_logs_tail():
    states = {"source": terminated(128, "Error", "Cloning...\nfatal: repository not found\n")}
    assert failure_reason(FAILED, {}, states) == (
        "step source exited with status 128 (Error): fatal: repository not found"
    )


def test_out_of_memory_and_eviction_and_deadline():
    oom = {"source": terminated(0, "Completed"), "build": terminated(137, "OOMKilled")}
    assert failure_reason(FAILED, {}, oom) == "step build was killed: out of memory (OOMKilled)"
    evicted = {"status": {"reason": "Evicted", "message": "The node was low on resource: memory."}}
    assert failure_reason(FAILED, evicted, {}) == (
        "the build's pod was evicted: The node was low on resource: memory."
    )
    deadline = {
        "type": "Failed",
        "status": "True",
        "reason": "DeadlineExceeded",
        "message": "Job was active longer than specified deadline",
    }
    assert failure_reason(deadline, {}, {"build": {"running": {}}}) == (
        "the build ran past its deadline (activeDeadlineSeconds): DeadlineExceeded: "
        "Job was active longer than specified deadline"
    )
