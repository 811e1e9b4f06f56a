"""The command-line interface: one typer app, one exit point.

Each command module in this package registers its commands on ``app``; a command parses
options, calls one service function and renders the result. Only :func:`main` maps outcomes
to exit codes: 0 fine, 1 problems found or a run failed, 2 usage/config/internal error,
130 interrupted, 141 the reader of our output went away (``auto logs B | head -3``): 128 +
SIGPIPE, the status a shell shows for a program killed by a broken pipe, so `set -o pipefail`
scripts see what happened and it is not mistaken for "problems found". Nothing is printed
then. A run is never stopped by this: its echo just stops (qwak_auto.streams), and
`auto trigger`/`auto run` exit with the run's own status.
"""

from __future__ import annotations

import re
import sys

import typer

from qwak_auto import __version__
from qwak_auto.cli.layout import OrderedGroup

app = typer.Typer(
    name="auto",
    cls=OrderedGroup,
    help="Keep ML models accurate in production: validate and run automation files.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    add_completion=True,
)

_state = {"debug": False}


def command_group(name: str, summary: str) -> typer.Typer:
    """A group of subcommands, ``auto NAME ...``, on ``app``."""
    group = typer.Typer(name=name, help=summary, no_args_is_help=True)
    app.add_typer(group, name=name)
    return group


def _version(value: bool) -> None:
    if value:
        typer.echo(f"auto {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show commands and tracebacks."),
    log_format: str = typer.Option(
        "text", "--log-format", help="Log lines as `text` or `json`.", envvar="AUTO_LOG_FORMAT"
    ),
    version: bool = typer.Option(  # noqa: ARG001 - handled by its callback
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    from qwak_auto import log, proc

    _state["debug"] = debug
    proc.set_debug(debug)
    log.configure(log_format=log_format, debug=debug)


def _register() -> None:
    # Each area owns one module; importing it registers its commands on `app`.
    from qwak_auto.cli import (  # noqa: F401
        approve,
        build,
        deploy,
        gate,
        images,
        port,
        render,
        run,
        secrets,
        ui,
        validate,
    )


def main(argv: list[str] | None = None) -> int:
    from qwak_auto import console
    from qwak_auto.errors import AutoError

    _register()
    # Help on a terminal is rich (panels, colour); piped, in CI or with NO_COLOR it is click's
    # plain text, without box-drawing characters. Commands take the mode from the app when
    # the app is called, so setting it here covers `auto --help` and `auto CMD --help`. The
    # width is the terminal's (COLUMNS, else 80), as with rich, not click's 80-column cap.
    app.rich_markup_mode = None if console.is_plain() else "markdown"
    try:
        rc = app(args=argv, prog_name="auto", standalone_mode=False, max_content_width=10_000)
    except AutoError as exc:
        console.error(exc.message, exc.hint)
        return exc.exit_code
    except KeyboardInterrupt:
        console.error("interrupted")
        return 130
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except SystemExit as exc:
        from qwak_auto import streams

        # Click turns a broken pipe (EPIPE) into a quiet `sys.exit(1)`; tell it apart from
        # "problems found" by the stream whose reader went away.
        if exc.code == 1 and streams.silence_gone_std_streams():
            return 141
        return exc.code if isinstance(exc.code, int) else 1
    except typer.Abort:
        console.error("interrupted")
        return 130
    except typer.TyperException as exc:
        # Usage errors (unknown option, bad value, missing argument). Typer vendors its own
        # click, so these are not `click.ClickException`s.
        return _usage_error(exc)
    except Exception as exc:  # noqa: BLE001 - the one place that catches everything
        from qwak_auto import streams

        if streams.is_gone_error(exc) and streams.silence_gone_std_streams():
            return 141
        if _state["debug"]:
            import traceback

            traceback.print_exc()
        console.error(
            f"internal error: {type(exc).__name__}: {exc}",
            "run again with `auto --debug ...` for the traceback and report it",
        )
        return 2
    return rc if isinstance(rc, int) else 0


def _usage_error(exc: typer.TyperException) -> int:
    from qwak_auto import console

    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError":
        # `auto` or `auto images` alone: the help is the answer.
        if exc.format_message().strip():
            typer.echo(exc.format_message(), err=True)
        return 2
    command = ctx.command_path if ctx is not None else "auto"
    message, hint = exc.format_message(), f"see `{command} --help`"
    choice = _NOT_A_CHOICE.search(message)
    param = getattr(exc, "param", None)
    option = param.opts[0] if param is not None and param.opts else ""
    if choice and option.startswith("--"):
        # A value outside an option's choices (`--format yaml`): name the option, the value
        # and the choices, as every other usage error here does.
        noun = option.lstrip("-").replace("-", " ")
        message = f"{option}: {choice['value']!r} is not a {noun}"
        hint = "use one of: " + ", ".join(re.findall(r"'([^']*)'", choice["choices"]))
    console.error(message, hint)
    return int(exc.exit_code)


_NOT_A_CHOICE = re.compile(r"'(?P<value>[^']*)' is not one of (?P<choices>.+?)\.?$")


def entry() -> None:
    from qwak_auto.platform.private import restrict_umask
    from qwak_auto.secrets.held import hold as hold_secrets

    # Once, at start-up of the process (not in main(), which tests call in-process): what
    # this process and its children write in the home is private (issue 14).
    restrict_umask()
    # Secrets are read from here on by name; no child inherits them from this environment.
    hold_secrets()
    sys.exit(main())
