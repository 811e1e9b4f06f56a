"""custom_iam_role_arn locally: STS AssumeRole against a real moto server on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from qwak_auto.deploy.iam import role_credentials
from qwak_auto.deploy.local import deploy_build
from qwak_auto.deploy.settings import ServeSettings, Target
from qwak_auto.errors import DeployError
from qwak_auto.redact import redact
from tests.conftest import missing_service
from tests.integration.deploy_local.conftest import World

ROLE = "arn:aws:iam::123456789012:role/churn-serving"


@pytest.fixture(scope="module")
def sts() -> Iterator[str]:
    server = Path(sys.executable).with_name("moto_server")
    if not server.exists() and shutil.which("moto_server") is None:
        missing_service("moto", "moto_server is not installed (pip install 'moto[server]')")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [str(server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def aws_env(url: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_STS": url,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def test_role_credentials_are_temporary_and_redacted(sts: str) -> None:
    creds = role_credentials(ROLE, "auto-churn", aws_env(sts))
    assert creds["AWS_ACCESS_KEY_ID"] != "testing"
    assert creds["AWS_SESSION_TOKEN"]
    assert creds["AWS_CREDENTIAL_EXPIRATION"]
    assert redact(f"token {creds['AWS_SESSION_TOKEN']}") == "token ***"


def test_the_model_server_gets_renewable_role_credentials(world: World, sts: str) -> None:
    settings = ServeSettings(workers=1, ready_timeout=60, iam_role=ROLE)
    deploy_build(
        world.build("A"),
        Target(model_id="churn", environment="dev", variation="default"),
        settings,
        store=world.store,
        config=world.config,
        environ=aws_env(sts),
    )
    record = world.store.serving("churn", "dev", "default")
    assert record is not None
    raw = Path(f"/proc/{record.detail['pid']}/environ").read_bytes().split(b"\0")
    env = dict(item.decode().split("=", 1) for item in raw if b"=" in item)
    # auto's own keys never reach the model; the SDK's container provider does
    assert "AWS_ACCESS_KEY_ID" not in env
    assert "AWS_SECRET_ACCESS_KEY" not in env
    # off the traffic path: the deployment's own credentials server, not its address
    credentials_url = env["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
    assert credentials_url.startswith("http://127.0.0.1:")
    assert not credentials_url.startswith(record.address)
    assert "Token" not in str(dict(record.detail))
    # what botocore inside the model does (and does again before expiry)
    from botocore.credentials import ContainerProvider  # type: ignore[import-untyped]
    from botocore.exceptions import CredentialRetrievalError  # type: ignore[import-untyped]

    creds = ContainerProvider(environ=env).load()
    assert creds is not None
    frozen = creds.get_frozen_credentials()
    assert frozen.access_key not in ("", "testing")
    assert frozen.token
    wrong = {**env, "AWS_CONTAINER_AUTHORIZATION_TOKEN": "not-the-token"}
    with pytest.raises(CredentialRetrievalError):
        ContainerProvider(environ=wrong).load()


def test_no_credentials_fail_with_the_reason(sts: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # boto3 also looks at this process's own environment and files: make them empty too.
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    env = {k: v for k, v in aws_env(sts).items() if not k.startswith("AWS_ACCESS")}
    env.pop("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(DeployError, match=r"custom_iam_role_arn .* no AWS credentials"):
        role_credentials(ROLE, "auto-churn", env)
