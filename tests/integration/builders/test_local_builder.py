"""The local builder end to end: real git repositories, real venvs (shared across the
session), the harness in a subprocess, the model server for tests/it, a SQLite store."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from qwak_auto.builders.env import ensure_env
from qwak_auto.builders.local import LocalBuilder
from qwak_auto.builders.requirements import Dependencies
from qwak_auto.errors import BuildError
from qwak_auto.source import GitSource
from qwak_auto.state.base import StateStore
from tests.integration.builders.conftest import CHURN, MakeCtx, commit_tree

MODEL = """\
import math
import os

from qwak_auto.runtime import Model, log_metric


class Tiny(Model):
    def build(self):
{body}

    def predict(self, df):
        return df
"""


def tiny_repo(tmp_path: Path, body: str = "        log_metric('score', 1.0)", **extra: str) -> str:
    """A model repository without heavy dependencies (the light shared environment)."""
    files = {"main/__init__.py": "", "main/model.py": MODEL.format(body=body), **extra}
    commit_tree(tmp_path / "repo", files)
    return f"file://{tmp_path / 'repo'}"


def build(make_ctx: MakeCtx, uri: str, builder: LocalBuilder | None = None, **spec: object):
    ctx = make_ctx(uri, **spec)
    checkout = GitSource().fetch(ctx.automation.action.build_spec, ctx)
    return (builder or LocalBuilder()).build(checkout, ctx), ctx


def assert_failed(home: Path, store: StateStore, exc: BuildError, reason: str) -> None:
    assert reason in exc.message
    assert "\n" not in exc.message
    record = store.builds(limit=1)[0]
    assert record.status == "failed"
    assert reason in record.reason
    assert record.ended_at is not None
    log = Path(record.log_path).read_text(encoding="utf-8")
    assert f"build failed: {record.reason}" in log
    builds = home / "builds"
    assert not builds.exists() or [p.name for p in builds.iterdir()] == []


@pytest.mark.slow
def test_churn_example_builds_end_to_end(
    tmp_path: Path, home: Path, store: StateStore, make_ctx: MakeCtx
) -> None:
    commit_tree(tmp_path / "repo", source=CHURN)
    result, _ctx = build(make_ctx, f"file://{tmp_path / 'repo'}", parameters={"n_estimators": "40"})

    assert set(result.metrics) == {"f1_score", "accuracy"}
    assert 0.5 < result.metrics["accuracy"] <= 1.0
    assert result.params["n_estimators"] == "40"  # a build parameter, read from the environment
    art = result.artifact_dir
    assert art == home / "builds" / result.build_id
    for name in (
        "model.pkl",
        "provenance.json",
        "metrics.json",
        "build.log",
        "code/main/model.py",
        "code/main/data.csv",
    ):
        assert (art / name).is_file(), name
    prov = json.loads((art / "provenance.json").read_text())
    assert prov["source"]["commit"] == result.commit
    assert prov["automation"] == "churn-retrain"
    assert prov["spec_hash"] == "test-spec-hash"
    assert prov["tests"] == {"unit": "passed", "it": "passed"}
    assert any(line.startswith("scikit-learn==") for line in prov["dependencies"]["resolved"])
    assert prov["dependencies"]["file"] == "main/requirements.txt"
    assert len(prov["artifact"]["model.pkl"]["sha256"]) == 64
    assert result.python is not None
    assert result.python.is_file()
    record = store.build(result.build_id)
    assert record is not None
    assert record.status == "succeeded"
    assert record.metrics == result.metrics
    assert record.artifact == str(art)
    log = result.log_path.read_text()
    assert "==> unit tests" in log
    assert "==> integration tests" in log

    # A new commit with the same dependencies reuses the environment.
    commit_tree(tmp_path / "repo", {"main/NOTES.md": "retrained\n"})
    again, _ = build(make_ctx, f"file://{tmp_path / 'repo'}")
    assert again.build_id != result.build_id
    assert again.provenance["dependencies"]["environment_reused"] is True
    assert again.provenance["dependencies"]["hash"] == prov["dependencies"]["hash"]


def test_parameters_env_vars_and_data_files(tmp_path: Path, home: Path, make_ctx: MakeCtx) -> None:
    body = (
        "        assert os.environ['GREETING'] == 'hi' and self.env_vars['GREETING'] == 'hi'\n"
        "        assert os.environ['alpha'] == self.parameters['alpha'] == '0.5'\n"
        "        log_metric('from_file', float(open('data.txt').read()))\n"
        "        log_metric('alpha', float(self.parameters['alpha']))"
    )
    uri = tiny_repo(
        tmp_path,
        body,
        **{"main/data.txt": "3.5\n", "tests/test_unit.py": "def test_ok():\n    assert True\n"},
    )
    result, _ = build(make_ctx, uri, parameters={"alpha": "0.5"}, env_vars=("GREETING=hi",))
    assert result.metrics == {"from_file": 3.5, "alpha": 0.5}
    assert result.provenance["tests"] == {"unit": "passed", "it": "no tests"}
    assert result.provenance["dependencies"]["kind"] == "none"


def test_missing_main_dir(tmp_path: Path, home: Path, store: StateStore, make_ctx: MakeCtx) -> None:
    with pytest.raises(BuildError) as info:
        build(make_ctx, tiny_repo(tmp_path), main_dir="src")
    assert_failed(home, store, info.value, "main_dir 'src' does not exist")


def test_no_model_class(tmp_path: Path, home: Path, store: StateStore, make_ctx: MakeCtx) -> None:
    commit_tree(tmp_path / "repo", {"main/__init__.py": "", "main/util.py": "X = 1\n"})
    with pytest.raises(BuildError) as info:
        build(make_ctx, f"file://{tmp_path / 'repo'}")
    assert_failed(home, store, info.value, "no model class")


def test_build_raising(tmp_path: Path, home: Path, store: StateStore, make_ctx: MakeCtx) -> None:
    uri = tiny_repo(tmp_path, "        raise RuntimeError('training data is empty')")
    with pytest.raises(BuildError) as info:
        build(make_ctx, uri)
    assert_failed(home, store, info.value, "build() raised RuntimeError: training data is empty")
    log = Path(store.builds(limit=1)[0].log_path).read_text()
    assert "Traceback" in log  # the full story stays in the log


def test_non_finite_metric(
    tmp_path: Path, home: Path, store: StateStore, make_ctx: MakeCtx
) -> None:
    uri = tiny_repo(tmp_path, "        log_metric('f1_score', math.nan)")
    with pytest.raises(BuildError) as info:
        build(make_ctx, uri)
    assert_failed(home, store, info.value, "metric 'f1_score' is not a finite number: nan")


def test_failing_unit_test(
    tmp_path: Path, home: Path, store: StateStore, make_ctx: MakeCtx
) -> None:
    uri = tiny_repo(tmp_path, **{"tests/test_model.py": "def test_bad():\n    assert 1 == 2\n"})
    with pytest.raises(BuildError) as info:
        build(make_ctx, uri)
    assert_failed(home, store, info.value, "unit tests failed")


def test_build_over_its_timeout(
    tmp_path: Path, home: Path, store: StateStore, make_ctx: MakeCtx
) -> None:
    # Make the light environment first, so the timeout measures the build alone.
    with (home / "warm.log").open("w") as out:
        ensure_env(Dependencies(file=None, kind="none"), home=home, out=out, environ=os.environ)
    uri = tiny_repo(tmp_path, "        import time\n        time.sleep(120)")
    with pytest.raises(BuildError) as info:
        build(make_ctx, uri, LocalBuilder(timeout=8))
    assert_failed(home, store, info.value, "the build took longer than its timeout (8s)")


def test_dependency_that_fails_to_install(
    tmp_path: Path, home: Path, store: StateStore, make_ctx: MakeCtx
) -> None:
    uri = tiny_repo(tmp_path, **{"main/requirements.txt": "auto-no-such-package-zq7x\n"})
    with pytest.raises(BuildError) as info:
        build(make_ctx, uri)
    assert_failed(home, store, info.value, "dependencies failed to install")
    envs = home / "cache" / "envs"
    assert all((p / "auto-env.json").is_file() for p in envs.iterdir() if p.is_dir())


def test_unsatisfiable_pin_is_dropped_with_a_warning(
    tmp_path: Path, home: Path, make_ctx: MakeCtx
) -> None:
    conda = "dependencies:\n  - python=3.11\n  - pip\n  - cloudpickle=0.0.1\n"
    uri = tiny_repo(tmp_path, **{"main/conda.yml": conda})
    result, _ = build(make_ctx, uri)
    warnings = result.provenance["dependencies"]["warnings"]
    assert any(
        w.startswith("main/conda.yml:4: cloudpickle==0.0.1.* cannot be satisfied") for w in warnings
    )
    assert "warning: main/conda.yml:4" in result.log_path.read_text()


@pytest.mark.slow
@pytest.mark.parametrize(("use_uv", "six"), [(True, "six"), (False, "six>=1")], ids=["uv", "pip"])
def test_dependencies_as_of_resolves_as_on_that_day(
    tmp_path: Path, home: Path, make_ctx: MakeCtx, use_uv: bool, six: str
) -> None:
    """An unpinned requirement resolves to what the index had on that day (six 1.16.0 was the
    newest on 2023-06-01; 1.17.0 came in December 2024), base packages too. Each installer
    gets its own requirement spelling, so that neither reuses the other's environment.

    pip holds only indexes that publish upload times (PyPI does) to the date, so its variant
    runs without this machine's pip configuration (a local file:// index and find-links
    folder, which have none); uv does not read pip's configuration."""
    uri = tiny_repo(tmp_path, **{"main/requirements.txt": f"{six}\n"})
    ctx = make_ctx(uri, dependencies_as_of="2023-06-01")
    if not use_uv:
        environ = {k: v for k, v in ctx.environ.items() if k != "PIP_FIND_LINKS"}
        ctx = replace(ctx, environ={**environ, "PIP_CONFIG_FILE": os.devnull})
    checkout = GitSource().fetch(ctx.automation.action.build_spec, ctx)
    result = LocalBuilder(use_uv=use_uv).build(checkout, ctx)
    dependencies = result.provenance["dependencies"]
    assert dependencies["as_of"] == "2023-06-01"
    assert dependencies["uploaded_before"] == "2023-06-02T00:00:00Z"
    resolved = dict(
        line.lower().split("==", 1) for line in dependencies["resolved"] if "==" in line
    )
    assert resolved["six"] == "1.16.0"
    assert resolved["pandas"] == "2.0.2"  # 2.0.3 came on 2023-06-28
    log = result.log_path.read_text()
    assert "as of 2023-06-01 (packages uploaded before 2023-06-02T00:00:00Z)" in log


def test_harness_dying_without_a_result_records_its_last_words(
    tmp_path: Path, home: Path, store: StateStore, make_ctx: MakeCtx
) -> None:
    """A harness that dies before writing its result (here the model's import ends the
    process; in issue 14 it was `No module named 'qwak_auto'`): the recorded reason carries
    the last lines of its output, not only its exit status."""
    dying = "import os, sys\nprint('the GPU driver vanished', file=sys.stderr, flush=True)\n"
    commit_tree(tmp_path / "repo", {"main/__init__.py": dying + "os._exit(3)\n"})
    with pytest.raises(BuildError) as info:
        build(make_ctx, f"file://{tmp_path / 'repo'}")
    assert_failed(home, store, info.value, "the build harness exited with status 3 without a")
    assert store.builds(limit=1)[0].reason.endswith("the GPU driver vanished")
