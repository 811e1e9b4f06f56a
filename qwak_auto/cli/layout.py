"""The order and grouping of commands in `auto --help`, with each description whole.

Commands are listed in the order a user meets them (check and plan, run, build and serve,
look at data, production and migration, set-up), in one panel per group on a terminal and
one section per group when plain. Click cuts a description at about 45 characters; here
each command's first help paragraph is shown in full, wrapped (issue 18).
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperGroup

GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Check and plan", ("validate", "plan")),
    ("Run", ("run", "trigger", "status", "history", "approve", "reject", "ui")),
    ("Build and serve", ("build", "logs", "deploy", "rollback", "undeploy")),
    ("Data and monitoring", ("query", "ingest", "metrics")),
    ("Production and migration", ("render", "import-qwak")),
    ("Set-up", ("secrets", "images")),
)
ORDER = tuple(name for _, names in GROUPS for name in names)
PANEL = {name: title for title, names in GROUPS for name in names}
OTHER = "Other commands"


def summary(command: Any) -> str:
    """The first paragraph of a command's help, on one line."""
    text = getattr(command, "short_help", None) or getattr(command, "help", None) or ""
    return " ".join(text.strip().split("\n\n")[0].split())


class OrderedGroup(TyperGroup):
    """`auto` itself: commands in :data:`ORDER`, grouped by :data:`GROUPS`."""

    def list_commands(self, ctx: Any) -> list[str]:
        rank = {name: i for i, name in enumerate(ORDER)}
        return sorted(super().list_commands(ctx), key=lambda n: (rank.get(n, len(rank)), n))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command: Any = super().get_command(ctx, cmd_name)
        if command is not None and not getattr(command, "rich_help_panel", None):
            command.rich_help_panel = PANEL.get(cmd_name, OTHER)  # a panel on a terminal
        return command

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            sections.setdefault(PANEL.get(name, OTHER), []).append((name, summary(command)))
        for title, rows in sections.items():
            with formatter.section(title):
                formatter.write_dl(rows)
