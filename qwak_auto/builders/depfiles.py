"""Dependency files other than requirements.txt, translated into requirements: PEP 621
``project.dependencies``, Poetry's ``tool.poetry.dependencies`` (caret and tilde ranges) and
conda environment files (packages mapped to their PyPI names; what has none is a warning that
names the line)."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qwak_auto.builders.requirements import (
    CONDA_ONLY,
    CONDA_TO_PYPI,
    Dependencies,
    Requirement,
    keep,
    normalise,
)
from qwak_auto.errors import BuildError

# ---------------------------------------------------------------- pyproject.toml


def pyproject_has_deps(path: Path) -> bool:
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


def pyproject_dependencies(path: Path, text: str, shown: str) -> Dependencies:
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
            kept = keep(str(item), origin, warnings)
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
            kept = keep(spec, origin, warnings)
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


def conda_dependencies(path: Path, text: str, shown: str) -> Dependencies:
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
                kept = keep(str(pip_item).strip(), sub_origin, warnings)
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
    return keep(f"{pypi}{pin}", origin, warnings)


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
