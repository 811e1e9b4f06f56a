"""The kubernetes backend against a recording kubectl (a script on PATH that records its
argv and answers from fixture Secrets), through the real proc.run."""

from __future__ import annotations

import base64
import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from qwak_auto import redact
from qwak_auto.config import load_config
from qwak_auto.errors import BackendError
from qwak_auto.secrets.kubernetes import KubernetesBackend
from qwak_auto.secrets.registry import resolve

FAKE_KUBECTL = """\
#!{python}
import json, os, sys
from pathlib import Path

with open(os.environ["KUBECTL_RECORD"], "a", encoding="utf-8") as record:
    record.write(json.dumps(sys.argv[1:]) + "\\n")
args = sys.argv[1:]
if os.environ.get("KUBECTL_MODE") == "forbidden":
    sys.stderr.write('Error from server (Forbidden): secrets "x" is forbidden\\n')
    sys.exit(1)
namespace = args[args.index("--namespace") + 1]
name = args[2]
path = Path(os.environ["KUBECTL_FIXTURES"], namespace, name + ".json")
if not path.exists():
    sys.stderr.write(f'Error from server (NotFound): secrets "{{name}}" not found\\n')
    sys.exit(1)
sys.stdout.write(path.read_text())
"""


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def kube(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    kubectl = bindir / "kubectl"
    kubectl.write_text(FAKE_KUBECTL.format(python=sys.executable))
    kubectl.chmod(0o755)
    fixtures = tmp_path / "secrets" / "models"
    fixtures.mkdir(parents=True)
    secret = {"kind": "Secret", "data": {"value": _b64("ghp_kube_value_1"), "other": _b64("x2y3")}}
    (fixtures / "gh-token.json").write_text(json.dumps(secret))
    creds = {"kind": "Secret", "data": {"api-key": _b64("key-from-creds")}}
    (fixtures / "creds.json").write_text(json.dumps(creds))
    return {
        "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
        "KUBECTL_RECORD": str(tmp_path / "argv.jsonl"),
        "KUBECTL_FIXTURES": str(tmp_path / "secrets"),
        "AUTO_SECRETS_KUBE_NAMESPACE": "models",
        "AUTO_SECRETS_KUBE_CONTEXT": "test-ctx",
    }


def _recorded(env: dict[str, str]) -> list[list[str]]:
    lines = Path(env["KUBECTL_RECORD"]).read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_reads_and_decodes_the_value_key(kube: dict[str, str], tmp_path: Path) -> None:
    config = load_config(env={"AUTO_HOME": str(tmp_path / ".auto"), "AUTO_SECRETS": "kubernetes"})
    assert resolve("gh_token", config, kube) == ("ghp_kube_value_1", "kubernetes")
    assert resolve("creds/api-key", config, kube) == ("key-from-creds", "kubernetes")
    assert _recorded(kube) == [
        [
            "get",
            "secret",
            "gh-token",
            "-o",
            "json",
            "--namespace",
            "models",
            "--context",
            "test-ctx",
        ],
        ["get", "secret", "creds", "-o", "json", "--namespace", "models", "--context", "test-ctx"],
    ]
    # the value never reached kubectl's argv, and it is masked from now on
    assert "ghp_kube_value_1" not in json.dumps(_recorded(kube))
    assert redact.redact("ghp_kube_value_1") == redact.MASK


def test_missing_secret_or_key_passes_to_the_next_backend(
    kube: dict[str, str], tmp_path: Path
) -> None:
    config = load_config(
        env={"AUTO_HOME": str(tmp_path / ".auto"), "AUTO_SECRETS": "kubernetes,env"}
    )
    environ = {**kube, "AUTO_SECRET_NOT_THERE": "from-env-value"}
    assert resolve("not_there", config, environ) == ("from-env-value", "env")
    assert resolve("creds/absent-key", config, environ) == (None, None)


def test_forbidden_is_an_error_naming_namespace(kube: dict[str, str], tmp_path: Path) -> None:
    config = load_config(env={"AUTO_HOME": str(tmp_path / ".auto")})
    backend = KubernetesBackend(config, {**kube, "KUBECTL_MODE": "forbidden"})
    with pytest.raises(BackendError) as info:
        backend.get("gh_token")
    assert "'models'" in info.value.message
    assert "Forbidden" in info.value.message


def test_missing_kubectl_says_how_to_install(tmp_path: Path) -> None:
    config = load_config(env={"AUTO_HOME": str(tmp_path / ".auto")})
    backend = KubernetesBackend(config, {"PATH": str(tmp_path)})
    with pytest.raises(BackendError) as info:
        backend.get("gh_token")
    assert "kubectl" in info.value.message
    assert "install kubectl" in info.value.hint


def test_kubectl_timeout_is_bounded(
    kube: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qwak_auto.secrets import kubernetes

    slow = Path(kube["PATH"].split(os.pathsep)[0]) / "kubectl"
    slow.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(30)\n")
    monkeypatch.setattr(kubernetes, "TIMEOUT", 1.0)
    config = load_config(env={"AUTO_HOME": str(tmp_path / ".auto")})
    with pytest.raises(BackendError, match="did not finish within 1s"):
        KubernetesBackend(config, kube).get("gh_token")


def test_fake_kubectl_script_is_valid() -> None:
    compile(textwrap.dedent(FAKE_KUBECTL.format(python=sys.executable)), "kubectl", "exec")
