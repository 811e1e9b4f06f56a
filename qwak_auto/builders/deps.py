"""Which Python packages a model needs: read from its dependency file.

Sources, in order: the spec's ``dependency_file_path``, else the first of requirements.txt,
pyproject.toml (PEP 621 ``project.dependencies`` or ``tool.poetry.dependencies``) and
conda.yml/conda.yaml/environment.yml found in ``main_dir``, then in the project directory.
conda packages are mapped to their PyPI names; what has no PyPI equivalent is a warning that
names the line. Every requirement remembers its origin (``main/conda.yml:7``) so that a pin
the installer cannot satisfy can be dropped with a warning naming that line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qwak_auto.errors import BuildError

# What every build environment gets besides the model's own requirements: the harness and
# the model server need pandas, cloudpickle and gunicorn; the repository's tests need pytest.
BASE_PACKAGES: tuple[str, ...] = ("pandas", "cloudpickle", "gunicorn", "pytest")
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

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(.*)$")


@dataclass(frozen=True, slots=True)
class Requirement:
    spec: str  # what is handed to the installer, e.g. "pandas==1.5.*"
    origin: str  # "main/conda.yml:7"
    unpinned: str | None = None  # the same requirement without its version pin, if it has one

    @property
    def name(self) -> str:
        match = _NAME.match(self.spec)
        return normalise(match.group(1)) if match else self.spec


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
    return re.sub(r"[-_.]+", "-", name).lower()


def _inside(path: Path, root: Path, what: str) -> Path:
    resolved = path.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise BuildError(
            f"{what} {path} points outside the model directory",
            "keep dependency files inside the repository path being built",
        )
    return resolved


def detect(project_dir: Path, main_dir: Path, dependency_file_path: str | None) -> Dependencies:
    """Find and read the model's dependency file (see the module docstring)."""
    if dependency_file_path:
        candidates = [project_dir / dependency_file_path, main_dir / dependency_file_path]
        for candidate in candidates:
            if candidate.is_file():
                return read(_inside(candidate, project_dir, "dependency_file_path"), project_dir)
        raise BuildError(
            f"dependency_file_path {dependency_file_path!r} not found in {project_dir.name}/",
            "the path is relative to the repository path being built (e.g. main/requirements.txt)",
        )
    for folder in (main_dir, project_dir):
        for name in DETECTED:
            candidate = folder / name
            if candidate.is_file():
                if name == "pyproject.toml" and not _pyproject_has_deps(candidate):
                    continue
                return read(_inside(candidate, project_dir, "dependency file"), project_dir)
    return Dependencies(file=None, kind="none")


