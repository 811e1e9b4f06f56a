"""A moto STS server for the session, and an environment without any AWS credentials."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import missing_service
from tests.integration.iam.moto import moto_binary, moto_server


@pytest.fixture(scope="session")
def sts_url() -> Iterator[str]:
    if moto_binary() is None:
        missing_service("moto", "moto_server is not installed (pip install 'moto[server]')")
    with moto_server() as url:
        yield url


@pytest.fixture(autouse=True)
def _no_ambient_aws(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """No credentials reach boto3 from the machine: only what a test hands over."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_STS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
