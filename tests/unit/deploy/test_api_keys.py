"""deployment_spec.api_keys_secret: from the file to the server's command line, the keys
resolved at the last moment into a private file, never into argv, records or messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwak_auto.automation.checks import secret_names
from qwak_auto.automation.deployment import DeploymentSpec
from qwak_auto.automation.load import load_text
from qwak_auto.automation.model import from_document
from qwak_auto.automation.schema import schema_problems
from qwak_auto.config import load_config
from qwak_auto.deploy import backends, containers
from qwak_auto.deploy.settings import ServeSettings, Target
from qwak_auto.errors import DeployError
from qwak_auto.run.contracts import BuildResult

KEY_A, KEY_B = "Ak3y-" + "a" * 27, "Bk3y-" + "b" * 27
DOC = """name: retrain
model_id: churn
trigger: {none: {}}
action:
  build_deploy:
    build_spec: {git_uri: "https://github.com/acme/churn.git"}
    deployment_spec:
      api_keys_secret: churn_api_keys
"""


def test_the_spec_names_the_secret_and_validates_it() -> None:
    doc = load_text(DOC)[0][0]
    assert schema_problems(doc) == []
    spec = from_document(doc.data).action.deployment_spec
    assert spec.api_keys_secret == "churn_api_keys"
    assert ServeSettings.from_spec(spec).api_keys_secret == "churn_api_keys"
    assert DeploymentSpec().api_keys_secret is None
    path = ("action", "build_deploy", "deployment_spec", "api_keys_secret")
    assert secret_names(doc.data) == [(path, "churn_api_keys")]  # for --check-secrets
    bad = load_text(DOC.replace("churn_api_keys", "not a name!"))[0][0]
    (problem,) = schema_problems(bad)
    assert problem.path == ".".join(path)


def _config(tmp_path: Path):
    return load_config(env={"AUTO_HOME": str(tmp_path / ".auto")}, cwd=tmp_path)


def test_keys_are_written_private_and_masked(tmp_path: Path) -> None:
    from qwak_auto.redact import redact

    settings = ServeSettings(api_keys_secret="churn_api_keys")
    environ = {"AUTO_SECRET_CHURN_API_KEYS": f"{KEY_A}\n\n{KEY_B}\n"}
    path = backends.write_api_keys(settings, tmp_path / "dep", _config(tmp_path), environ)
    assert path == tmp_path / "dep" / "api_keys"
    assert path.read_text() == f"{KEY_A}\n{KEY_B}\n"
    assert path.stat().st_mode & 0o777 == 0o600
    assert redact(f"got {KEY_B}") == "got ***"
    assert backends.write_api_keys(ServeSettings(), tmp_path, _config(tmp_path), {}) is None


def test_a_missing_or_bad_secret_stops_the_deploy(tmp_path: Path) -> None:
    settings = ServeSettings(api_keys_secret="churn_api_keys")
    with pytest.raises(DeployError, match=r"api_keys_secret 'churn_api_keys'.*not found") as caught:
        backends.write_api_keys(settings, tmp_path, _config(tmp_path), {})
    assert "AUTO_SECRET_CHURN_API_KEYS" in caught.value.hint
    environ = {"AUTO_SECRET_CHURN_API_KEYS": f"{KEY_A}\nshortkey-123\n"}
    with pytest.raises(DeployError, match="key 2 is shorter than 16") as caught:
        backends.write_api_keys(settings, tmp_path, _config(tmp_path), environ)
    assert "shortkey-123" not in str(caught.value.message)
    assert not (tmp_path / "api_keys").exists()


def _build(tmp_path: Path) -> BuildResult:
    return BuildResult(
        build_id="b1", model_id="churn", commit="c", builder="local",
        artifact_dir=tmp_path, metrics={}, params={}, log_path=tmp_path / "build.log",
        image="auto/churn:b1",
    )  # fmt: skip


def test_the_server_gets_the_file_never_the_keys(tmp_path: Path) -> None:
    target = Target(model_id="churn", environment="dev", variation="default")
    settings = ServeSettings(api_keys_secret="churn_api_keys")
    keys = tmp_path / "api_keys"
    argv = backends.serve_argv(
        Path("/py"), _build(tmp_path), target, settings, _config(tmp_path), 9, tmp_path, keys
    )
    assert argv[argv.index("--api-keys-file") + 1] == str(keys)
    docker = containers.run_argv(
        _build(tmp_path), target, settings, config=_config(tmp_path), name="n", port=9,
        net="bridge", env_names=[], api_keys_file=keys,
    )  # fmt: skip
    assert f"type=bind,source={keys},target=/run/auto/api_keys,readonly" in docker
    assert docker[docker.index("--api-keys-file") + 1] == "/run/auto/api_keys"
    plain = backends.serve_argv(
        Path("/py"), _build(tmp_path), target, ServeSettings(), _config(tmp_path), 9, tmp_path
    )
    assert "--api-keys-file" not in plain
