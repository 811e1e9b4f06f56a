"""A hint for old repositories: unpinned requirements resolve to today's packages.

When a Qwak automation file sits in a Qwak model repository (a ``main/`` folder with its
dependency file) whose requirements float (``pandas``, ``numpy>=1.20``), `auto import-qwak`
suggests ``build_spec.dependencies_as_of`` with the day that file last changed in git, so
the build resolves what it resolved then. Nothing is changed in the written files: whether
the automations build that repository is the user's call.
"""

from __future__ import annotations

import re
from pathlib import Path

from qwak_auto import proc
from qwak_auto.errors import AutoError

_DEPENDENCY_FILES = ("requirements.txt", "pyproject.toml", "conda.yml", "conda.yaml")
_NAME = re.compile(r"\s*[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?\s*")
_CEILING = re.compile(r"==|<|~=")  # an exact pin, an upper bound or a compatible release


def model_repository(source: Path) -> Path | None:
    """The nearest folder above ``source`` with a ``main/`` holding a dependency file."""
    for folder in source.resolve().parents:
        main = folder / "main"
        if any((main / name).is_file() for name in _DEPENDENCY_FILES):
            return folder
        if (folder / ".git").exists():
            return None  # the repository's top: no model repository around the file
    return None


def floating(spec: str) -> bool:
    """A requirement that resolves to whatever is newest: no pin, no upper bound."""
    match = _NAME.match(spec)
    if match is None or "@" in spec or "://" in spec:
        return False  # a URL or path requirement is fixed by its reference
    rest = spec[match.end() :].split(";", 1)[0]
    return not _CEILING.search(rest)


def unpinned_notice(source: Path) -> str | None:
    """The suggestion for the model repository around ``source``, or None."""
    from qwak_auto.builders.deps import detect

    root = model_repository(source)
    if root is None:
        return None
    try:
        deps = detect(root, root / "main", None)
    except AutoError:
        return None  # the build will say what is wrong with the file
    names = [r.name for r in deps.requirements if floating(r.spec)]
    if not names or deps.file is None:
        return None
    shown = deps.file.relative_to(root).as_posix()
    day = _last_change(root, deps.file)
    when = f'"{day}" (the day {shown} last changed)' if day else '"YYYY-MM-DD"'
    listed = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    return (
        f"{shown} in {root} has requirements without a pin ({listed}); they now resolve to "
        f"the newest packages. If the automations build this repository, add "
        f"`dependencies_as_of: {when}` to build_spec so that it builds as it did then"
    )


def _last_change(root: Path, file: Path) -> str | None:
    try:
        result = proc.run(
            ["git", "log", "-1", "--format=%cs", "--", str(file)],
            cwd=root,
            timeout=15,
            check=False,
            env={"PATH": _path(), "GIT_TERMINAL_PROMPT": "0"},
        )
    except AutoError:
        return None  # git missing: the notice asks for the date instead
    day = result.stdout.strip()
    return day if result.returncode == 0 and re.fullmatch(r"\d{4}-\d{2}-\d{2}", day) else None


def _path() -> str:
    import os

    return os.environ.get("PATH", os.defpath)
