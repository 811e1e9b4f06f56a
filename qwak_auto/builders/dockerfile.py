"""What the docker builder hands to docker: Dockerfiles, image names and ``docker run`` argv.

Pure functions (no programs started), so each rule is unit-tested:

- image names: ``auto/<model_id>:<build_id>`` (model), ``auto-deps:<hash>`` (a base image
  plus a virtual environment with one set of dependencies, reused across builds);
- the dependency step runs ``docker run --network host`` with the host's CA bundle and pip
  configuration mounted READ-ONLY and the installer's settings read from stdin, then the
  container is committed: mounts are not part of a container's filesystem and stdin is not
  part of its configuration, so neither certificates nor pip settings reach an image layer;
- the build runs ``docker run --rm --network none --cpus --memory`` (``--gpus`` for GPU
  resources) with env_vars and credentials passed as ``-e NAME``: the value travels in the
  docker CLI's environment, never on argv, and the container is removed, never committed.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from qwak_auto.automation.resources import CpuResources, GpuResources
from qwak_auto.automation.units import memory_bytes
from qwak_auto.builders.requirements import PIP_WITH_CUTOFF, PROXY_NAMES

VENV = "/opt/venv"
AUTO_DIR = "/opt/auto"  # holds the qwak_auto package source (the .pth points here)
MODEL_DIR = "/opt/model"  # the artifact: model.pkl, code/, provenance.json (manifests.py)
BUILD_DIR = "/opt/build"  # the harness's output directory, bind-mounted from the host stage
MOUNT_DIR = "/run/auto"  # read-only mounts of the dependency step
SERVE_PORT = 8080  # the port the Kubernetes manifests expect
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LABEL = "io.qwak-auto"
PTH_NAME = "_qwak_auto.pth"
SITE_LABEL = "io.qwak-auto.site-packages"

_REPO_BAD = re.compile(r"[^a-z0-9._-]+")
_TAG_BAD = re.compile(r"[^A-Za-z0-9_.-]+")


# ---------------------------------------------------------------- names


def image_repository(model_id: str) -> str:
    """``auto/<model_id>`` in the characters a repository name allows (lower case)."""
    slug = _REPO_BAD.sub("-", model_id.lower())
    slug = re.sub(r"[._-]{2,}", "-", slug).strip("._-") or "model"
    return f"auto/{slug[:100]}"


def image_tag(model_id: str, build_id: str) -> str:
    tag = _TAG_BAD.sub("-", build_id).lstrip(".-")[:128] or "latest"
    return f"{image_repository(model_id)}:{tag}"


def stage_tag(model_id: str, build_id: str) -> str:
    """The intermediate image (runtime + code, no model yet); untagged after the build."""
    return image_tag(model_id, build_id).replace("auto/", "auto-stage/", 1)


def deps_tag(digest: str) -> str:
    return f"auto-deps:{digest}"


def container_name(prefix: str, ident: str) -> str:
    return f"{prefix}-{_TAG_BAD.sub('-', ident)}"[:120]


# ---------------------------------------------------------------- Dockerfiles


def _quote(value: str) -> str:
    return json.dumps(value)


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    parts = " ".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(labels.items()))
    return f"LABEL {parts}\n"


def runtime_env() -> dict[str, str]:
    return {
        "PATH": f"{VENV}/bin:{SYSTEM_PATH}",
        "VIRTUAL_ENV": VENV,
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "MPLBACKEND": "Agg",
        "MODEL_DIR": MODEL_DIR,
        "LANG": "C.UTF-8",
    }


def _env(env: Mapping[str, str]) -> str:
    return "ENV " + " \\\n    ".join(f"{k}={_quote(v)}" for k, v in env.items()) + "\n"


def pth_text() -> str:
    """The ``.pth`` of the image's venv: the auto package source and the qwak shim, as
    build/env.py arranges them for a local environment."""
    return f"{AUTO_DIR}\n{AUTO_DIR}/qwak_auto/runtime/shim\n"


def render_stage(
    *, deps_image: str, site_packages: str, labels: Mapping[str, str] | None = None
) -> str:
    """The build image: the dependency image (base + venv), auto's runtime, the model code.

    Only COPY steps: nothing runs at ``docker build`` time, so no network is needed and no
    build argument or secret exists to leak into the history."""
    if not site_packages.startswith("/"):
        raise ValueError(f"site-packages must be absolute, got {site_packages!r}")
    return (
        "# Rendered by auto (docker builder). Dependencies are installed in the FROM image.\n"
        f"FROM {deps_image}\n"
        f"COPY auto/ {AUTO_DIR}/\n"
        f"COPY {PTH_NAME} {site_packages.rstrip('/')}/{PTH_NAME}\n"
        f"COPY code/ {MODEL_DIR}/code/\n"
        + _env(runtime_env())
        + f"WORKDIR {MODEL_DIR}\n"
        + _labels({LABEL: "stage", **(labels or {})})
    )


def serve_command(model_id: str, build_id: str, *, workers: int = 2) -> list[str]:
    """The model image's default command (Kubernetes manifests pass their own, alike)."""
    return [
        "python", "-m", "qwak_auto.serve",
        "--artifact", MODEL_DIR,
        "--bind", f"0.0.0.0:{SERVE_PORT}",
        "--workers", str(workers),
        "--model-id", model_id,
        "--variation", "default",
        "--build-id", build_id,
    ]  # fmt: skip


