"""Which Python packages a model needs: read from its dependency file.

Sources, in order: the spec's ``dependency_file_path``, else the first of requirements.txt,
pyproject.toml (PEP 621 ``project.dependencies`` or ``tool.poetry.dependencies``) and
conda.yml/conda.yaml/environment.yml found in ``main_dir``, then in the project directory.
conda packages are mapped to their PyPI names; what has no PyPI equivalent is a warning that
names the line. Every requirement remembers its origin (``main/conda.yml:7``) so that a pin
the installer cannot satisfy can be dropped with a warning naming that line.
"""

from __future__ import annotations

from pathlib import Path

from qwak_auto.builders.depfiles import (
    conda_dependencies,
    pyproject_dependencies,
    pyproject_has_deps,
)
from qwak_auto.builders.requirements import (
    DETECTED,
    Dependencies,
    Requirement,
    inside,
    keep,
    shown,
)
from qwak_auto.errors import BuildError


def detect(project_dir: Path, main_dir: Path, dependency_file_path: str | None) -> Dependencies:
    """Find and read the model's dependency file (see the module docstring)."""
    if dependency_file_path:
        candidates = [project_dir / dependency_file_path, main_dir / dependency_file_path]
        for candidate in candidates:
            if candidate.is_file():
                return read(inside(candidate, project_dir, "dependency_file_path"), project_dir)
        raise BuildError(
            f"dependency_file_path {dependency_file_path!r} not found in {project_dir.name}/",
            "the path is relative to the repository path being built (e.g. main/requirements.txt)",
        )
    for folder in (main_dir, project_dir):
        for name in DETECTED:
            candidate = folder / name
            if candidate.is_file():
                if name == "pyproject.toml" and not pyproject_has_deps(candidate):
                    continue
                return read(inside(candidate, project_dir, "dependency file"), project_dir)
    return Dependencies(file=None, kind="none")


def read(path: Path, project_dir: Path) -> Dependencies:
    name = path.name.lower()
    where = shown(path, project_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BuildError(f"{where}: cannot read the dependency file: {exc}") from None
    if name.endswith(".toml"):
        return pyproject_dependencies(path, text, where)
    if name.endswith((".yml", ".yaml")):
        return conda_dependencies(path, text, where)
    warnings: list[str] = []
    reqs = _requirements(path, text, where, project_dir, warnings, depth=0)
    return Dependencies(
        file=path, kind="requirements", requirements=tuple(reqs), warnings=tuple(warnings)
    )


# ---------------------------------------------------------------- requirements.txt


def _requirements(
    path: Path, text: str, where: str, project_dir: Path, warnings: list[str], depth: int
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
        origin = f"{where}:{lineno}"
        if line.startswith(("-r ", "--requirement ", "-r")) and not line.startswith("-rf"):
            target = line.split(None, 1)[1] if " " in line else line[2:]
            nested = inside(path.parent / target.strip(), project_dir, f"{origin}: -r")
            if depth > 5:
                raise BuildError(f"{origin}: -r nesting is too deep")
            try:
                nested_text = nested.read_text(encoding="utf-8")
            except OSError as exc:
                raise BuildError(f"{origin}: cannot read {target.strip()}: {exc}") from None
            out += _requirements(
                nested,
                nested_text,
                shown(nested, project_dir),
                project_dir,
                warnings,
                depth + 1,
            )
            continue
        if line.startswith("-"):
            warnings.append(f"{origin}: option {line.split()[0]} is not supported; ignored")
            continue
        if line.startswith((".", "/")):
            local = inside(path.parent / line, project_dir, f"{origin}: local path")
            out.append(Requirement(spec=str(local), origin=origin))
            continue
        kept = keep(line, origin, warnings)
        if kept is not None:
            out.append(kept)
    return out
