"""`assumed_iam_role` with the local builder: STS AssumeRole (a moto server on 127.0.0.1) with
the runner's credentials; the build sees only the role's temporary credentials, and neither
the runner's secret nor the temporary ones land in the artifact, the log or the record."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from qwak_auto.builders.local import LocalBuilder
from qwak_auto.errors import BuildError
from qwak_auto.source import GitSource
from qwak_auto.state.base import StateStore
from tests.conftest import missing_service
from tests.integration.builders.conftest import MakeCtx
from tests.integration.builders.test_local_builder import tiny_repo
from tests.integration.iam.moto import (
    ROLE,
    RUNNER_KEY,
    RUNNER_SECRET,
    moto_binary,
    moto_server,
    runner_environ,
)

BODY = """\
        import os
        token = os.environ.get("AWS_SESSION_TOKEN", "")
        log_metric("has_role_credentials", 1.0 if token else 0.0)
        log_metric("uses_runner_key", 1.0 if os.environ.get("AWS_ACCESS_KEY_ID") == "{key}" else 0.0)
"""


@pytest.fixture(scope="module")
def sts() -> Iterator[str]:
    if moto_binary() is None:
        missing_service("moto", "moto_server is not installed (pip install 'moto[server]')")
    with moto_server() as url:
        yield url


def test_build_runs_with_the_roles_temporary_credentials(
    tmp_path: Path, home: Path, store: StateStore, make_ctx: MakeCtx, sts: str
) -> None:
    uri = tiny_repo(tmp_path, body=BODY.format(key=RUNNER_KEY))
    ctx = make_ctx(uri, assumed_iam_role=ROLE)
    ctx = dataclasses.replace(ctx, environ={**ctx.environ, **runner_environ(sts)})
    checkout = GitSource().fetch(ctx.automation.action.build_spec, ctx)
    result = LocalBuilder(run_tests=False).build(checkout, ctx)
    assert result.metrics["has_role_credentials"] == 1.0
    assert result.metrics["uses_runner_key"] == 0.0
    for path in [*result.artifact_dir.rglob("*"), Path(result.log_path)]:
        if path.is_file() and path.suffix != ".pkl":
            assert RUNNER_SECRET not in path.read_text(errors="replace")
    record = store.build(result.build_id)
    assert record is not None
    assert RUNNER_SECRET not in repr(record)


def test_without_aws_credentials_the_build_fails_before_it_starts(
    tmp_path: Path, home: Path, store: StateStore, make_ctx: MakeCtx, monkeypatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    uri = tiny_repo(tmp_path)
    ctx = make_ctx(uri, assumed_iam_role=ROLE)
    ctx = dataclasses.replace(
        ctx, environ={k: v for k, v in ctx.environ.items() if not k.startswith("AWS_")}
    )
    checkout = GitSource().fetch(ctx.automation.action.build_spec, ctx)
    with pytest.raises(BuildError, match="no AWS credentials"):
        LocalBuilder(run_tests=False).build(checkout, ctx)
    assert store.builds(limit=1)[0].status == "failed"