def render_final(
    *,
    stage_image: str,
    files: Sequence[str],
    model_id: str,
    build_id: str,
    labels: Mapping[str, str] | None = None,
) -> str:
    """The serving image: the build image plus the built model at /opt/model."""
    command = json.dumps(serve_command(model_id, build_id))
    return (
        "# Rendered by auto (docker builder): the built model on top of its build image.\n"
        f"FROM {stage_image}\n"
        f"COPY {' '.join(files)} {MODEL_DIR}/\n"
        + _env({"AUTO_MODEL_ID": model_id, "AUTO_BUILD_ID": build_id})
        + f"EXPOSE {SERVE_PORT}\n"
        + _labels(
            {
                LABEL: "model",
                f"{LABEL}.model-id": model_id,
                f"{LABEL}.build-id": build_id,
                **(labels or {}),
            }
        )
        # The dependency step committed /bin/sh as the entrypoint, and `docker commit --change
        # 'ENTRYPOINT []'` keeps it on some engines: reset it so the default command serves.
        + "ENTRYPOINT []\n"
        + f"CMD {command}\n"
    )


# ---------------------------------------------------------------- the dependency step


INSTALL_SCRIPT = f"""set -eu
# Installer settings arrive on stdin: not on argv, not in the container's configuration.
. /dev/stdin
python3 -m venv {VENV}
if [ -n "${{AUTO_UPLOADED_BEFORE:-}}" ]; then
  # dependencies_as_of: the base image's pip predates --uploaded-prior-to
  {VENV}/bin/python -m pip install --no-cache-dir --no-input --quiet "{PIP_WITH_CUTOFF}"
  set -- --uploaded-prior-to "$AUTO_UPLOADED_BEFORE"
fi
{VENV}/bin/python -m pip install --no-cache-dir --no-input "$@" -r {MOUNT_DIR}/requirements.txt
echo "==> installed"
{VENV}/bin/python -m pip freeze --all | sed 's/^/freeze: /'
{VENV}/bin/python -c 'import sysconfig; print("site-packages: " + sysconfig.get_paths()["purelib"])'
rm -rf /root/.cache /tmp/* 2>/dev/null || true
"""