def read(path: Path, project_dir: Path) -> Dependencies:
    name = path.name.lower()
    shown = _shown(path, project_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BuildError(f"{shown}: cannot read the dependency file: {exc}") from None
    if name.endswith(".toml"):
        return _pyproject(path, text, shown)
    if name.endswith((".yml", ".yaml")):
        return _conda(path, text, shown)
    warnings: list[str] = []
    reqs = _requirements(path, text, shown, project_dir, warnings, depth=0)
    return Dependencies(
        file=path, kind="requirements", requirements=tuple(reqs), warnings=tuple(warnings)
    )


def _shown(path: Path, project_dir: Path) -> str:
    try:
        return str(path.resolve().relative_to(project_dir.resolve()))
    except ValueError:
        return path.name


def _keep(spec: str, origin: str, warnings: list[str]) -> Requirement | None:
    """A requirement, or None (with a warning) when auto provides the package itself."""
    match = _NAME.match(spec)
    if match is None:
        return Requirement(spec=spec, origin=origin)
    name, extras, rest = match.group(1), match.group(2) or "", match.group(3).strip()
    if normalise(name) in PROVIDED:
        warnings.append(
            f"{origin}: {name} is provided by auto's qwak compatibility package; not installed"
        )
        return None
    pinned = bool(rest) and not rest.startswith(";")
    return Requirement(spec=spec, origin=origin, unpinned=f"{name}{extras}" if pinned else None)


# ---------------------------------------------------------------- requirements.txt


def _requirements(
    path: Path, text: str, shown: str, project_dir: Path, warnings: list[str], depth: int
) -> list[Requirement]:
    out: list[Requirement] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if line.endswith("\\"):
            pending += line[:-1] + " "
            start = start or number
            continue
        line = (pending + line).strip()
        lineno, pending, start = (start or number), "", 0
        if not line:
            continue
        origin = f"{shown}:{lineno}"
        if line.startswith(("-r ", "--requirement ", "-r")) and not line.startswith("-rf"):
            target = line.split(None, 1)[1] if " " in line else line[2:]
            nested = _inside(path.parent / target.strip(), project_dir, f"{origin}: -r")
            if depth > 5:
                raise BuildError(f"{origin}: -r nesting is too deep")
            try:
                nested_text = nested.read_text(encoding="utf-8")
            except OSError as exc:
                raise BuildError(f"{origin}: cannot read {target.strip()}: {exc}") from None
            out += _requirements(
                nested,
                nested_text,
                _shown(nested, project_dir),
                project_dir,
                warnings,
                depth + 1,
            )
            continue
        if line.startswith("-"):
            warnings.append(f"{origin}: option {line.split()[0]} is not supported; ignored")
            continue
        if line.startswith((".", "/")):
            local = _inside(path.parent / line, project_dir, f"{origin}: local path")
            out.append(Requirement(spec=str(local), origin=origin))
            continue
        kept = _keep(line, origin, warnings)
        if kept is not None:
            out.append(kept)
    return out


# ---------------------------------------------------------------- pyproject.toml


def _pyproject_has_deps(path: Path) -> bool:
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return True  # let read() report the problem
    poetry = data.get("tool", {}).get("poetry", {})
    return "dependencies" in data.get("project", {}) or "dependencies" in poetry


def _line_of(text: str, needle: str, default: int = 1) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return default


def _pyproject(path: Path, text: str, shown: str) -> Dependencies:
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BuildError(f"{shown}: invalid TOML: {exc}") from None
    warnings: list[str] = []
    reqs: list[Requirement] = []
    project = data.get("project", {})
    if isinstance(project, dict) and "dependencies" in project:
        for item in project.get("dependencies") or []:
            origin = f"{shown}:{_line_of(text, str(item))}"
            kept = _keep(str(item), origin, warnings)
            if kept is not None:
                reqs.append(kept)
        return Dependencies(
            file=path, kind="pep621", requirements=tuple(reqs), warnings=tuple(warnings)
        )
    poetry = data.get("tool", {}).get("poetry", {})
    deps = poetry.get("dependencies") if isinstance(poetry, dict) else None
    if not isinstance(deps, dict):
        raise BuildError(
            f"{shown}: no [project] dependencies and no [tool.poetry.dependencies]",
            "list the model's packages there, or use main/requirements.txt",
        )
    section = _line_of(text, "[tool.poetry.dependencies]")
    for name, value in deps.items():
        if normalise(name) == "python":
            continue
        origin = f"{shown}:{_line_of(text[_offset(text, section) :], name, 1) + section - 1}"
        spec = _poetry_spec(name, value, origin, warnings)
        if spec is not None:
            kept = _keep(spec, origin, warnings)
            if kept is not None:
                reqs.append(kept)
    return Dependencies(
        file=path, kind="poetry", requirements=tuple(reqs), warnings=tuple(warnings)
    )


def _offset(text: str, line: int) -> int:
    lines = text.splitlines(keepends=True)
    return sum(len(x) for x in lines[: line - 1])


def _poetry_spec(name: str, value: Any, origin: str, warnings: list[str]) -> str | None:
    extras = ""
    if isinstance(value, list):
        warnings.append(f"{origin}: {name}: multiple constraints; using the first")
        value = value[0] if value else "*"
    if isinstance(value, dict):
        if "version" not in value:
            warnings.append(f"{origin}: {name}: git/path/url dependencies are not supported")
            return None
        if value.get("extras"):
            extras = "[" + ",".join(str(e) for e in value["extras"]) + "]"
        value = value["version"]
    constraint = poetry_constraint(str(value))
    return f"{name}{extras}{constraint}"


def poetry_constraint(value: str) -> str:
    """Translate a poetry version constraint into PEP 440 (``^1.2`` -> ``>=1.2,<2.0``)."""
    value = value.strip()
    if value in ("", "*"):
        return ""
    parts = [p.strip() for p in value.split(",") if p.strip()]
    return ",".join(_poetry_one(p) for p in parts)


def _poetry_one(part: str) -> str:
    if part.startswith("^"):
        nums = _nums(part[1:])
        upper = _caret_upper(nums)
        return f">={part[1:]},<{upper}"
    if part.startswith("~") and not part.startswith("~="):
        nums = _nums(part[1:])
        if len(nums) == 1:
            return f">={part[1:]},<{nums[0] + 1}"
        return f">={part[1:]},<{nums[0]}.{nums[1] + 1}"
    if part[0].isdigit():
        return f"=={part}"
    return part


def _nums(version: str) -> list[int]:
    out = []
    for piece in version.split("."):
        digits = re.match(r"\d+", piece)
        out.append(int(digits.group(0)) if digits else 0)
    return out or [0]


def _caret_upper(nums: Sequence[int]) -> str:
    for index, number in enumerate(nums):
        if number != 0 or index == len(nums) - 1:
            head = [*list(nums[:index]), number + 1]
            return ".".join(str(n) for n in head)
    return "1"


# ---------------------------------------------------------------- conda.yml


def _conda(path: Path, text: str, shown: str) -> Dependencies:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="rt", pure=True).load(text)
    except YAMLError as exc:
        raise BuildError(f"{shown}: invalid YAML: {exc}") from None
    items = data.get("dependencies") if isinstance(data, dict) else None
    if items is None:
        return Dependencies(file=path, kind="conda")
    if not isinstance(items, list):
        raise BuildError(f"{shown}: `dependencies` must be a list")
    warnings: list[str] = []
    reqs: list[Requirement] = []
    for index, item in enumerate(items):
        origin = f"{shown}:{_item_line(items, index)}"
        if isinstance(item, dict):
            pips = item.get("pip")
            if not isinstance(pips, list):
                warnings.append(f"{origin}: only a `pip:` list is understood here; ignored")
                continue
            for sub, pip_item in enumerate(pips):
                sub_origin = f"{shown}:{_item_line(pips, sub)}"
                kept = _keep(str(pip_item).strip(), sub_origin, warnings)
                if kept is not None:
                    reqs.append(kept)
            continue
        conda = _conda_item(str(item), origin, warnings)
        if conda is not None:
            reqs.append(conda)
    return Dependencies(file=path, kind="conda", requirements=tuple(reqs), warnings=tuple(warnings))


