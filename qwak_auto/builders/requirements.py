"""A model's requirements as values: what is installed, where each line came from, and the
environment key they make. Lines are read with packaging's PEP 508 parser, as pip and uv
read them."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as PackageRequirement
from packaging.utils import canonicalize_name

from qwak_auto.errors import BuildError

# What every build environment gets besides the model's own requirements: the harness and
# the model server need pandas, cloudpickle and gunicorn; the repository's tests need pytest.
BASE_PACKAGES: tuple[str, ...] = ("pandas", "cloudpickle", "gunicorn", "pytest")
# The proxy settings an installer takes from the runner's environment.
PROXY_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")
# The first pip with --uploaded-prior-to (dependencies_as_of where uv is not used).
PIP_WITH_CUTOFF = "pip>=26"
PIP_CUTOFF_NOTE = (
    "note: pip holds to dependencies_as_of only the indexes that publish upload times (PyPI "
    "does); files from find-links folders or file:// indexes are not held to the date"
)
# Bump when the layout of a build environment changes, so old cached environments are not reused.
ENV_LAYOUT = "1"

DETECTED = (
    "requirements.txt",
    "pyproject.toml",
    "conda.yml",
    "conda.yaml",
    "environment.yml",
    "environment.yaml",
)

# Provided by auto's compatibility package; installing the real SDK would shadow it.
PROVIDED = frozenset({"qwak", "qwak-sdk", "qwak-core", "qwak-inference", "frogml", "frogml-sdk"})

# conda package name -> PyPI name, where they differ.
CONDA_TO_PYPI: dict[str, str] = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "pytorch-gpu": "torch",
    "py-xgboost": "xgboost",
    "py-xgboost-cpu": "xgboost",
    "py-lightgbm": "lightgbm",
    "py-opencv": "opencv-python",
    "opencv": "opencv-python",
    "matplotlib-base": "matplotlib",
    "msgpack-python": "msgpack",
    "pytables": "tables",
    "tensorflow-gpu": "tensorflow",
    "pyqt": "PyQt5",
    "python-graphviz": "graphviz",
    "scikit-learn-intelex": "scikit-learn-intelex",
}

# conda packages with no PyPI equivalent (system libraries, toolchains, meta packages).
CONDA_ONLY = frozenset(
    {
        "cudatoolkit",
        "cuda-toolkit",
        "cudnn",
        "nccl",
        "mkl",
        "mkl-service",
        "nomkl",
        "blas",
        "libblas",
        "openblas",
        "libopenblas",
        "libgcc-ng",
        "libstdcxx-ng",
        "libgomp",
        "_libgcc_mutex",
        "_openmp_mutex",
        "openssl",
        "ca-certificates",
        "zlib",
        "xz",
        "sqlite",
        "readline",
        "tk",
        "ncurses",
        "libffi",
        "ld_impl_linux-64",
        "cmake",
        "make",
        "gcc",
        "gxx",
        "graphviz",
    }
)


@dataclass(frozen=True, slots=True)
class Requirement:
    spec: str  # what is handed to the installer, e.g. "pandas==1.5.*"
    origin: str  # "main/conda.yml:7"
    unpinned: str | None = None  # the same requirement without its version pin, if it has one

    @property
    def name(self) -> str:
        parsed = parse(self.spec)
        return canonicalize_name(parsed.name) if parsed else self.spec


@dataclass(frozen=True, slots=True, kw_only=True)
class Dependencies:
    file: Path | None  # the dependency file read, None when there is none
    kind: str  # requirements | pep621 | poetry | conda | none
    requirements: tuple[Requirement, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)
    as_of: str | None = None  # build_spec.dependencies_as_of, YYYY-MM-DD

    @property
    def uploaded_before(self) -> str | None:
        """The installers' cut-off for ``as_of``: the start (UTC) of the next day, so that
        what was published on that day still counts (uv --exclude-newer, pip
        --uploaded-prior-to)."""
        if self.as_of is None:
            return None
        day = dt.date.fromisoformat(self.as_of) + dt.timedelta(days=1)
        return f"{day.isoformat()}T00:00:00Z"

    def describe_as_of(self) -> str:
        return f"as of {self.as_of} (packages uploaded before {self.uploaded_before})"

    def as_of_record(self) -> dict[str, str]:
        """What the build's provenance records about ``as_of`` (nothing when unset)."""
        if self.as_of is None or self.uploaded_before is None:
            return {}
        return {"as_of": self.as_of, "uploaded_before": self.uploaded_before}

    def specs(self) -> tuple[str, ...]:
        """Everything to install: the model's requirements, then the base packages."""
        names = {r.name for r in self.requirements}
        base = tuple(p for p in BASE_PACKAGES if normalise(p) not in names)
        return tuple(r.spec for r in self.requirements) + base

    def digest(self, python: str | None = None) -> str:
        """The environment key: the requirements, the interpreter and the layout version."""
        python = python or f"{sys.version_info.major}.{sys.version_info.minor}:{sys.executable}"
        key: dict[str, Any] = {
            "specs": sorted(self.specs()),
            "python": python,
            "layout": ENV_LAYOUT,
        }
        if self.as_of is not None:  # absent: the same key as before the field existed
            key["as_of"] = self.as_of
        blob = json.dumps(key, sort_keys=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:20]


def normalise(name: str) -> str:
    return canonicalize_name(name)


def parse(spec: str) -> PackageRequirement | None:
    """A PEP 508 requirement (packaging's parser, as pip and uv read it), None for what is
    not one (a local path, a URL given bare)."""
    try:
        return PackageRequirement(spec)
    except InvalidRequirement:
        return None


def inside(path: Path, root: Path, what: str) -> Path:
    resolved = path.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise BuildError(
            f"{what} {path} points outside the model directory",
            "keep dependency files inside the repository path being built",
        )
    return resolved


def shown(path: Path, project_dir: Path) -> str:
    try:
        return str(path.resolve().relative_to(project_dir.resolve()))
    except ValueError:
        return path.name


def keep(spec: str, origin: str, warnings: list[str]) -> Requirement | None:
    """A requirement, or None (with a warning) when auto provides the package itself."""
    parsed = parse(spec)
    if parsed is None:
        return Requirement(spec=spec, origin=origin)
    if canonicalize_name(parsed.name) in PROVIDED:
        warnings.append(
            f"{origin}: {parsed.name} is provided by auto's qwak compatibility package; "
            "not installed"
        )
        return None
    extras = f"[{','.join(sorted(parsed.extras))}]" if parsed.extras else ""
    pinned = bool(parsed.specifier) or parsed.url is not None
    return Requirement(
        spec=spec, origin=origin, unpinned=f"{parsed.name}{extras}" if pinned else None
    )
