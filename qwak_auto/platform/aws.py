"""Temporary AWS credentials for a role: ``assumed_iam_role`` (builds) and
``custom_iam_role_arn`` (deployments).

The runner's own AWS credentials (from its environment, a profile or the usual chain) call
STS AssumeRole; the temporary credentials come back as environment variables for the one
process or container that needs them. Every value is registered with the redactor the moment
it exists, never written to disk, argv or an image. Without boto3 or without usable runner
credentials the caller gets a clear error BEFORE it starts anything.

boto3 is the optional extra ``aws`` (``pip install 'qwak-auto[aws]'``) and imported here only.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from qwak_auto.automation.values import ROLE_ARN
from qwak_auto.errors import AutoError
from qwak_auto.redact import register

_SESSION_CHARS = re.compile(r"[^\w+=,.@-]+")
MIN_DURATION = 900
MAX_DURATION = 43200
STS_TIMEOUT = 15.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    role_arn: str
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expires_at: datetime
    region: str | None = None

    def as_env(self) -> dict[str, str]:
        """The variables an AWS SDK reads (the region only when it is known)."""
        env = {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
            "AWS_CREDENTIAL_EXPIRATION": self.expires_at.isoformat(),
        }
        if self.region:
            env["AWS_DEFAULT_REGION"] = self.region
            env["AWS_REGION"] = self.region
        return env


def valid_role_arn(role_arn: str) -> bool:
    """AWS's IAM role ARN pattern, the one `auto validate` checks too."""
    return bool(ROLE_ARN.match(role_arn))


def session_name(text: str) -> str:
    """A RoleSessionName STS accepts: 2-64 of ``[A-Za-z0-9_+=,.@-]``."""
    name = _SESSION_CHARS.sub("-", text).strip("-")[:64]
    return name if len(name) >= 2 else "auto-session"


def _region(environ: Mapping[str, str]) -> str | None:
    return environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or None


def _endpoint(environ: Mapping[str, str]) -> str | None:
    return environ.get("AWS_ENDPOINT_URL_STS") or environ.get("AWS_ENDPOINT_URL") or None


def assume_role(
    role_arn: str,
    environ: Mapping[str, str],
    *,
    session_name: str,
    duration: int = 3600,
    error: type[AutoError] = AutoError,
    what: str = "assumed_iam_role",
) -> Credentials:
    """Assume ``role_arn`` with the credentials found in ``environ`` (keys, AWS_PROFILE, or
    boto3's default chain) and return the temporary credentials, registered with the redactor.

    ``error`` is the AutoError subclass raised on failure (BuildError for builds,
    DeployError for deployments); ``what`` names the setting in messages.
    """
    if not valid_role_arn(role_arn):
        raise error(
            f"{what}: {role_arn!r} is not an IAM role ARN",
            "use arn:aws:iam::<12-digit account>:role/<name>",
        )
    try:
        import boto3

        # botocore ships no type information; its modules are used untyped (Any).
        botocore_config = importlib.import_module("botocore.config")
        botocore_exc = importlib.import_module("botocore.exceptions")
    except ImportError:
        raise error(
            f"{what} needs boto3, which is not installed",
            "pip install 'qwak-auto[aws]' (or pip install boto3) where auto runs",
        ) from None
    session = _session(boto3, environ, error, what)
    if session.get_credentials() is None:
        raise error(
            f"{what} {role_arn}: auto has no AWS credentials to assume it with",
            "give the runner credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, "
            "or an instance/pod role",
        )
    region = _region(environ) or session.region_name
    client = session.client(
        "sts",
        region_name=region or "us-east-1",
        endpoint_url=_endpoint(environ),
        config=botocore_config.Config(
            connect_timeout=STS_TIMEOUT,
            read_timeout=STS_TIMEOUT,
            retries={"max_attempts": 3, "mode": "standard"},
        ),
    )
    seconds = max(MIN_DURATION, min(MAX_DURATION, int(duration)))
    try:
        answer = client.assume_role(
            RoleArn=role_arn,
            RoleSessionName=_safe_session(session_name),
            DurationSeconds=seconds,
        )
    except botocore_exc.ClientError as exc:
        info = exc.response.get("Error", {})
        raise error(
            f"{what} {role_arn}: STS refused AssumeRole: "
            f"{info.get('Code', 'error')}: {info.get('Message', '')}".rstrip(": "),
            "check the role's trust policy and that the runner's credentials may assume it",
        ) from None
    except (
        botocore_exc.NoCredentialsError,
        botocore_exc.PartialCredentialsError,
    ):
        raise error(
            f"{what} {role_arn}: the runner's AWS credentials are incomplete",
            "set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE",
        ) from None
    except botocore_exc.BotoCoreError as exc:
        raise error(
            f"{what} {role_arn}: STS could not be reached: {exc}",
            "check the network path to STS (AWS_ENDPOINT_URL_STS overrides the endpoint)",
        ) from None
    return _credentials(role_arn, answer, region)


def _safe_session(name: str) -> str:
    return session_name(name)


def _session(boto3: Any, environ: Mapping[str, str], error: type[AutoError], what: str) -> Any:
    key = environ.get("AWS_ACCESS_KEY_ID")
    secret = environ.get("AWS_SECRET_ACCESS_KEY")
    if bool(key) != bool(secret):
        raise error(
            f"{what}: the runner's AWS credentials are incomplete",
            "set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or use AWS_PROFILE)",
        )
    kwargs: dict[str, Any] = {"region_name": _region(environ)}
    if key and secret:
        kwargs.update(
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=environ.get("AWS_SESSION_TOKEN") or None,
        )
    elif environ.get("AWS_PROFILE"):
        kwargs["profile_name"] = environ["AWS_PROFILE"]
    try:
        return boto3.session.Session(**kwargs)
    except Exception as exc:  # noqa: BLE001 - botocore's ProfileNotFound and friends
        raise error(f"{what}: the runner's AWS configuration is unusable: {exc}") from None


def _credentials(role_arn: str, answer: Mapping[str, Any], region: str | None) -> Credentials:
    raw = answer["Credentials"]
    expires = raw.get("Expiration")
    if not isinstance(expires, datetime):
        expires = datetime.fromisoformat(str(expires).replace("Z", "+00:00"))
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    creds = Credentials(
        role_arn=role_arn,
        access_key_id=str(raw["AccessKeyId"]),
        secret_access_key=str(raw["SecretAccessKey"]),
        session_token=str(raw["SessionToken"]),
        expires_at=expires.astimezone(UTC),
        region=region,
    )
    for value in (creds.access_key_id, creds.secret_access_key, creds.session_token):
        register(value)
    return creds