def _item_line(seq: Any, index: int) -> int:
    try:
        return int(seq.lc.item(index)[0]) + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return 0


_CONDA = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9._-]*)\s*(.*)$")


def _conda_item(raw: str, origin: str, warnings: list[str]) -> Requirement | None:
    text = raw.strip()
    if "::" in text:  # channel::package
        text = text.split("::", 1)[1]
    match = _CONDA.match(text)
    if match is None:
        warnings.append(f"{origin}: cannot read conda package {raw!r}; ignored")
        return None
    name, version = match.group(1), match.group(2).strip()
    key = name.lower()
    if key == "python":
        running = f"{sys.version_info.major}.{sys.version_info.minor}"
        wanted = version.lstrip("=<>!~ ").split("=")[0]
        if wanted and not running.startswith(wanted) and not wanted.startswith(running):
            warnings.append(f"{origin}: python{version} ignored: the build uses Python {running}")
        return None
    if key == "pip":
        return None
    if key in CONDA_ONLY:
        warnings.append(
            f"{origin}: {name} is a conda-only package with no PyPI equivalent; skipped"
        )
        return None
    pypi = CONDA_TO_PYPI.get(key, name)
    pin = _conda_pin(version)
    if pin is None:
        warnings.append(f"{origin}: {name}{version}: conda version syntax not understood; unpinned")
        pin = ""
    return _keep(f"{pypi}{pin}", origin, warnings)


def _conda_pin(version: str) -> str | None:
    """conda's ``=1.5`` (1.5.*), ``==1.5.3``, ``>=1.2,<2`` and ``=1.5.3=py39_0`` (build
    string dropped) as a PEP 440 specifier; None when not understood (e.g. ``|``)."""
    version = version.replace(" ", "")
    if not version:
        return ""
    if "|" in version:
        return None
    if version[0].isdigit():
        version = "=" + version
    if version.startswith("=") and not version.startswith("=="):
        number, _, build = version[1:].partition("=")
        # `=1.5` means 1.5.*; with a build string (`=1.5.3=py39_0`) the version is exact.
        return f"=={number}" if number.endswith("*") or build else f"=={number}.*"
    if version.startswith("=="):
        return "==" + version[2:].split("=", 1)[0]
    return version
