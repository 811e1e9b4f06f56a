"""iam.assume_role's checks that happen before any call to STS, and Credentials."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from qwak_auto.errors import AutoError, BuildError, DeployError
from qwak_auto.platform import aws as iam

ROLE = "arn:aws:iam::123456789012:role/auto-build"


@pytest.fixture(autouse=True)
def _no_ambient_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_credentials_as_env_and_hidden_repr() -> None:
    creds = iam.Credentials(
        role_arn=ROLE,
        access_key_id="ASIAEXAMPLE",
        secret_access_key="secret-xyz",
        session_token="token-abc",
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        region="eu-west-1",
    )
    env = creds.as_env()
    assert env["AWS_ACCESS_KEY_ID"] == "ASIAEXAMPLE"
    assert env["AWS_SECRET_ACCESS_KEY"] == "secret-xyz"
    assert env["AWS_SESSION_TOKEN"] == "token-abc"
    assert env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert "secret-xyz" not in repr(creds)
    assert "token-abc" not in repr(creds)
    no_region = iam.Credentials(
        role_arn=ROLE,
        access_key_id="a",
        secret_access_key="b",
        session_token="c",
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
    )
    assert "AWS_DEFAULT_REGION" not in no_region.as_env()


@pytest.mark.parametrize(
    "arn",
    [
        "",
        "role/x",
        "arn:aws:iam::12345:role/x",
        "arn:aws:s3:::bucket",
        "arn:aws:iam::123456789012:user/x",
    ],
)
def test_not_a_role_arn_is_refused_with_the_callers_error(arn: str) -> None:
    with pytest.raises(BuildError, match="is not an IAM role ARN"):
        iam.assume_role(arn, {}, session_name="s", error=BuildError)


def test_without_boto3_the_error_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(DeployError) as info:
        iam.assume_role(ROLE, {}, session_name="s", error=DeployError, what="custom_iam_role_arn")
    assert "custom_iam_role_arn needs boto3" in info.value.message
    assert "qwak-auto[aws]" in info.value.hint


def test_without_credentials_the_error_comes_before_any_call() -> None:
    with pytest.raises(AutoError) as info:
        iam.assume_role(ROLE, {"AWS_DEFAULT_REGION": "eu-west-1"}, session_name="s")
    assert "no AWS credentials" in info.value.message
    assert "AWS_ACCESS_KEY_ID" in info.value.hint


def test_half_a_key_pair_is_refused() -> None:
    with pytest.raises(BuildError, match="incomplete"):
        iam.assume_role(ROLE, {"AWS_ACCESS_KEY_ID": "AKIAONLY"}, session_name="s", error=BuildError)


def test_session_names_are_made_acceptable() -> None:
    assert iam.session_name("auto-build-churn 2026/01") == "auto-build-churn-2026-01"
    assert len(iam.session_name("x" * 200)) == 64
    assert iam.session_name("/") == "auto-session"
    assert iam.valid_role_arn(ROLE)
    assert iam.valid_role_arn("arn:aws-us-gov:iam::123456789012:role/path/name")
