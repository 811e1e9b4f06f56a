"""Generated documentation: the automation file reference, rendered from the JSON Schema.

``python -m qwak_auto.docgen.schema_ref OUTDIR`` (``make docs``) writes
``OUTDIR/reference/automation.md``.
The output is a pure function of the schema (no dates, schema order kept), so a test can
regenerate it and fail when the committed copy is stale.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qwak_auto.automation.casenames import names_of

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "automation.schema.json"
REFERENCE_FILE = Path("reference") / "automation.md"
_NO_DEFAULT = "No default:"
_TOP = "(top level)"

Schema = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class _Section:
    """One object of the format, at the field path where it is first reached."""

    path: str
    schema: Schema
    def_name: str | None = None


def load_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# ---------------------------------------------------------------- schema walking


def _ref_name(node: Schema) -> str | None:
    """The definition a node points at: ``$ref`` itself or draft-07's allOf-wrapped ``$ref``."""
    ref = node.get("$ref")
    if ref is None:
        wrapped = [item for item in node.get("allOf", ()) if "$ref" in item]
        ref = wrapped[0]["$ref"] if len(wrapped) == 1 else None
    if isinstance(ref, str) and ref.startswith("#/definitions/"):
        return ref.removeprefix("#/definitions/")
    return None


def _resolve(root: Schema, node: Schema) -> tuple[dict[str, Any], str | None]:
    """The node with its referenced definition merged in (the node's own keywords win)."""
    name = _ref_name(node)
    if name is None:
        return dict(node), None
    merged = dict(root["definitions"][name])
    merged.update({k: v for k, v in node.items() if k not in ("$ref", "allOf")})
    return merged, name


def _is_section(node: Schema) -> bool:
    """A fixed-shape object of the format (free-form maps are fields, not sections)."""
    return node.get("type") == "object" and "properties" in node


def _anchor(path: str) -> str:
    if path == _TOP:
        return "top-level"
    return path.replace(".", "-").replace("[]", "-item").lower()


def _title(path: str) -> str:
    return "Top level" if path == _TOP else f"`{path}`"


def _link(path: str) -> str:
    return f"[{_title(path)}](#{_anchor(path)})"


def _child(path: str, name: str) -> str:
    return name if path == _TOP else f"{path}.{name}"


def _sections(root: Schema) -> tuple[list[_Section], dict[str, list[str]]]:
    """Every object of the format in schema order, and every path that uses each shared
    definition: a definition used twice (the four notification blocks) is documented once,
    at its first path."""
    out: list[_Section] = []
    uses: dict[str, list[str]] = {}

    def visit(path: str, node: Schema, def_name: str | None) -> None:
        if def_name is not None:
            uses.setdefault(def_name, []).append(path)
            if len(uses[def_name]) > 1:
                return
        out.append(_Section(path, node, def_name))
        for name, raw in node["properties"].items():
            child, child_def = _resolve(root, raw)
            child_path = _child(path, name)
            if _is_section(child):
                visit(child_path, child, child_def)
            elif child.get("type") == "array":
                items, items_def = _resolve(root, child.get("items", {}))
                if _is_section(items):
                    visit(f"{child_path}[]", items, items_def)

    visit(_TOP, root, None)
    return out, uses


# ---------------------------------------------------------------- formatting


