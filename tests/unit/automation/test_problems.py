"""Each renderer's exact output (check-jsonschema's tests/unit/test_reporters.py does the same)."""

from __future__ import annotations

import json

from qwak_auto.automation.problems import RENDERERS, Problem, Severity, counts

PROBLEMS = [
    Problem(
        file="b.yaml",
        line=16,
        column=20,
        path="action.build_deploy.deployment_condition.build_metric.threshold",
        code="schema.type",
        message="`threshold` must be a string, not a number",
        hint='quote it: threshold: "0.65"',
    ),
    Problem(
        file="a.yaml",
        line=3,
        column=7,
        path="action.build_deploy.deployment_spec.memory",
        code="memory.legacy-unit",
        message="`512Mib` uses Qwak's legacy unit spelling; it is read as `512Mi`",
        hint="write `512Mi`",
        severity=Severity.WARNING,
    ),
    Problem(file="c.yaml", code="file.too-large", message="the file is larger than 1024 KiB"),
]


def test_formats_are_exactly_the_renderers() -> None:
    assert list(RENDERERS) == ["text", "json", "github"]


def test_text() -> None:
    assert RENDERERS["text"](PROBLEMS, 3) == (
        "a.yaml:3:7: warning: action.build_deploy.deployment_spec.memory: `512Mib` uses Qwak's "
        "legacy unit spelling; it is read as `512Mi` [memory.legacy-unit]\n"
        "    hint: write `512Mi`\n"
        "b.yaml:16:20: error: action.build_deploy.deployment_condition.build_metric.threshold: "
        "`threshold` must be a string, not a number [schema.type]\n"
        '    hint: quote it: threshold: "0.65"\n'
        "c.yaml: error: the file is larger than 1024 KiB [file.too-large]\n"
        "3 files checked: 2 error(s), 1 warning(s)\n"
    )


def test_text_clean() -> None:
    assert RENDERERS["text"]([], 1) == "1 file checked: no problems\n"


def test_json_shape() -> None:
    doc = json.loads(RENDERERS["json"](PROBLEMS, 3))
    assert doc["version"] == 1
    assert (doc["files_checked"], doc["errors"], doc["warnings"]) == (3, 2, 1)
    assert [p["file"] for p in doc["problems"]] == ["a.yaml", "b.yaml", "c.yaml"]
    assert doc["problems"][1] == {
        "file": "b.yaml",
        "line": 16,
        "column": 20,
        "path": "action.build_deploy.deployment_condition.build_metric.threshold",
        "code": "schema.type",
        "message": "`threshold` must be a string, not a number",
        "hint": 'quote it: threshold: "0.65"',
        "severity": "error",
    }
    assert doc["problems"][0]["severity"] == "warning"


def test_github_annotations() -> None:
    assert RENDERERS["github"](PROBLEMS, 3) == (
        "::warning file=a.yaml,line=3,col=7,title=memory.legacy-unit::"
        "action.build_deploy.deployment_spec.memory: `512Mib` uses Qwak's legacy unit spelling; "
        "it is read as `512Mi` (hint: write `512Mi`)\n"
        "::error file=b.yaml,line=16,col=20,title=schema.type::"
        "action.build_deploy.deployment_condition.build_metric.threshold: `threshold` must be a "
        'string, not a number (hint: quote it: threshold: "0.65")\n'
        "::error file=c.yaml,title=file.too-large::the file is larger than 1024 KiB\n"
        "3 files checked, 3 problem(s)\n"
    )


def test_github_escapes_newlines_and_properties() -> None:
    p = Problem(file="a,b:c.yaml", line=1, column=1, code="x", message="one\ntwo 100%")
    out = RENDERERS["github"]([p], 1)
    assert out.startswith("::error file=a%2Cb%3Ac.yaml,line=1,col=1,title=x::one%0Atwo 100%25\n")


def test_counts_and_strict() -> None:
    assert counts(PROBLEMS) == (2, 1)
    assert counts(PROBLEMS, strict=True) == (3, 0)
