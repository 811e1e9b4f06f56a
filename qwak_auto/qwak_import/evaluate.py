"""Evaluate a Qwak automation module's AST into plain values, without executing anything.

What is followed: literals (str, int, float, bool, None, lists, tuples, dicts), module-level
names bound exactly once to such a value or to an SDK constructor call, SDK constructor calls
(``BuildSpecifications(...)``, also as ``automations.BuildSpecifications(...)``), enum members
(``ThresholdDirection.ABOVE``), string concatenation of literals and f-strings without
placeholders. Anything that needs running code to know its value (a call to a non-SDK
function, ``os.environ[...]``, an f-string with a name, a loop variable, a name bound twice)
is an :class:`Unknown` carrying the line, the column and a hint: it is reported, never guessed.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qwak_auto.qwak_import.sdk import SDK_ENUMS, SDK_FIELDS


@dataclass(frozen=True, slots=True)
class Unknown:
    """A value that cannot be known without running code."""

    line: int
    column: int
    what: str
    hint: str


@dataclass(frozen=True, slots=True)
class SdkCall:
    name: str
    kwargs: Mapping[str, Any]
    line: int
    column: int
    problems: tuple[Unknown, ...] = ()  # positional overflow, **kwargs, ...


@dataclass(frozen=True, slots=True)
class SdkEnum:
    enum: str
    member: str


@dataclass
class Module:
    """A parsed module: its names bound once, and the SDK calls that build automations."""

    file: str
    bindings: dict[str, ast.expr] = field(default_factory=dict)
    rebound: dict[str, int] = field(default_factory=dict)  # name -> line of the second binding
    loop_names: dict[str, int] = field(default_factory=dict)
    automations: list[tuple[str, ast.Call]] = field(default_factory=list)  # (binding, call)
    # `from qwak.automations import ThresholdDirection as Direction`: Direction -> the SDK name
    aliases: dict[str, str] = field(default_factory=dict)

    def callee(self, node: ast.expr) -> str | None:
        """The SDK name a call or attribute base refers to (``X``, ``mod.X``, an alias)."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            return node.attr
        return None

    def is_automation(self, node: ast.expr | None) -> bool:
        return isinstance(node, ast.Call) and self.callee(node.func) == "Automation"


def _sdk_aliases(node: ast.stmt) -> dict[str, str]:
    if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("qwak"):
        return {}
    return {
        alias.asname: alias.name
        for alias in node.names
        if alias.asname and (alias.name in SDK_FIELDS or alias.name in SDK_ENUMS)
    }


def _targets(node: ast.stmt) -> list[tuple[str, ast.expr | None]]:
    if isinstance(node, ast.Assign):
        names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        return [(n, node.value) for n in names]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [(node.target.id, node.value)]
    return []


def scan(file: str, tree: ast.Module) -> Module:
    """Collect module-level bindings and the ``Automation(...)`` calls of a module."""
    module = Module(file)
    for node in tree.body:
        module.aliases.update(_sdk_aliases(node))
    for node in tree.body:
        for name, value in _targets(node):
            if name in module.bindings or name in module.loop_names:
                module.rebound.setdefault(name, node.lineno)
            if value is not None:
                module.bindings[name] = value
            if module.is_automation(value):
                assert isinstance(value, ast.Call)
                module.automations.append((name, value))
        if isinstance(node, ast.Expr) and module.is_automation(node.value):
            assert isinstance(node.value, ast.Call)
            module.automations.append(("", node.value))
        if isinstance(node, ast.For | ast.AsyncFor | ast.While | ast.With | ast.If | ast.Try):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
                    module.loop_names.setdefault(inner.id, inner.lineno)
                if isinstance(inner, ast.Call) and module.is_automation(inner):
                    module.automations.append(("", inner))
    return module