def _code(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return "`" + text.replace("|", "\\|") + "`"


def _value(value: Any) -> str:
    return _code(json.dumps(value, ensure_ascii=False))


def _cell(text: str) -> str:
    """One line of Markdown: `<` outside code spans escaped (``<n>`` is not an HTML tag), and
    `|` escaped so the text fits in a table cell."""
    parts = " ".join(text.split()).split("`")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("<", "&lt;")
    return "`".join(parts).replace("|", "\\|")


def _constraints(node: Schema) -> list[str]:
    parts: list[str] = []
    if "minimum" in node:
        parts.append(f"≥ {node['minimum']}")
    if "exclusiveMinimum" in node:
        parts.append(f"> {node['exclusiveMinimum']}")
    if "maximum" in node:
        parts.append(f"≤ {node['maximum']}")
    if "minLength" in node and node["minLength"] > 1:
        parts.append(f"at least {node['minLength']} characters")
    if "maxLength" in node:
        parts.append(f"at most {node['maxLength']} characters")
    if "pattern" in node and names_of(node["pattern"]) is None:
        parts.append(f"matches {_code(node['pattern'])}")
    if node.get("uniqueItems"):
        parts.append("no duplicates")
    return parts


_TYPE_NAMES = {"object": "mapping", "array": "list"}


def _type_name(node: Schema) -> str:
    kind = node.get("type", "any")
    kinds = [str(k) for k in kind] if isinstance(kind, list) else [str(kind)]
    return " \\| ".join(_TYPE_NAMES.get(k, k) for k in kinds)


def _type(
    root: Schema, node: Schema, path: str, def_name: str | None, docs: Mapping[str, str]
) -> str:
    if _is_section(node):
        target = docs.get(def_name, path) if def_name else path
        return f"mapping, see {_link(target)}"
    if node.get("type") == "object":
        values = node.get("additionalProperties", {})
        value_type = "any"
        if isinstance(values, Mapping):
            values, values_def = _resolve(root, values)
            value_type = _type_name(values)
            if values_def:
                value_type += f" ([{values_def}](#type-{values_def.lower()}))"
        text = f"mapping of string to {value_type}"
    elif node.get("type") == "array":
        items, items_def = _resolve(root, node.get("items", {}))
        if _is_section(items):
            target = docs.get(items_def, f"{path}[]") if items_def else f"{path}[]"
            text = f"list of mappings, see {_link(target)}"
        else:
            text = f"list of {_type_name(items)}"
            extra = _constraints(items)
            if extra:
                text += f" ({', '.join(extra)})"
    else:
        text = _type_name(node)
    if "enum" in node:
        text += ": one of " + ", ".join(_code(v) for v in node["enum"])
    any_case = names_of(node["pattern"]) if "pattern" in node else None
    if any_case:
        text += ": one of " + ", ".join(_code(v) for v in any_case) + " (any case)"
    extra = _constraints(node)
    if extra:
        text += f" ({', '.join(extra)})"
    if def_name and not _is_section(node):
        text += f" · [{def_name}](#type-{def_name.lower()})"
    return text


def _default(node: Schema, required: bool) -> str:
    if "default" in node:
        return _value(node["default"])
    if required:
        return "—"
    comment = str(node.get("$comment", ""))
    if comment.startswith(_NO_DEFAULT):
        return "— " + comment.removeprefix(_NO_DEFAULT).strip()
    return "—"


def _examples(node: Schema) -> str:
    return "<br>".join(_value(v) for v in node.get("examples", ()))


def _rules(node: Schema) -> Iterator[str]:
    if node.get("minProperties") == 1 and node.get("maxProperties") == 1:
        keys = ", ".join(f"`{k}`" for k in node["properties"])
        yield f"Exactly one of {keys}."
    groups = [b.get("required", ()) for b in node.get("oneOf", ())]
    if groups and all(len(g) == 1 for g in groups):
        keys = ", ".join(f"`{g[0]}`" for g in groups)
        yield f"Exactly one of {keys}."
    if not node["properties"]:
        yield "An empty mapping: `{}`."
    if node.get("additionalProperties") is False:
        yield "Any other key is an error."


def _render_section(
    root: Schema, section: _Section, docs: Mapping[str, str], uses: Mapping[str, list[str]]
) -> list[str]:
    node = section.schema
    lines = [f'<a id="{_anchor(section.path)}"></a>', "", f"## {_title(section.path)}", ""]
    shared = uses.get(section.def_name or "", [])
    if len(shared) > 1:
        # One section for every use of a shared block: say so, in the block's own words.
        own = root["definitions"][section.def_name].get("description", "")
        where = ", ".join(f"`{path}`" for path in shared)
        lines += [_cell(f"{own} The same fields apply to {where}."), ""]
    elif node.get("description") and section.path != _TOP:
        lines += [_cell(node["description"]), ""]
    rules = " ".join(_rules(node))
    lines += [rules, ""]
    if not node["properties"]:
        return lines
    required = set(node.get("required", ()))
    lines += [
        "| Field | Type | Required | Default | Example | Description |",
        "|---|---|---|---|---|---|",
    ]
    for name, raw in node["properties"].items():
        child, def_name = _resolve(root, raw)
        path = _child(section.path, name)
        row = [
            f"`{path}`",
            _type(root, child, path, def_name, docs),
            "yes" if name in required else "no",
            _default(child, name in required),
            _examples(child),
            _cell(child.get("description", "")),
        ]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    return lines


def _render_types(root: Schema) -> list[str]:
    lines = ['<a id="shared-value-types"></a>', "", "## Shared value types", ""]
    for name, node in root.get("definitions", {}).items():
        if _is_section(node):
            continue
        lines += [
            f'<a id="type-{name.lower()}"></a>',
            "",
            f"### {name}",
            "",
            f"{_type(root, node, name, None, {})}. {_cell(node.get('description', ''))}",
            "",
        ]
    return lines


def render_schema_reference(schema: dict[str, Any]) -> str:
    """The Markdown reference of the automation format: one section per object."""
    sections, uses = _sections(schema)
    docs = {name: paths[0] for name, paths in uses.items()}
    lines = [
        "# Automation file reference",
        "",
        "<!-- Generated from schemas/automation.schema.json by"
        " `python -m qwak_auto.docgen.schema_ref docs`."
        " Do not edit: change the schema and run `make docs`. -->",
        "",
        _cell(schema.get("description", "")),
        "",
        _cell(schema.get("$comment", "")),
        "",
        "Fields marked *Extension* are ours, beyond Qwak. A field whose type is string must be",
        'a YAML string: quote values that YAML would read as numbers (`threshold: "0.65"`).',
        "",
        "## Contents",
        "",
    ]
    lines += [f"- {_link(s.path)}" for s in sections]
    lines += ["- [Shared value types](#shared-value-types)", ""]
    for section in sections:
        lines += _render_section(schema, section, docs, uses)
    lines += _render_types(schema)
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.rstrip("\n") + "\n"


def write_docs(outdir: Path, schema_path: Path = SCHEMA_PATH) -> Path:
    target = outdir / REFERENCE_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_schema_reference(load_schema(schema_path)), encoding="utf-8")
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m qwak_auto.docgen.schema_ref",
        description="Write the generated reference documentation into OUTDIR.",
    )
    parser.add_argument("outdir", type=Path, help="documentation folder, e.g. docs")
    parser.add_argument("--schema", type=Path, default=SCHEMA_PATH, help="the JSON Schema")
    args = parser.parse_args(argv)
    written = write_docs(args.outdir, args.schema)
    print(f"wrote {written}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
