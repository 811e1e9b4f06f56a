"""Generate the CLI reference (docs/reference/cli.md) from the typer app.

``python -m qwak_auto.docgen.cli_ref OUTDIR`` writes ``OUTDIR/reference/cli.md``; a test fails when
the committed file is stale (run ``make docs``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

HEADER = (
    "# CLI reference\n\n"
    "<!-- Generated from the typer app by `python -m qwak_auto.docgen.cli_ref docs`. Do not edit: "
    "run `make docs`. -->\n\n"
    "Exit codes everywhere: 0 fine, 1 problems found or a run failed, 2 usage or configuration "
    "error, 130 interrupted. Every command accepts the global options of `auto` before it.\n"
)


def _command_tree() -> Any:
    import typer

    from qwak_auto.cli import _register, app

    _register()
    return typer.main.get_command(app)


def _param_row(param: Any) -> str:
    if param.param_type_name == "argument":
        name = f"`{(param.name or '').upper()}`"
        kind = "argument" + (" (repeatable)" if param.nargs == -1 else "")
        help_text = getattr(param, "help", None) or ""
    else:
        name = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
        kind = "flag" if getattr(param, "is_flag", False) else "option"
        help_text = getattr(param, "help", None) or ""
        default = param.default
        if default not in (None, False, (), []) and not callable(default):
            help_text += f" (default: `{default}`)"
        if getattr(param, "envvar", None):
            help_text += f" (env: `{param.envvar}`)"
    cell = help_text.strip().replace("|", "\\|")
    return f"| {name} | {kind} | {cell} |"


def _render(command: Any, path: str, out: list[str]) -> None:
    if path:
        out.append(f"\n## `{path}`\n")
        doc = (command.help or "").strip()
        if doc:
            out.append(doc.split("\n\n")[0].replace("\n", " ") + "\n")
            rest = "\n\n".join(doc.split("\n\n")[1:]).strip()
            if rest:
                out.append("\n" + rest + "\n")
        params = [p for p in command.params if p.name not in ("help",)]
        if params:
            out.append("\n| parameter | kind | description |\n| --- | --- | --- |")
            out.extend(_param_row(p) for p in params)
    if hasattr(command, "commands"):
        for name in sorted(command.commands):
            sub = command.commands[name]
            if getattr(sub, "hidden", False):
                continue
            _render(sub, f"{path} {name}".strip(), out)


def render_cli_reference() -> str:
    root = _command_tree()
    out = [
        HEADER,
        "\n## Global options\n",
        "| parameter | kind | description |",
        "| --- | --- | --- |",
    ]
    out.extend(_param_row(p) for p in root.params if p.name != "help")
    for name in sorted(root.commands):
        _render(root.commands[name], f"auto {name}", out)
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    outdir = Path(args[0] if args else "docs")
    target = outdir / "reference" / "cli.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_cli_reference(), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