class Evaluator:
    def __init__(self, module: Module) -> None:
        self.module = module
        self._resolving: set[str] = set()

    def value(self, node: ast.expr) -> Any:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            return self._unknown(node, f"a {type(node).__name__} expression")
        return method(node)

    def _unknown(self, node: ast.AST, what: str, hint: str = "") -> Unknown:
        return Unknown(
            getattr(node, "lineno", 0),
            getattr(node, "col_offset", -1) + 1,
            what,
            hint or "write the value as a literal in the file (or in a module-level constant)",
        )

    def _Constant(self, node: ast.Constant) -> Any:
        return node.value

    def _List(self, node: ast.List) -> Any:
        return [self.value(e) for e in node.elts]

    def _Tuple(self, node: ast.Tuple) -> Any:
        return [self.value(e) for e in node.elts]

    def _Dict(self, node: ast.Dict) -> Any:
        out: dict[Any, Any] = {}
        for key, val in zip(node.keys, node.values, strict=True):
            if key is None:
                return self._unknown(node, "a `**` expansion inside a dict")
            k = self.value(key)
            if isinstance(k, Unknown):
                return k
            out[k] = self.value(val)
        return out

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        operand = self.value(node.operand)
        if isinstance(node.op, ast.USub) and isinstance(operand, int | float):
            return -operand
        if isinstance(node.op, ast.UAdd) and isinstance(operand, int | float):
            return operand
        return self._unknown(node, "an arithmetic expression")

    def _BinOp(self, node: ast.BinOp) -> Any:
        left, right = self.value(node.left), self.value(node.right)
        for side in (left, right):
            if isinstance(side, Unknown):
                return side
        if isinstance(node.op, ast.Add) and isinstance(left, str) and isinstance(right, str):
            return left + right
        return self._unknown(
            node,
            "an expression that needs running code",
            'only `"a" + "b"` of literals is followed',
        )

    def _JoinedStr(self, node: ast.JoinedStr) -> Any:
        parts: list[str] = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(value.value)
            else:
                return self._unknown(
                    node,
                    "an f-string with a placeholder",
                    "write the final string literally; its value depends on running code",
                )
        return "".join(parts)

    def _Name(self, node: ast.Name) -> Any:
        name = node.id
        if name in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[name]
        if name in self.module.loop_names:
            return self._unknown(
                node, f"`{name}` is bound inside a loop or block", "bind it once at module level"
            )
        if name in self.module.rebound:
            return self._unknown(
                node,
                f"`{name}` is bound more than once (again on line {self.module.rebound[name]})",
                "bind module-level constants exactly once",
            )
        bound = self.module.bindings.get(name)
        if bound is None:
            return self._unknown(
                node,
                f"`{name}` is not bound at module level in this file",
                "define it in this file as a literal (imports from other modules are not followed)",
            )
        if name in self._resolving:
            return self._unknown(node, f"`{name}` refers to itself")
        self._resolving.add(name)
        try:
            return self.value(bound)
        finally:
            self._resolving.discard(name)

    def _enum_member(self, node: ast.expr) -> SdkEnum | None:
        """``Enum.member``, ``module.Enum.member`` or ``Enum["member"]`` of an SDK enum."""
        member: object
        if isinstance(node, ast.Attribute):
            enum, member = self.module.callee(node.value), node.attr
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            enum, member = self.module.callee(node.value), node.slice.value
        else:
            return None
        if enum is not None and isinstance(member, str) and member in SDK_ENUMS.get(enum, ()):
            return SdkEnum(enum, member)
        return None

    def _Attribute(self, node: ast.Attribute) -> Any:
        member = self._enum_member(node)
        if member is not None:
            return member
        inner = self._enum_member(node.value)
        if inner is not None and node.attr == "name":
            return inner.member  # MetricType.gpu.name == "gpu"
        dotted = ast.unparse(node)
        hint = "write the value as a literal"
        if inner is not None:
            hint = f"write the member itself, `{inner.enum}.{inner.member}`"
        elif self.module.callee(node.value) in SDK_ENUMS:
            known = ", ".join(SDK_ENUMS[str(self.module.callee(node.value))])
            hint = f"the SDK's members are {known}"
        if "environ" in dotted or "getenv" in dotted:
            hint = "environment variables are read at run time: use a secret name or a literal"
        return self._unknown(node, f"`{dotted}`", hint)

    def _Subscript(self, node: ast.Subscript) -> Any:
        member = self._enum_member(node)
        if member is not None:
            return member
        dotted = ast.unparse(node)
        hint = "write the value as a literal"
        if "environ" in dotted:
            hint = "environment variables are read at run time: use a secret name or a literal"
        return self._unknown(node, f"`{dotted}`", hint)

    def _Call(self, node: ast.Call) -> Any:
        name = self.module.callee(node.func)
        if name is None or name not in SDK_FIELDS:
            shown = ast.unparse(node.func)
            hint = "only Qwak SDK constructors are followed; write the value it returns literally"
            if "getenv" in shown or "environ" in shown:
                hint = "environment variables are read at run time: use a secret name or a literal"
            return self._unknown(node, f"a call to `{shown}(...)`", hint)
        fields = SDK_FIELDS[name]
        kwargs: dict[str, Any] = {}
        problems: list[Unknown] = []
        for index, arg in enumerate(node.args):
            if isinstance(arg, ast.Starred) or index >= len(fields):
                problems.append(self._unknown(arg, f"a positional argument #{index + 1} of {name}"))
                continue
            kwargs[fields[index]] = self.value(arg)
        for keyword in node.keywords:
            if keyword.arg is None:
                problems.append(self._unknown(keyword.value, f"`**` arguments to {name}"))
                continue
            kwargs[keyword.arg] = self.value(keyword.value)
        return SdkCall(name, kwargs, node.lineno, node.col_offset + 1, tuple(problems))
