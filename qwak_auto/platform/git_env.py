"""What a git process is given: its environment, its configuration and the one credential
it needs, and what its refusal of that credential means (issue 14).

git gets only what it needs from the runner's environment (:data:`PASS`), its settings
through ``GIT_CONFIG_COUNT``/``_KEY_n``/``_VALUE_n`` (never a config file), and the token of
``git_access_token_secret`` as an ``http.extraHeader`` among them, or the key of
``git_ssh_key_secret`` in a 0600 file: never another secret of the runner's environment,
which another local user could otherwise read in ``/proc/PID/environ``.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from qwak_auto.errors import SourceError
from qwak_auto.redact import redact, register

if TYPE_CHECKING:
    from qwak_auto.automation.model import BuildSpec

# What git may need from the runner's environment: finding programs, the user's git
# configuration, proxies and certificates, the ssh agent. Nothing else (no secrets).
PASS = (
    "PATH",
    "HOME",
    "TMPDIR",
    "XDG_CONFIG_HOME",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "GIT_SSL_CAINFO",
    "GIT_SSL_CAPATH",
    "CURL_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "SSH_AUTH_SOCK",
)
# How git says that the server wanted credentials it did not get or did not accept
# (prompts are off, so "could not read Username" is what a refused token looks like).
_REFUSED = re.compile(
    r"could not read (username|password)|authentication failed|terminal prompts disabled"
    r"|returned error: 40[13]|permission denied \(publickey|access denied",
    re.IGNORECASE,
)
_SCP_HOST = re.compile(r"^[A-Za-z0-9._~-]+@([A-Za-z0-9.-]+):")


def auth_header(token: str, scheme: str = "basic") -> str:
    """The HTTP header that carries a token (GitHub and GitLab accept Basic with any user)."""
    if scheme == "bearer":
        return f"Authorization: Bearer {token}"
    pair = base64.b64encode(f"x-access-token:{token}".encode()).decode("ascii")
    register(pair)  # the encoded form is as secret as the token
    return f"Authorization: Basic {pair}"


def git_config_env(extra: Sequence[tuple[str, str]] = ()) -> dict[str, str]:
    """Git configuration passed through the environment (never written to a config file)."""
    settings: list[tuple[str, str]] = [
        ("protocol.allow", "never"),
        ("protocol.https.allow", "always"),
        ("protocol.http.allow", "always"),
        ("protocol.ssh.allow", "always"),
        ("protocol.file.allow", "always"),
        ("protocol.ext.allow", "never"),
        ("credential.helper", ""),
        ("core.hooksPath", "/dev/null"),
        *extra,
    ]
    env = {"GIT_CONFIG_COUNT": str(len(settings))}
    for index, (key, value) in enumerate(settings):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


def passed_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The part of the runner's environment that git is given."""
    env = {k: environ[k] for k in PASS if k in environ}
    env.setdefault("PATH", os.defpath)
    return env


def base_env() -> dict[str, str]:
    return {
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "",
        "SSH_ASKPASS": "",
        "GCM_INTERACTIVE": "never",
        "GIT_ALLOW_PROTOCOL": "https:http:ssh:file",
        "GIT_CONFIG_NOSYSTEM": "1",
        "LC_ALL": "C",
    }


@contextlib.contextmanager
def auth_env(
    spec: BuildSpec,
    secrets: Callable[[str], str],
    cache: Path,
    environ: Mapping[str, str],
) -> Iterator[dict[str, str]]:
    """git's whole environment for ``spec``, its credential resolved now; an ssh key file
    exists only inside the block."""
    extra: list[tuple[str, str]] = []
    env = {**passed_env(environ), **base_env()}
    key_dir: Path | None = None
    try:
        if spec.git_access_token_secret:
            token = secrets(spec.git_access_token_secret).strip()
            register(token)
            extra.append(("http.extraHeader", auth_header(token)))
        if spec.git_ssh_key_secret:
            key = secrets(spec.git_ssh_key_secret)
            register(key)
            key_dir = Path(tempfile.mkdtemp(prefix="auto-ssh-"))
            key_file = key_dir / "id"
            key_file.touch(mode=0o600)
            key_file.write_text(key.strip() + "\n", encoding="utf-8")
            known = cache / "known_hosts"
            known.parent.mkdir(parents=True, exist_ok=True)
            env["GIT_SSH_COMMAND"] = " ".join(
                [
                    "ssh",
                    "-i",
                    shlex.quote(str(key_file)),
                    "-o IdentitiesOnly=yes -o BatchMode=yes",
                    "-o StrictHostKeyChecking=accept-new",
                    "-o",
                    shlex.quote(f"UserKnownHostsFile={known}"),
                ]
            )
        env.update(git_config_env(extra))
        yield env
    finally:
        if key_dir is not None:
            shutil.rmtree(key_dir, ignore_errors=True)


def auth_failed(output: str) -> bool:
    """Whether git's output says the server refused (or wanted) credentials."""
    return _REFUSED.search(output) is not None


def host(url: str) -> str:
    """The server of a repository URL, as a user names it (``github.com``, ``host:8443``)."""
    found = _SCP_HOST.match(url)
    if found:
        return found.group(1)
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return netloc or "the local repository"


def refused(spec: BuildSpec, url: str, detail: str) -> SourceError:
    """The error of a fetch whose credentials the server refused: which secret, which host."""
    where = host(url)
    ssh = bool(_SCP_HOST.match(url)) or url.startswith("ssh://")
    if ssh and spec.git_ssh_key_secret:
        return SourceError(
            f"the ssh key in secret {spec.git_ssh_key_secret} was refused by {where}",
            f"store a key that {where} accepts for this repository under "
            f"{spec.git_ssh_key_secret} ({redact(detail)})",
        )
    name = spec.git_access_token_secret
    if name:
        return SourceError(
            f"the token in secret {name} was refused by {where}",
            f"store a token with read access to {redact(url)} under {name}; it may have "
            "expired or been revoked",
        )
    failed = detail.partition(":")[0]  # "git fetch failed"
    return SourceError(
        f"{failed}: {where} asks for credentials to read {redact(url)}",
        "store a token with read access in a secret and name it in "
        "build_spec.git_access_token_secret (or git_ssh_key_secret for an ssh URL)",
    )
