"""Temporary AWS credentials for a deployment's ``custom_iam_role_arn`` (STS AssumeRole).

The model server never sees auto's own AWS credentials. It gets the two variables of the
AWS SDKs' container-credentials provider, pointing at its deployment's own credentials server
(:mod:`qwak_auto.deploy.credentials`), which assumes the role with auto's credentials and
hands out the temporary ones, assuming it again before they expire; the SDK in the model
refreshes by itself (botocore asks again 15 minutes before expiry).

boto3 is optional (``pip install qwak-auto[aws]``). ``AWS_ENDPOINT_URL_STS`` points STS
elsewhere (a moto server in tests). Every value is registered with the redactor.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from qwak_auto.errors import DeployError
from qwak_auto.redact import register

DURATION_SECONDS = 3600
REFRESH_MARGIN = 20 * 60  # more than botocore's 15-minute advisory refresh window
STATIC_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")


def assume(role_arn: str, session_name: str, environ: Mapping[str, str]) -> dict[str, Any]:
    """STS AssumeRole with the credentials in ``environ`` (else boto3's usual chain), through
    :func:`qwak_auto.platform.aws.assume_role` (the builds use it too). Returns the
    container-provider shape: AccessKeyId, SecretAccessKey, Token, Expiration."""
    from qwak_auto.platform.aws import assume_role

    creds = assume_role(
        role_arn,
        environ,
        session_name=session_name,
        duration=DURATION_SECONDS,
        error=DeployError,
        what="custom_iam_role_arn",
    )
    return {
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key,
        "Token": creds.session_token,
        "Expiration": creds.expires_at.isoformat(),
    }


def role_credentials(
    role_arn: str, session_name: str, environ: Mapping[str, str]
) -> dict[str, str]:
    """The role's temporary credentials as environment variables (checked at deploy time)."""
    creds = assume(role_arn, session_name, environ)
    return {
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["Token"],
        "AWS_CREDENTIAL_EXPIRATION": str(creds["Expiration"]),
    }


def aws_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """The AWS_* part of an environment (what the credentials server needs to assume a role)."""
    return {k: v for k, v in environ.items() if k.startswith("AWS_")}


class RoleCache:
    """In the credentials server: which token may have which role, and the role's current
    credentials (assumed again when less than ``margin`` seconds remain)."""

    def __init__(
        self,
        environ: Mapping[str, str],
        fetch: Callable[[str, str, Mapping[str, str]], dict[str, Any]] = assume,
        clock: Callable[[], float] = time.time,
        margin: float = REFRESH_MARGIN,
    ) -> None:
        self._environ = dict(environ)
        self._fetch = fetch
        self._clock = clock
        self._margin = margin
        self._lock = threading.Lock()
        # token -> (role, session name, the deployer's AWS settings to assume it with)
        self._grants: dict[str, tuple[str, str, dict[str, str]]] = {}
        self._cache: dict[str, tuple[dict[str, Any], float]] = {}  # role -> (creds, expiry)

    def grant(
        self, token: str, role: str, session: str, environ: Mapping[str, str] | None = None
    ) -> None:
        register(token)
        for key in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            if environ and environ.get(key):
                register(environ[key])
        with self._lock:
            self._grants[token] = (role, session, dict(environ or self._environ))

    def get(self, token: str) -> dict[str, Any] | None:
        """The credentials for ``token``'s role, None for an unknown token."""
        with self._lock:
            grant = self._grants.get(token)
            if grant is None:
                return None
            role, session, environ = grant
            cached = self._cache.get(role)
            if cached is not None and cached[1] - self._clock() > self._margin:
                return cached[0]
            creds = self._fetch(role, session, environ)
            expiry = datetime.fromisoformat(str(creds["Expiration"])).timestamp()
            self._cache[role] = (creds, expiry)
            return creds
