"""Images go to the environment's registry: a Kubernetes deploy of a docker build pushes the
build's image to a real registry (Debian's docker-registry on 127.0.0.1) and the applied
manifests run that registry's image. The image is the one the local container tests built
(tests/integration/deploy_docker/conftest.py: one build pair per session)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from qwak_auto.automation.model import from_document
from qwak_auto.config import Environment, load_config
from qwak_auto.deploy.kubernetes import KubernetesDeployer
from qwak_auto.run.contracts import BuildResult, RunContext
from qwak_auto.state import open_store
from tests.integration.deploy_docker.conftest import model_builds
from tests.services.docker import Engine
from tests.services.registry import Registry

pytestmark = [pytest.mark.docker, pytest.mark.slow]

DOC = {
    "name": "retrain_churn",
    "model_id": "churn",
    "trigger": {"scheduled": {"cron": "0 3 * * *"}},
    "action": {
        "build_deploy": {
            "build_spec": {"git_uri": "https://github.com/o/r.git"},
            "deployment_spec": {"deployment_process_timeout_limit": 90},
        }
    },
}


@pytest.fixture(scope="session")
def docker_build(
    docker_engine: Engine, base_image: str, tmp_path_factory: pytest.TempPathFactory
) -> BuildResult:
    del docker_engine, base_image
    return model_builds(tmp_path_factory.mktemp("tiny-model"))[0]


def _context(tmp_path: Path) -> RunContext:
    config = load_config((), env={"AUTO_HOME": str(tmp_path / ".auto")}, cwd=tmp_path)

    def no_secrets(name: str) -> str:
        raise AssertionError(name)

    return RunContext(
        run_id="run-push",
        automation=from_document(DOC),
        config=config,
        store=open_store(config),
        secrets=no_secrets,
        trigger_reason="manual",
        started_at=datetime.now(UTC),
        log_dir=tmp_path / "logs",
        environ=dict(os.environ),
    )


def test_deploy_pushes_the_image_to_the_environments_registry(
    kubectl, tmp_path: Path, docker_build: BuildResult, image_registry: Registry
) -> None:
    registry = f"{image_registry.address}/ml"
    prod = Environment(
        name="prod", deployer="kubernetes", namespace="models", image_registry=registry
    )
    tag = docker_build.build_id.lower()
    assert tag not in image_registry.tags("ml/churn")

    ctx = _context(tmp_path)
    outcome = KubernetesDeployer().deploy(docker_build, prod, ctx)

    assert outcome.status == "serving"
    assert tag in image_registry.tags("ml/churn")  # GET /v2/ml/churn/tags/list
    remote = f"{registry}/churn:{tag}"
    status, manifest = image_registry.get(f"/v2/ml/churn/manifests/{tag}")
    assert status == 200
    assert isinstance(manifest, dict)
    assert manifest.get("layers") or manifest.get("fsLayers")
    applied = [str(c["stdin"]) for c in kubectl.calls() if "apply" in str(c["argv"])]
    assert len(applied) == 1
    assert f"image: {remote}" in applied[0]
    assert f"image: {docker_build.image}" not in applied[0]  # never the engine-local tag
    serving = ctx.store.serving("churn", "prod", "default")
    assert serving is not None
    assert serving.detail["image"] == remote