# Settings the installer may need from the runner's environment (indexes, proxies).
_INSTALLER_PREFIXES = ("PIP_",)
_CA_CANDIDATES = ("SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
DEFAULT_CA = "/etc/ssl/certs/ca-certificates.crt"
PIP_CONFIG_PATHS = ("/etc/pip.conf", "/etc/xdg/pip")


@dataclass(frozen=True, slots=True, kw_only=True)
class Mount:
    source: Path
    target: str
    read_only: bool = True

    def flag(self) -> list[str]:
        spec = f"type=bind,source={self.source},target={self.target}"
        return ["--mount", spec + (",readonly" if self.read_only else "")]


@dataclass(frozen=True, slots=True, kw_only=True)
class InstallPlan:
    mounts: tuple[Mount, ...]
    settings: dict[str, str]  # exported by the script from stdin


def install_plan(
    environ: Mapping[str, str],
    requirements: Path,
    *,
    uploaded_before: str | None = None,
    exists: type[Path] = Path,
) -> InstallPlan:
    """The read-only mounts and installer settings of the dependency step (with
    ``uploaded_before``, packages uploaded later are ignored: ``dependencies_as_of``)."""
    mounts = [Mount(source=requirements, target=f"{MOUNT_DIR}/requirements.txt")]
    settings: dict[str, str] = {
        k: v for k, v in environ.items() if k.startswith(_INSTALLER_PREFIXES) or k in PROXY_NAMES
    }
    ca = next(
        (
            environ[name]
            for name in _CA_CANDIDATES
            if environ.get(name) and exists(environ[name]).is_file()
        ),
        DEFAULT_CA if exists(DEFAULT_CA).is_file() else None,
    )
    if ca:
        target = f"{MOUNT_DIR}/ca-certificates.crt"
        mounts.append(Mount(source=exists(ca), target=target))
        for name in ("SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE"):
            settings[name] = target
    config_file = environ.get("PIP_CONFIG_FILE")
    if config_file and exists(config_file).is_file():
        mounts.append(Mount(source=exists(config_file), target=f"{MOUNT_DIR}/pip.conf"))
        settings["PIP_CONFIG_FILE"] = f"{MOUNT_DIR}/pip.conf"
    elif config_file:
        settings.pop("PIP_CONFIG_FILE", None)
    for path in PIP_CONFIG_PATHS:
        if exists(path).exists():
            # Same path inside: pip reads it there, and files it names by absolute path
            # (a constraints file beside it) resolve alike.
            mounts.append(Mount(source=exists(path), target=path))
    for link in environ.get("PIP_FIND_LINKS", "").split():
        if link.startswith("/") and exists(link).is_dir():
            mounts.append(Mount(source=exists(link), target=link))
    settings["PIP_NO_CACHE_DIR"] = "1"
    settings["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    if uploaded_before:
        settings["AUTO_UPLOADED_BEFORE"] = uploaded_before
    return InstallPlan(mounts=tuple(mounts), settings=settings)


def settings_script(settings: Mapping[str, str]) -> str:
    """``export NAME='value'`` lines, fed to the dependency step on stdin."""
    lines = []
    for name, value in sorted(settings.items()):
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            lines.append(f"export {name}={shlex.quote(value)}")
    return "\n".join(lines) + "\n"


def install_argv(*, name: str, base_image: str, plan: InstallPlan) -> list[str]:
    argv = ["docker", "run", "-i", "--name", name, "--network", "host", "--user", "0:0"]
    for mount in plan.mounts:
        argv += mount.flag()
    return [*argv, "--entrypoint", "/bin/sh", base_image, "-c", INSTALL_SCRIPT]


def commit_argv(*, name: str, tag: str, site_packages: str, base: str) -> list[str]:
    changes = [
        f"ENV PATH={VENV}/bin:{SYSTEM_PATH}",
        f"ENV VIRTUAL_ENV={VENV}",
        f"LABEL {LABEL}=dependencies",
        f"LABEL {SITE_LABEL}={site_packages}",
        f"LABEL {LABEL}.base={base}",
        'CMD ["python"]',
        "ENTRYPOINT []",
    ]
    argv = ["docker", "commit"]
    for change in changes:
        argv += ["--change", change]
    return [*argv, name, tag]


# ---------------------------------------------------------------- the build step


def resource_flags(
    resources: CpuResources | GpuResources, *, host_cpus: int
) -> tuple[list[str], list[str]]:
    """``--cpus``/``--memory`` for CPU resources, ``--gpus N`` for GPU resources; and the
    warnings for what had to be adjusted (docker refuses more CPUs than the host has).

    GPU builds need the NVIDIA container toolkit on the engine's host; ``gpu_type`` selects a
    machine on a cluster and has no docker equivalent, so it is only recorded."""
    warnings: list[str] = []
    if isinstance(resources, GpuResources):
        return ["--gpus", str(max(1, resources.gpu_amount))], warnings
    flags: list[str] = []
    cpus = float(resources.cpu_fraction)
    if cpus > host_cpus:
        warnings.append(
            f"resources.cpu.cpu_fraction {cpus:g} is more than this host's {host_cpus} CPUs; "
            f"the build gets {host_cpus}"
        )
        cpus = float(host_cpus)
    if cpus > 0:
        flags += ["--cpus", f"{cpus:g}"]
    size = memory_bytes(resources.memory)
    if size:
        flags += ["--memory", str(size)]
    else:
        warnings.append(f"resources.cpu.memory {resources.memory!r} is not a quantity; no limit")
    return flags, warnings


def harness_argv(
    *,
    name: str,
    image: str,
    resources: Sequence[str],
    env_names: Sequence[str],
    stage: Path,
    user: str | None,
) -> list[str]:
    """The build container: no network, limited, removed when done; ``-e NAME`` takes each
    value from the docker CLI's environment (never from argv)."""
    argv = ["docker", "run", "--rm", "--name", name, "--network", "none", *resources]
    if user:
        argv += ["--user", user]
    argv += ["-e", "HOME=/tmp"]
    for env_name in env_names:
        argv += ["-e", env_name]
    argv += Mount(source=stage, target=BUILD_DIR, read_only=False).flag()
    argv += ["--workdir", MODEL_DIR, "--entrypoint", "python", image]
    return [*argv, "-m", "qwak_auto.builders.harness", f"{BUILD_DIR}/request.json"]


def build_argv(*, tag: str, context: Path) -> list[str]:
    return ["docker", "build", "--network", "none", "--rm", "--force-rm", "-t", tag, str(context)]
