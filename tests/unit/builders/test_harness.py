"""The harness's pure parts: finding the model in a package, checking metrics."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

from qwak_auto.builders import harness
from qwak_auto.builders.harness_request import HarnessFailure, Request


@pytest.fixture
def request_for(tmp_path: Path, qwak_shim: Path):
    before = set(sys.modules)

    def make(files: dict[str, str]) -> Request:
        package = f"main_{uuid.uuid4().hex[:8]}"  # a fresh name: imports are cached per process
        for name, text in files.items():
            path = tmp_path / package / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        (tmp_path / package).mkdir(exist_ok=True)
        return Request(
            code_dir=tmp_path, main_dir=package, out_dir=tmp_path, model_id="m", build_id="b"
        )

    yield make
    for name in set(sys.modules) - before:
        if name.startswith("main_"):
            del sys.modules[name]


def test_load_model_entry_point(request_for) -> None:
    req = request_for({"__init__.py": "class M:\n    pass\n\ndef load_model():\n    return M()\n"})
    assert type(harness.load_model(req)).__name__ == "M"


def test_single_model_subclass_without_load_model(request_for) -> None:
    req = request_for(
        {
            "__init__.py": "",
            "model.py": "from qwak.model.base import QwakModel\n\nclass Churn(QwakModel):\n"
            "    def predict(self, df):\n        return df\n",
        }
    )
    assert type(harness.load_model(req)).__name__ == "Churn"


def test_no_model_class_is_a_one_line_failure(request_for) -> None:
    req = request_for({"__init__.py": "", "util.py": "X = 1\n"})
    with pytest.raises(HarnessFailure, match="no model class"):
        harness.load_model(req)


def test_several_model_classes_ask_for_load_model(request_for) -> None:
    req = request_for(
        {
            "__init__.py": "",
            "a.py": "from qwak_auto.runtime import Model\nclass A(Model): pass\nclass B(Model): pass\n",
        }
    )
    with pytest.raises(HarnessFailure, match=r"several model classes .*load_model"):
        harness.load_model(req)


def test_missing_main_dir(tmp_path: Path) -> None:
    req = Request(code_dir=tmp_path, main_dir="main", out_dir=tmp_path, model_id="m", build_id="b")
    with pytest.raises(HarnessFailure, match="main_dir 'main' does not exist"):
        harness.load_model(req)


def test_build_raising_is_reported_in_one_line(capsys) -> None:
    class Bad:
        def build(self) -> None:
            raise ValueError("no data\nsecond line")

    with pytest.raises(HarnessFailure) as info:
        harness.run_build(Bad())
    assert str(info.value) == "build() raised ValueError: no data"
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "abc", None, True])
def test_metrics_must_be_finite_numbers(value) -> None:
    with pytest.raises(HarnessFailure, match="metric 'f1' is not a finite number"):
        harness.checked_metrics({"f1": value})


def test_numeric_metrics_become_floats() -> None:
    import numpy as np

    assert harness.checked_metrics({"a": 1, "b": np.float32(0.5), "c": "0.25"}) == {
        "a": 1.0,
        "b": 0.5,
        "c": 0.25,
    }


def test_request_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(
        '{"code_dir": "/c", "out_dir": "/o", "model_id": "m", "build_id": "b",'
        ' "parameters": {"n": 3}, "env_vars": {"K": "V"}}',
        encoding="utf-8",
    )
    req = Request.load(path)
    assert req.parameters == {"n": "3"}
    assert req.env_vars == {"K": "V"}
    assert req.main_dir == "main"
    assert req.remaining() > 0


def test_past_deadline_fails() -> None:
    req = Request(
        code_dir=Path("/c"),
        main_dir="main",
        out_dir=Path("/o"),
        model_id="m",
        build_id="b",
        deadline=1.0,
    )
    with pytest.raises(HarnessFailure, match="timeout"):
        req.remaining()
