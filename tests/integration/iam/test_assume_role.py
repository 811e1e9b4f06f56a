"""iam.assume_role against a real moto STS server on 127.0.0.1."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest

from qwak_auto.errors import BuildError, DeployError
from qwak_auto.platform import aws as iam
from qwak_auto.redact import redact
from tests.integration.iam.moto import ROLE, RUNNER_SECRET, runner_environ


def test_assume_role_returns_registered_temporary_credentials(sts_url: str) -> None:
    creds = iam.assume_role(
        ROLE, runner_environ(sts_url), session_name="auto-build-churn-1", duration=1200
    )
    assert creds.role_arn == ROLE
    assert creds.access_key_id.startswith("ASIA")
    assert creds.session_token
    assert creds.secret_access_key != RUNNER_SECRET
    now = datetime.now(UTC)
    assert now < creds.expires_at <= now + timedelta(seconds=1200 + 60)
    env = creds.as_env()
    assert set(env) == {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CREDENTIAL_EXPIRATION",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
    }
    assert env["AWS_DEFAULT_REGION"] == "eu-west-1"
    line = f"key={creds.access_key_id} secret={creds.secret_access_key} token={creds.session_token}"
    shown = redact(line)
    for value in (creds.access_key_id, creds.secret_access_key, creds.session_token):
        assert value not in shown


def test_temporary_credentials_work_for_the_role(sts_url: str) -> None:
    """The credentials handed to a build are usable: STS says who they are."""
    import boto3

    creds = iam.assume_role(ROLE, runner_environ(sts_url), session_name="check")
    client = boto3.session.Session(
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        aws_session_token=creds.session_token,
        region_name="eu-west-1",
    ).client("sts", endpoint_url=sts_url)
    arn = client.get_caller_identity()["Arn"]
    assert arn.endswith("assumed-role/auto-build/check")


def test_a_short_duration_is_raised_to_stss_minimum(sts_url: str) -> None:
    creds = iam.assume_role(ROLE, runner_environ(sts_url), session_name="s", duration=5)
    assert creds.expires_at > datetime.now(UTC) + timedelta(seconds=iam.MIN_DURATION - 60)


def test_no_runner_credentials_fail_before_any_call(sts_url: str) -> None:
    environ = {"AWS_DEFAULT_REGION": "eu-west-1", "AWS_ENDPOINT_URL_STS": sts_url}
    with pytest.raises(DeployError) as info:
        iam.assume_role(
            ROLE, environ, session_name="s", error=DeployError, what="custom_iam_role_arn"
        )
    assert info.value.message.startswith("custom_iam_role_arn ")
    assert "no AWS credentials" in info.value.message


def test_unreachable_sts_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    environ = runner_environ(f"http://127.0.0.1:{port}")
    with pytest.raises(BuildError) as info:
        iam.assume_role(ROLE, environ, session_name="s", error=BuildError)
    assert "STS could not be reached" in info.value.message
    assert RUNNER_SECRET not in info.value.message
    assert "\n" not in info.value.message
