"""The project config `auto.yaml`: bad values are ConfigErrors that say file:line:col and how
to fix them, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwak_auto.config import load_config
from qwak_auto.errors import ConfigError


def _load(tmp_path: Path, text: str | bytes) -> ConfigError:
    path = tmp_path / "auto.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config((tmp_path,), env={}, cwd=tmp_path)
    assert caught.value.exit_code == 2
    assert caught.value.hint, "every config error says how to fix it"
    return caught.value


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("builder: local\nstat: x\n", ":2:1", "stat: unknown key"),
        ("secrets: 5\n", ":1:10", "secrets: must be a list of names"),
        ("secrets: [1]\n", ":1:10", "every backend must be a name"),
        ("vault: [1]\n", ":1:8", "vault: must be a mapping"),
        ("state: 5\n", ":1:8", "state: must be a string"),
        ("secrets_dir: 5\n", ":1:14", "secrets_dir: must be a string"),
        ("default_environment: [x]\n", ":1:22", "default_environment: must be a string"),
        ("builder: nope\n", ":1:10", "'nope' is not a builder"),
        ("predictions_sample_rate: 2\n", ":1:26", "not a fraction"),
        ("environments: [dev, prod]\n", ":1:15", "environments: must be a mapping"),
        ("environments:\n  dev: 5\n", ":2:8", "environments.dev: must be a mapping"),
        ("environments:\n  dev:\n    deployr: local\n", ":3:5", "deployr: unknown key"),
        ("environments:\n  dev: {deployer: nope}\n", ":2:19", "'nope' is not a deployer"),
        ("environments:\n  dev: {namespace: [1]}\n", ":2:20", "namespace: must be a string"),
        (
            "environments: {dev: {}}\ndefault_environment: prod\n",
            ":2:22",
            "'prod' is not one of the environments",
        ),
        (
            "environments:\n  prod:\n    gpu_nodes: [x]\n",
            ":3:16",
            "environments.prod.gpu_nodes: must be a mapping",
        ),
        (
            "environments:\n  prod:\n    gpu_nodes:\n      NVIDIA_T4: {nodes: x}\n",
            ":4:18",
            "environments.prod.gpu_nodes.NVIDIA_T4: must hold node_selector",
        ),
        (
            "environments:\n  prod:\n    gpu_nodes:\n      NVIDIA_T4: {node_selector: {a: 1}}\n",
            ":4:18",
            "gpu_nodes.NVIDIA_T4.node_selector: must map node labels to strings",
        ),
        (
            "environments:\n  prod:\n    gpu_nodes:\n      NVIDIA_T4: {tolerations: {a: b}}\n",
            ":4:18",
            "gpu_nodes.NVIDIA_T4.tolerations: must be a list",
        ),
        ("a: [\n", ":2:1", "not valid YAML"),
        ("a: 1\na: 2\n", ":2:1", "duplicate key"),
    ],
)
def test_bad_values_name_file_line_and_column(
    tmp_path: Path, text: str, where: str, what: str
) -> None:
    error = _load(tmp_path, text)
    assert f"auto.yaml{where}:" in error.message
    assert what in error.message


def test_not_utf8(tmp_path: Path) -> None:
    error = _load(tmp_path, b"builder: local\n\xff\xfe: 1\n")
    assert "not UTF-8" in error.message


def test_a_config_that_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder") as caught:
        load_config(env={}, cwd=tmp_path, config_file=tmp_path)
    assert "auto.yaml" in caught.value.hint


def test_a_config_that_is_missing_has_a_hint(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found") as caught:
        load_config(env={}, cwd=tmp_path, config_file=tmp_path / "nope.yaml")
    assert caught.value.hint


def test_a_good_config_still_loads(tmp_path: Path) -> None:
    (tmp_path / "auto.yaml").write_text(
        "builder: docker\nsecrets: [env]\npredictions_sample_rate: 0.5\n"
        "vault: {addr: 'http://127.0.0.1:8200'}\ndefault_environment: prod\n"
        "environments:\n  dev: {}\n  prod: {deployer: kubernetes, namespace: models}\n",
        encoding="utf-8",
    )
    config = load_config((tmp_path,), env={}, cwd=tmp_path)
    assert config.builder == "docker"
    assert config.secrets == ("env",)
    assert config.predictions_sample_rate == 0.5
    assert config.vault == {"addr": "http://127.0.0.1:8200"}
    assert config.environment(None).namespace == "models"
    assert config.environments["dev"].deployer == "local"


def test_kubernetes_build_keys_of_an_environment(tmp_path: Path) -> None:
    (tmp_path / "auto.yaml").write_text(
        "builder: kubernetes\n"
        "environments:\n"
        "  prod:\n"
        "    deployer: kubernetes\n"
        "    image_registry: registry.example.com/ml\n"
        "    build_image: registry.example.com/ml/python:3.11\n"
        "    kaniko_image: cgr.dev/chainguard/kaniko:latest\n"
        "    registry_secret: regcred\n"
        "    gpu_nodes:\n"
        "      NVIDIA_A10G:\n"
        "        node_selector: {node.kubernetes.io/instance-type: g5.xlarge}\n"
        "        tolerations: [{key: gpu, operator: Exists, effect: NoSchedule}]\n"
        "  dev: {}\n",
        encoding="utf-8",
    )
    config = load_config((tmp_path,), env={}, cwd=tmp_path)
    assert config.builder == "kubernetes"
    prod = config.environments["prod"]
    assert prod.build_image == "registry.example.com/ml/python:3.11"
    assert prod.kaniko_image == "cgr.dev/chainguard/kaniko:latest"
    assert prod.registry_secret == "regcred"
    a10g = prod.gpu_nodes["NVIDIA_A10G"]
    assert a10g.node_selector == {"node.kubernetes.io/instance-type": "g5.xlarge"}
    assert a10g.tolerations == ({"key": "gpu", "operator": "Exists", "effect": "NoSchedule"},)
    assert config.environments["dev"].kaniko_image.startswith("gcr.io/kaniko-project/executor:")
    assert config.environments["dev"].gpu_nodes == {}


def test_an_environment_variable_wins_over_a_bad_file_value(tmp_path: Path) -> None:
    (tmp_path / "auto.yaml").write_text("builder: [1]\n", encoding="utf-8")
    config = load_config((tmp_path,), env={"AUTO_BUILDER": "local"}, cwd=tmp_path)
    assert config.builder == "local"


def test_an_environment_the_config_does_not_list_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "auto.yaml").write_text("environments: {dev: {}, prod: {}}\n", encoding="utf-8")
    config = load_config((tmp_path,), env={}, cwd=tmp_path)
    assert config.environment("prod").name == "prod"
    with pytest.raises(ConfigError, match="environment 'nope' is not in the project config") as e:
        config.environment("nope")
    assert e.value.hint == "environments in the project config: dev, prod"


def test_without_listed_environments_any_name_is_fine(tmp_path: Path) -> None:
    config = load_config((tmp_path,), env={}, cwd=tmp_path)
    assert config.environment("anything").deployer == "local"


def test_the_built_in_default_environment_need_not_be_listed(tmp_path: Path) -> None:
    (tmp_path / "auto.yaml").write_text("environments: {prod: {}}\n", encoding="utf-8")
    config = load_config((tmp_path,), env={}, cwd=tmp_path)
    assert config.default_environment == "dev"
    assert config.environment("prod").name == "prod"
    assert config.environment(None).name == "dev"
    # named or not, the default environment is the same place
    assert config.environment("dev").name == "dev"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git repository whose root holds auto.yaml, with automations two folders down."""
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    (root / "auto.yaml").write_text("builder: local\n", encoding="utf-8")
    (root / "ml" / "automations").mkdir(parents=True)
    return root


