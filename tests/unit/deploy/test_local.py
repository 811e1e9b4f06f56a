from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from qwak_auto.automation.deployment import DeploymentSpec
from qwak_auto.deploy.health import health
from qwak_auto.deploy.settings import ServeSettings, build_python, result_of
from qwak_auto.errors import DeployError
from qwak_auto.run.contracts import BuildResult
from qwak_auto.state.base import BuildRecord, DeploymentRecord

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_settings_from_spec_and_back() -> None:
    spec = DeploymentSpec(
        number_of_http_server_workers=3,
        http_request_timeout_ms=1500,
        daemon_mode=True,
        max_batch_size=50,
        deployment_process_timeout_limit=90,
        env_vars=("A=1", "B=x=y"),
        custom_iam_role_arn="arn:aws:iam::123456789012:role/serve",
    )
    settings = ServeSettings.from_spec(spec)
    assert settings.workers == 3
    assert settings.env_vars == {"A": "1", "B": "x=y"}
    assert settings.ready_timeout == 90.0
    assert ServeSettings.from_detail(settings.to_detail()) == settings
    assert ServeSettings.from_detail({"workers": 4, "unknown": 1}).workers == 4


def _build(**kw: object) -> BuildResult:
    base: dict[str, object] = {
        "build_id": "b1", "model_id": "m", "commit": "c", "builder": "local",
        "artifact_dir": Path("/nowhere"), "metrics": {}, "params": {}, "log_path": Path("/x"),
    }  # fmt: skip
    base.update(kw)
    return BuildResult(**base)  # type: ignore[arg-type]


def test_build_python_from_result_or_provenance(tmp_path: Path) -> None:
    assert build_python(_build(python=Path("/py"))) == Path("/py")
    python = tmp_path / "python"
    python.touch()
    assert build_python(_build(provenance={"python": str(python)})) == python
    with pytest.raises(DeployError, match="does not say which Python"):
        build_python(_build(provenance={"python": "3.11.7"}))


def test_result_of_a_recorded_build() -> None:
    record = BuildRecord(
        build_id="b1", model_id="m", automation="", run_id="", status="succeeded",
        started_at=NOW, artifact="/a", provenance={"python": "/env/bin/python"},
    )  # fmt: skip
    result = result_of(record)
    assert (result.artifact_dir, result.python) == (Path("/a"), Path("/env/bin/python"))
    with pytest.raises(DeployError, match="only a succeeded build"):
        result_of(dataclasses.replace(record, status="failed"))


def _record(**kw: object) -> DeploymentRecord:
    base: dict[str, object] = {
        "deployment_id": "d", "model_id": "m", "build_id": "b", "environment": "dev",
        "variation": "default", "deployer": "local", "status": "serving", "created_at": NOW,
    }  # fmt: skip
    base.update(kw)
    return DeploymentRecord(**base)  # type: ignore[arg-type]


def test_health_without_probing() -> None:
    assert health(_record(status="retired")) == "retired"
    assert health(_record(deployer="kubernetes")) == "unknown"
    assert health(_record(detail={})) == "down: no address recorded"


def test_role_cache_renews_before_expiry() -> None:
    from datetime import timedelta

    from qwak_auto.deploy.iam import RoleCache

    now = [1_800_000_000.0]
    calls: list[tuple[str, dict[str, str]]] = []

    def fetch(role: str, session: str, environ: object) -> dict[str, object]:
        calls.append((role, dict(environ)))  # type: ignore[call-overload]
        expiry = datetime.fromtimestamp(now[0], UTC) + timedelta(hours=1)
        return {"AccessKeyId": f"k{len(calls)}", "Expiration": expiry.isoformat()}

    cache = RoleCache({}, fetch=fetch, clock=lambda: now[0])
    cache.grant("tok-en-1", "arn:role", "s", {"AWS_REGION": "eu-west-1"})
    assert cache.get("unknown") is None
    assert cache.get("tok-en-1")["AccessKeyId"] == "k1"  # type: ignore[index]
    now[0] += 30 * 60
    assert cache.get("tok-en-1")["AccessKeyId"] == "k1"  # type: ignore[index]
    now[0] += 15 * 60  # 15 minutes left: inside the renewal margin
    assert cache.get("tok-en-1")["AccessKeyId"] == "k2"  # type: ignore[index]
    assert calls[0] == ("arn:role", {"AWS_REGION": "eu-west-1"})


def test_recorded_build_finds_the_local_builders_environment(tmp_path: Path) -> None:
    python = tmp_path / "cache" / "envs" / "abc123" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.touch()
    record = BuildRecord(
        build_id="b1", model_id="m", automation="", run_id="", status="succeeded",
        started_at=NOW, artifact="/a",
        provenance={"python": "3.11.7", "dependencies": {"hash": "abc123"}},
    )  # fmt: skip
    assert result_of(record, tmp_path).python == python
    assert result_of(record).python is None
