"""Print the public surface of modules as JSON: ``python surface.py MODULE...``.

Run once with qwak-core (and qwak-inference) installed and once with auto's shim first on
``sys.path``; test_shim_surface.py compares the two. A module's public names are those not
starting with ``_`` whose objects come from the package itself (not typing, abc, ...);
for each: the kind, the parameters (name, kind, default) of a function or constructor, a
class's bases, public members and enum members. Parameters filled by qwak-core's dependency
injection (defaults of dependency_injector's ``Provide``) are not part of the surface.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import json
import sys
import types
from typing import Any

BUILTIN_BASES = {
    "object",
    "Exception",
    "BaseException",
    "ABC",
    "Enum",
    "RuntimeError",
    "ValueError",
}


def default_text(value: Any) -> str:
    if value is inspect.Parameter.empty:
        return "<required>"
    if value is None or isinstance(value, bool | int | float | str | list | dict | tuple):
        return repr(value)
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, type):
        return f"<class {value.__name__}>"
    return f"<instance of {type(value).__name__}>"


def injected(value: Any) -> bool:
    return type(value).__module__.startswith("dependency_injector")


def params(obj: Any) -> list[list[str]] | None:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    return [
        [p.name, p.kind.name, default_text(p.default)]
        for p in signature.parameters.values()
        if not injected(p.default)
    ]


def member(cls: type, name: str) -> dict[str, Any]:
    raw = inspect.getattr_static(cls, name)
    if isinstance(raw, staticmethod):
        return {"kind": "staticmethod", "params": params(raw.__func__)}
    if isinstance(raw, classmethod):
        return {"kind": "classmethod", "params": params(raw.__func__)}
    if isinstance(raw, property):
        return {"kind": "property"}
    if inspect.isfunction(raw):
        return {"kind": "method", "params": params(raw)}
    return {"kind": "attribute"}


def describe_class(cls: type) -> dict[str, Any]:
    members = {}
    for klass in cls.__mro__:
        if klass.__module__ == "builtins" or klass.__name__ in BUILTIN_BASES:
            continue
        for name in vars(klass):
            if not name.startswith("_") and name not in members:
                members[name] = member(cls, name)
    out: dict[str, Any] = {
        "kind": "class",
        "bases": sorted(b.__name__ for b in cls.__mro__[1:] if b.__name__ != "object"),
        "init": params(cls),
        "members": members,
    }
    if issubclass(cls, enum.Enum):
        out["kind"] = "enum"
        out["enum"] = {m.name: repr(m.value) for m in cls}
        out["members"] = {}
    return out


def describe(obj: Any) -> dict[str, Any]:
    if inspect.isclass(obj):
        return describe_class(obj)
    if callable(obj):
        return {"kind": "function", "params": params(obj)}
    return {"kind": type(obj).__name__}


def surface(name: str) -> dict[str, Any]:
    module = importlib.import_module(name)
    top = name.partition(".")[0]
    names: dict[str, Any] = {}
    for attr in dir(module):
        if attr.startswith("_"):
            continue
        value = getattr(module, attr)
        if isinstance(value, types.ModuleType):
            continue
        origin = getattr(value, "__module__", None)
        if origin is None and isinstance(value, str | int | float) and attr.isupper():
            origin = name  # a module constant
        if not isinstance(origin, str) or origin.partition(".")[0] != top:
            continue
        names[attr] = describe(value)
    return names


if __name__ == "__main__":
    result = {}
    for module_name in sys.argv[1:]:
        try:
            result[module_name] = surface(module_name)
        except ImportError as exc:
            result[module_name] = {"<import error>": str(exc)}
    print(json.dumps(result, indent=1, sort_keys=True))
