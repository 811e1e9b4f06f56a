"""The git source: fetch a model repository at the exact commit of its branch.

Each repository URL has one bare cache, ``config.home/cache/repos/<sha256(url)[:16]>``:
created once, then only fetched (the branch being built; every branch and tag only when
``git_branch`` names a tag or a commit), so a re-run transfers just the new objects. Each
commit is checked out once into ``cache/checkouts/<url hash>/<commit>`` (its own work
tree, a temporary index; the cache's HEAD never moves), so concurrent builds of different
commits never share a working tree.

Security (see issue 5): only https/http, ssh and file transports (``protocol.allow=never``
plus explicit allows, and ``GIT_ALLOW_PROTOCOL``); ``--`` before every URL; no prompts;
a timeout on every git call. A private repository's token is resolved at the last moment
and handed to git as an ``http.extraHeader`` through ``GIT_CONFIG_COUNT``/``_KEY_n``/
``_VALUE_n`` environment variables: never in the URL, argv, ``.git/config``, logs or state.
An ssh key is written to a 0600 file in a private temporary directory and removed after.
git starts through ``proc.run`` with an environment of its own: what it needs from ours
(PATH, HOME, proxies, certificates, the ssh agent) and its configuration, never the other
secrets of the runner's environment (issue 14: a git process's /proc/PID/environ held every
``AUTO_SECRET_*`` value when GitPython started it with a copy of ours).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from qwak_auto import proc
from qwak_auto.automation.values import branch_problem
from qwak_auto.errors import ProcError, SourceError
from qwak_auto.platform import git_env
from qwak_auto.platform.git_env import auth_header, base_env, git_config_env
from qwak_auto.platform.locks import locked
from qwak_auto.redact import redact
from qwak_auto.run.contracts import Checkout, RunContext

if TYPE_CHECKING:
    from qwak_auto.automation.model import BuildSpec

__all__ = ["GitSource", "auth_header", "base_env", "git_config_env"]

DEFAULT_TIMEOUT = 600.0
ALLOWED_SCHEMES = ("https", "http", "ssh", "file")
_SCP_LIKE = re.compile(r"^[A-Za-z0-9._~-]+@[A-Za-z0-9.-]+:(?!//)")
_SHA = re.compile(r"^[0-9a-f]{7,40}$")
REFSPECS = ("+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*")


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def check_url(url: str) -> str:
    """The transport of ``url`` (https, http, ssh or file), or a SourceError saying why not."""
    if not url or url.startswith("-"):
        raise SourceError(f"git_uri {url!r} is not a repository URL")
    if "::" in url.split("/", 1)[0] or url.startswith(("ext:", "fd:")):
        raise SourceError(
            f"git_uri {url!r} uses a git remote helper, which auto does not allow",
            "use an https://, ssh:// or file:// URL",
        )
    if _SCP_LIKE.match(url):
        return "ssh"
    if url.startswith("/") or "://" not in url:
        return "file"  # a local path (a relative one is resolved by resolve_url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise SourceError(
            f"git_uri {redact(url)!r}: transport {scheme or '(none)'!r} is not allowed",
            "use an https://, ssh:// or file:// URL",
        )
    if scheme in ("http", "https") and (parts.password is not None or parts.username):
        raise SourceError(
            "git_uri contains credentials",
            "remove them from the URL and name a secret in build_spec.git_access_token_secret",
        )
    return scheme


def check_branch(branch: str) -> str:
    """``git_branch`` as a safe ref name (it is used in refspecs and ref file paths): the
    rule ``auto validate`` applies (automation.values.branch_problem)."""
    found = branch_problem(branch)
    if found is not None:
        _code, message, hint = found
        raise SourceError(message, hint)
    return branch


def resolve_url(url: str, origin_file: str) -> str:
    """A relative local path is resolved against the folder of the automation file that
    names it (the spec's rule); every other URL is returned as it is."""
    if "://" in url or url.startswith("/") or _SCP_LIKE.match(url):
        return url
    base = Path(origin_file).parent if origin_file and not origin_file.startswith("<") else Path()
    return str((base / url).resolve())


class _Refused(SourceError):
    """The remote refused the credentials git was given (or asked for some)."""


def contained(root: Path, relative: str, what: str) -> Path:
    """``root / relative`` with symlinks resolved; a SourceError if it leaves ``root``."""
    if Path(relative).is_absolute():
        raise SourceError(f"{what} {relative!r} must be a path relative to the repository")
    real_root = root.resolve()
    target = (real_root / relative).resolve()
    if not target.is_relative_to(real_root):
        raise SourceError(
            f"{what} {relative!r} points outside the repository",
            "paths (and the symlinks they pass through) must stay inside the checkout",
        )
    return target


def _reason(stderr: str, status: object) -> str:
    """The line of git's output that says what went wrong (``fatal:`` first)."""
    lines = [ln.strip().removeprefix("stderr: ").strip("'").strip() for ln in stderr.splitlines()]
    lines = [ln for ln in lines if ln]
    for prefix in ("fatal:", "error:", "remote:"):
        for line in lines:
            if line.startswith(prefix):
                return line.removeprefix(prefix).strip()
    return lines[-1] if lines else f"exit status {status}"


def read_ref(repo: Path, ref: str) -> str | None:
    """The SHA a ref points to, read from the ref files (saves starting git)."""
    loose = repo / ref
    if loose.is_file():
        value = loose.read_text(encoding="utf-8").strip()
        return value if _SHA.match(value) else None
    packed = repo / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(encoding="utf-8").splitlines():
            sha, _, name = line.partition(" ")
            if name == ref and _SHA.match(sha):
                return sha
    return None


class GitSource:
    """``Source`` for the runner: ``fetch(build_spec, ctx) -> Checkout``."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout

    def fetch(self, spec: BuildSpec, ctx: RunContext) -> Checkout:
        check_url(spec.repo_url)
        check_branch(spec.git_branch)
        url = resolve_url(spec.repo_url, ctx.automation.origin.file)
        key = url_key(url)
        cache = ctx.config.home / "cache"
        repo = cache / "repos" / key
        # Another build of the same repository fetches and checks out under this lock (two
        # git calls, each at most `timeout`): wait as long as that may take, then say so.
        lock = locked(
            cache / "repos" / f"{key}.lock",
            timeout=2 * self.timeout,
            what=f"the repository cache of {redact(url)}",
        )
        environ = ctx.environ or os.environ
        with lock, git_env.auth_env(spec, ctx.secrets, cache, environ) as env:
            if not (repo / "HEAD").is_file():
                self._init(repo, env)
            try:
                commit = self._update(repo, url, spec.git_branch, env)
            except _Refused as exc:
                raise git_env.refused(spec, url, exc.message) from None
            root = self._checkout(repo, cache / "checkouts" / key / commit, commit, env)
        project_dir = contained(root, spec.sub_path or ".", "git_uri path")
        if not project_dir.is_dir():
            raise SourceError(
                f"git_uri path {spec.sub_path!r} does not exist at {commit[:7]} of {redact(url)}",
                "the part after # in git_uri is a folder inside the repository",
            )
        main_dir = contained(project_dir, spec.main_dir or "main", "main_dir")
        return Checkout(
            repo_url=url,
            branch=spec.git_branch,
            commit=commit,
            root=root,
            project_dir=project_dir,
            main_dir=main_dir,
        )

    # ------------------------------------------------------------ git calls

    def _git(self, args: Sequence[str], env: Mapping[str, str], cwd: Path | None = None) -> str:
        command = next(a for a in args if not a.startswith("-") and "/" not in a)
        hint = "check git_uri, git_branch and the access secret (run with --debug)"
        try:
            result = proc.run(["git", *args], timeout=self.timeout, env=env, cwd=cwd, check=False)
        except ProcError as exc:
            reason = exc.message
            if "did not finish" in exc.message:
                reason = f"did not finish within {self.timeout:g}s"
            raise SourceError(f"git {command} failed: {reason}", hint) from None
        if result.returncode != 0:
            output = result.stderr or result.stdout
            reason = _reason(output, result.returncode)
            if git_env.auth_failed(output):
                raise _Refused(f"git {command} failed: {reason}", hint)
            raise SourceError(f"git {command} failed: {reason}", hint)
        return result.stdout.strip()

    def _fetch(self, repo: Path, url: str, refspecs: Sequence[str], env: Mapping[str, str]) -> None:
        self._git(
            [
                "--git-dir",
                str(repo),
                "fetch",
                "--quiet",
                "--prune",
                "--force",
                "--",
                url,
                *refspecs,
            ],
            env,
        )

    def _init(self, repo: Path, env: Mapping[str, str]) -> None:
        """An empty bare repository, made in a temporary directory and renamed into place."""
        tmp = repo.parent / f".tmp-{repo.name}-{uuid.uuid4().hex[:8]}"
        tmp.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._git(["init", "--quiet", "--bare", "--", str(tmp)], env)
            if repo.exists():
                shutil.rmtree(repo)  # left over from an interrupted first fetch
            tmp.rename(repo)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _update(self, repo: Path, url: str, branch: str, env: Mapping[str, str]) -> str:
        """Fetch ``branch`` (only it: the cheap, usual case) and return its commit; when the
        remote has no such branch, fetch every branch and tag and try it as a tag or SHA."""
        ref = f"refs/remotes/origin/{branch}"
        try:
            self._fetch(repo, url, [f"+refs/heads/{branch}:{ref}"], env)
        except SourceError:
            self._fetch(repo, url, REFSPECS, env)  # raises when the remote itself fails
        else:
            found = read_ref(repo, ref)
            if found:
                return found
        return self._resolve(repo, branch, url, env)

    def _resolve(self, repo: Path, branch: str, url: str, env: Mapping[str, str]) -> str:
        candidates = [f"refs/remotes/origin/{branch}", f"refs/tags/{branch}"]
        if _SHA.match(branch):
            candidates.append(branch)
        for ref in candidates:
            try:
                return self._git(
                    [
                        "--git-dir",
                        str(repo),
                        "rev-parse",
                        "--verify",
                        "--quiet",
                        f"{ref}^{{commit}}",
                    ],
                    env,
                )
            except SourceError:
                continue
        raise SourceError(
            f"git_branch {branch!r} not found in {redact(url)}",
            "set build_spec.git_branch to an existing branch (or a tag or commit)",
        )

    def _checkout(self, repo: Path, target: Path, commit: str, env: Mapping[str, str]) -> Path:
        """The files of ``commit``, written once into ``target`` and reused afterwards.

        ``git checkout <commit> -- .`` with a work tree of our own and a temporary index
        file: the shared cache's HEAD and index are not touched, and a checkout is complete
        when it has its final name (written under a temporary one, then renamed).
        """
        if target.is_dir():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".tmp-{commit[:12]}-{uuid.uuid4().hex[:8]}"
        index = tmp.with_name(tmp.name + ".index")
        tmp.mkdir()
        try:
            checkout = ["checkout", "--quiet", "--force", commit, "--", "."]
            self._git(
                ["--git-dir", str(repo), "--work-tree", str(tmp), *checkout],
                {**env, "GIT_INDEX_FILE": str(index)},
            )
            tmp.rename(target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            index.unlink(missing_ok=True)
        return target