def test_auto_yaml_above_the_automation_files_is_the_project(project: Path) -> None:
    outside = project.parent / "elsewhere"
    outside.mkdir()
    config = load_config((project / "ml" / "automations",), env={}, cwd=outside)
    assert config.source == project / "auto.yaml"
    assert config.home == project / ".auto"


def test_auto_yaml_above_the_working_directory_is_the_project(project: Path) -> None:
    # `auto status` / `auto ui` / `auto undeploy` take no paths: the same home from anywhere
    config = load_config((), env={}, cwd=project / "ml" / "automations")
    assert config.home == project / ".auto"
    assert config.state_url == f"sqlite:///{project / '.auto' / 'state.db'}"


def test_the_search_stops_at_the_repository_root(project: Path) -> None:
    (project.parent / "auto.yaml").write_text("builder: docker\n", encoding="utf-8")
    inner = project / "ml"
    (inner / "auto.yaml").unlink(missing_ok=True)
    (project / "auto.yaml").unlink()
    config = load_config((), env={}, cwd=inner)
    assert config.source is None  # the auto.yaml above the repository is not this project's
    assert config.home == inner / ".auto"


def test_auto_home_wins_over_the_project(project: Path, tmp_path: Path) -> None:
    config = load_config((), env={"AUTO_HOME": str(tmp_path / "h")}, cwd=project / "ml")
    assert config.home == tmp_path / "h"
