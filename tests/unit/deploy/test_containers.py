"""The container backend's decisions and command line, without an engine."""

from __future__ import annotations

import os
from pathlib import Path

from qwak_auto.automation.deployment import DeploymentSpec
from qwak_auto.automation.resources import GpuResources
from qwak_auto.config import load_config
from qwak_auto.deploy import containers
from qwak_auto.deploy.settings import ServeSettings, Target
from qwak_auto.run.contracts import BuildResult

TARGET = Target(model_id="Churn_Model", environment="", variation="default")


def _build(**kw: object) -> BuildResult:
    base: dict[str, object] = {
        "build_id": "churn_model-20261125124826-6d6d213",
        "model_id": "Churn_Model",
        "commit": "c",
        "builder": "docker",
        "artifact_dir": Path("/nonexistent"),
        "metrics": {},
        "params": {},
        "log_path": Path("/nonexistent/build.log"),
        "image": "auto/churn_model:churn_model-20261125124826-6d6d213",
    }
    base.update(kw)
    return BuildResult(**base)  # type: ignore[arg-type]


def test_which_builds_are_served_from_their_image() -> None:
    assert containers.wanted(_build())
    # A recorded docker build may name the interpreter inside its image: still a container.
    assert containers.wanted(_build(python=Path("/opt/venv/bin/python")))
    assert containers.wanted(_build(builder="", python=None))
    assert not containers.wanted(_build(builder="local", python=Path("/x/bin/python")))
    assert not containers.wanted(_build(image=None, python=None))


def test_container_name_is_valid_and_unique_per_deployment() -> None:
    name = containers.container_name(TARGET, _build().build_id, "dep-0123456789ab")
    assert name == "auto-churn_model-default-default-20261125124826-6d6d213-012345"
    other = containers.container_name(TARGET, _build().build_id, "dep-abcdef012345")
    assert other != name


def test_resources_from_the_deployment_spec() -> None:
    spec = DeploymentSpec(cpu_fraction=64.0, memory="512Mi")
    settings = ServeSettings.from_spec(spec)
    assert ServeSettings.from_detail(settings.to_detail()) == settings
    assert containers.resource_flags(settings) == [
        "--cpus", f"{float(os.cpu_count() or 1):g}", "--memory", str(512 * 2**20)
    ]  # fmt: skip
    gpu = ServeSettings.from_spec(DeploymentSpec(gpu_resources=GpuResources("T4", 2)))
    assert gpu.gpus == 2
    assert containers.resource_flags(gpu)[-2:] == ["--gpus", "2"]
    assert containers.resource_flags(ServeSettings()) == []  # old records: no limits


def test_run_argv_publishes_on_loopback_or_binds_it_on_the_host_network(tmp_path: Path) -> None:
    config = load_config(env={"AUTO_HOME": str(tmp_path / ".auto")}, cwd=tmp_path)
    settings = ServeSettings(workers=3, timeout_ms=1500, max_batch_size=7)
    kwargs = {"config": config, "name": "c1", "port": 41000, "env_names": ["A", "HOME=/x"]}
    bridged = containers.run_argv(_build(), TARGET, settings, net="auto-serve", **kwargs)  # type: ignore[arg-type]
    assert bridged[:5] == ["run", "-d", "--pull", "never", "--name"]
    joined = " ".join(bridged)
    assert "--network auto-serve -p 127.0.0.1:41000:8080" in joined
    assert "--bind 0.0.0.0:8080" in joined
    assert "-e A -e HOME=/x" in joined  # values of A come from the CLI's environment
    assert f"--user {os.getuid()}:{os.getgid()}" in joined
    assert f"source={(tmp_path / '.auto' / 'predictions').resolve()}" in joined
    assert f"--predictions-dir {containers.PREDICTIONS}" in joined
    image = bridged.index(str(_build().image))
    assert bridged[image - 2 : image + 4] == [
        "--entrypoint", "python", str(_build().image), "-m", "qwak_auto.serve", "--artifact"
    ]  # fmt: skip
    assert "--workers 3 --timeout-ms 1500 --max-batch-size 7" in joined
    host = " ".join(containers.run_argv(_build(), TARGET, settings, net="host", **kwargs))  # type: ignore[arg-type]
    assert "--network host" in host
    assert "-p " not in host
    assert "--bind 127.0.0.1:41000" in host
