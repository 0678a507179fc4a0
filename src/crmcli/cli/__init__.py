"""The root ``crm`` app: global options, the command groups, and the one error handler.

No ``from __future__ import annotations`` here: Typer would evaluate the root callback's
string annotations with ``eval`` on every run (≈ 1 ms); plain annotations cost nothing.
"""

import copy
import errno
import gc
import importlib
import os
import sqlite3
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer._click.exceptions import ClickException  # Typer bundles Click; no click import
from typer.core import TyperGroup

from crmcli import __version__
from crmcli.cli import options
from crmcli.errors import EXIT_INTERRUPTED, EXIT_USAGE, CrmError, UsageError

# Commands and groups, imported only when used: `crm customer list` pays for no other.
# name -> (module, attribute): a Typer; a one-command Typer stands for that command.
GROUPS: dict[str, tuple[str, str]] = {
    "customer": ("crmcli.cli.customer", "app"),
    "lead": ("crmcli.cli.lead", "app"),
    "deal": ("crmcli.cli.deal", "app"),
    "ticket": ("crmcli.cli.ticket", "app"),
    "remind": ("crmcli.cli.remind", "app"),
    "report": ("crmcli.cli.report", "app"),
    "interaction": ("crmcli.cli.interaction", "app"),
    "today": ("crmcli.cli.today", "app"),
    "demo": ("crmcli.cli.admin", "demo_app"),
    "config": ("crmcli.cli.admin", "config_app"),
    "completion": ("crmcli.cli.admin", "completion_app"),
    "backup": ("crmcli.cli.safety", "backup_app"),
    "restore": ("crmcli.cli.safety", "restore_app"),
    "doctor": ("crmcli.cli.safety", "doctor_app"),
    "history": ("crmcli.cli.history", "history_app"),
    "undo": ("crmcli.cli.history", "undo_app"),
}
# Commands a group's module does not define itself: their module registers them on the
# group's Typer when it is imported, which happens only when one of them is called (or the
# group's commands are listed).  group -> command -> module.
MORE_COMMANDS: dict[str, dict[str, str]] = {
    "customer": {"import": "crmcli.cli.customer_io", "export": "crmcli.cli.customer_io"},
    "lead": {"import": "crmcli.cli.lead_io"},
    "deal": {"import": "crmcli.cli.deal_io"},
}


class CrmGroup(TyperGroup):
    """The root command.

    Runs every command under one handler: a user error is one line on stderr and an exit
    code, never a traceback (CliRunner calls ``main`` too).  Loads groups lazily.
    """

    def list_commands(self, ctx: Any) -> list[str]:
        return [*GROUPS, *(n for n in super().list_commands(ctx) if n not in GROUPS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in GROUPS:
            module_name, attr = GROUPS[cmd_name]
            sub = getattr(importlib.import_module(module_name), attr)
            if sub.registered_callback is None and len(sub.registered_commands) == 1:
                command = typer.main.get_command_from_info(
                    sub.registered_commands[0], pretty_exceptions_short=True, rich_markup_mode=None
                )
            else:
                command = LazyGroup.of(sub, cmd_name, MORE_COMMANDS.get(cmd_name, {}))
            self.add_command(command, cmd_name)
        return command

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        def call() -> Any:
            _check_text(sys.argv[1:] if args is None else args)
            return super(CrmGroup, self).main(
                args, prog_name, complete_var, standalone_mode=False, **extra
            )

        code = handle(call)
        if standalone_mode:
            sys.exit(code)
        return code


class LazyGroup(TyperGroup):
    """A command group that turns a command into a Click command only when it is called.

    Typer converts every command of a group up front (≈2 ms each, from its signature);
    `crm customer show` needs one of them.
    """

    source: typer.Typer
    more: dict[str, str]

    @classmethod
    def of(cls, sub: typer.Typer, name: str, more: dict[str, str]) -> "LazyGroup":
        shell = copy.copy(sub)  # the group's own help and callback, without its commands
        shell.registered_commands = []
        shell.registered_groups = []
        shell.info = copy.copy(sub.info)
        shell.info.cls = cls
        group = typer.main.get_group_from_info(
            typer.models.TyperInfo(shell),
            pretty_exceptions_short=True,
            suggest_commands=True,
            rich_markup_mode=None,
        )
        assert isinstance(group, LazyGroup)
        group.name = name
        group.source = sub
        group.more = more
        return group

    def _names(self, wanted: str | None = None) -> dict[str, Any]:
        """The group's commands by name; the modules of :data:`MORE_COMMANDS` are imported
        for ``wanted`` among them, or all of them when ``wanted`` is None."""
        for command, module in self.more.items():
            if wanted is None or wanted == command:
                importlib.import_module(module)
        names: dict[str, Any] = {}
        for info in self.source.registered_commands:
            assert info.callback is not None
            names[info.name or typer.main.get_command_name(info.callback.__name__)] = info
        for group_info in self.source.registered_groups:
            names[str(group_info.name)] = group_info
        return names

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self._names())

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        info = self._names(cmd_name).get(cmd_name)
        if info is None:
            return None
        if isinstance(info, typer.models.TyperInfo):
            command: Any = typer.main.get_group_from_info(
                info, pretty_exceptions_short=True, suggest_commands=True, rich_markup_mode=None
            )
        else:
            command = typer.main.get_command_from_info(
                info, pretty_exceptions_short=True, rich_markup_mode=None
            )
        self.add_command(command, cmd_name)
        return command


def handle(call: Any) -> int:
    """Run ``call``; turn every way it can fail into a message and an exit code.

    The exit code agrees with what was saved: once a command has committed its change, a
    failure to print what it did (stdout closed, full, or its reader gone) is a warning and
    the exit code stays 0; every non-zero code of a write command means nothing was
    changed (apart from 70, a bug, whose message says whether the change was saved)."""
    saved: list[int] = []
    try:
        try:
            rv = call()
            sys.stdout.flush()
            if rv == EXIT_INTERRUPTED:  # Typer turns Ctrl-C into Exit(130)
                _error("interrupted; nothing was changed")
            return rv if isinstance(rv, int) else 0
        finally:
            saved = [ident for db in options.STATE.open for ident in getattr(db, "saved", ())]
            options.close_all()
    except CrmError as exc:
        _error(str(exc) + _saved_note(saved))
        return exc.exit_code
    except ClickException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: its help, as click does
            sys.stderr.write(exc.format_message() + "\n")
            return exc.exit_code
        hint = ""
        ctx = getattr(exc, "ctx", None)
        if ctx is not None:
            hint = f" (see '{ctx.command_path} --help')"
        _error(exc.format_message() + hint)
        return exc.exit_code
    except typer.Abort:
        _error("aborted")
        return 1
    except SystemExit as exc:
        # Click answers a broken pipe inside a command with exit(1), whatever was saved.
        cause = exc.__context__
        if isinstance(cause, OSError) and cause.filename is None and _output_fault(cause):
            return _output_failed(cause, saved)
        raise
    except KeyboardInterrupt:
        if saved:
            _warn("interrupted after the change was saved" + _saved_note(saved, bare=True))
            return 0
        _error("interrupted; nothing was changed")
        return EXIT_INTERRUPTED
    except OSError as exc:
        if exc.filename is None and (saved or _output_fault(exc)):
            return _output_failed(exc, saved)
        _error(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
        return 1
    except sqlite3.Error as exc:
        return _database_fault(exc, saved)
    except OverflowError as exc:
        if "SQLite INTEGER" not in str(exc):  # a bug, reported below
            return _internal(exc, saved)
        # An id or count past SQLite's 64-bit integers: crm customer show 99999999999999999999
        _error(f"a number given is too large (the largest is {2**63 - 1}); nothing was changed")
        return EXIT_USAGE
    except Exception as exc:
        return _internal(exc, saved)


# Errors of a write to stdout or stderr: the reader left, the device is full, the stream
# was closed (`crm … >&-`) or the terminal went away.
_OUTPUT_ERRNOS = {errno.EPIPE, errno.ENOSPC, errno.EBADF, errno.EIO, errno.EDQUOT, errno.EFBIG}


def _output_fault(exc: OSError) -> bool:
    return isinstance(exc, BrokenPipeError) or exc.errno in _OUTPUT_ERRNOS


def _output_failed(exc: OSError, saved: list[int]) -> int:
    """Writing the output failed.  Exit 0 with a warning when the change was committed (so
    a script does not run the command again and save it twice), else exit 1; a reader that
    left (`crm customer list | head -1`) is told nothing."""
    try:
        sys.stdout.flush()  # is it stdout that failed (or stderr)?
    except (OSError, ValueError):
        _silence_stdout()
    if saved:
        _warn(
            "the change was saved" + _saved_note(saved, bare=True) + ", but its output could "
            f"not be written ({_reason(exc)}); crm history shows it"
        )
        return 0
    if not isinstance(exc, BrokenPipeError) and exc.errno != errno.EPIPE:
        _error(f"cannot write the output: {_reason(exc)}")
    return 1


def _reason(exc: OSError) -> str:
    if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE:
        return "the program reading it has gone"
    return exc.strerror or str(exc)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so what is still buffered goes nowhere, quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _saved_note(saved: list[int], *, bare: bool = False) -> str:
    """`` (the change was saved: command 12)`` when something was committed."""
    if not saved:
        return ""
    which = ", ".join(str(i) for i in saved)
    word = "command" if len(saved) == 1 else "commands"
    return f" (as {word} {which})" if bare else f" (the change was saved as {word} {which})"


def _database_fault(exc: sqlite3.Error, saved: list[int]) -> int:
    """An SQLite error no command turned into a message: name the cause (a full disk, a
    read-only folder, another writer, a damaged file) when it is one of those."""
    from crmcli.db import fault, resolve_path

    known = None
    try:
        known = fault(exc, resolve_path(options.STATE.db_option))
    except CrmError:
        pass
    if saved:
        _error(f"database: {exc}" + _saved_note(saved))
    elif known is not None:
        _error(str(known))
    else:
        _error(f"database: {exc}; nothing was changed")
    return 1


def _internal(exc: Exception, saved: list[int] | None = None) -> int:
    """A bug: say so in one line, the traceback on request."""
    if os.environ.get("CRM_DEBUG"):
        raise exc
    _error(
        f"internal error: {type(exc).__name__}: {exc}{_saved_note(saved or [])} "
        "(CRM_DEBUG=1 shows the traceback)"
    )
    return 70


def _check_text(args: Sequence[str]) -> None:
    """Refuse an argument that is not UTF-8 (bytes from a Latin-1 terminal reach Python as
    lone surrogates, which SQLite cannot store): one clear line instead of an internal error."""
    for arg in args:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            raise UsageError(
                f"{ascii(arg[:60])} is not UTF-8 text; set your terminal to UTF-8 (LANG=C.UTF-8)"
            ) from None


def _error(message: str) -> None:
    _say(f"crm: error: {message}\n")


def _warn(message: str) -> None:
    _say(f"crm: warning: {message}\n")


def _say(line: str) -> None:
    try:
        sys.stderr.write(line)
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass  # stderr is closed or full: there is nowhere left to say it


app = typer.Typer(
    cls=CrmGroup,
    name="crm",
    help="A command-line CRM for solo sellers: customers, leads, deals, tickets and reminders "
    "in one SQLite file.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"crm {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="PATH",
            help="Database file (default: $CRM_DB, else $XDG_DATA_HOME/crmcli/crm.db).",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """A command-line CRM for solo sellers.

    Example: crm customer add "Nguyễn Văn An" --email an@example.vn --tag vip
    """
    options.STATE.db_option = db
    if not gc.isenabled():  # started by crmcli.__main__: start-up is over
        gc.freeze()
        gc.enable()


def run(argv: Sequence[str] | None = None) -> int:
    """Entry point used by ``crm``: returns the exit code."""
    command = typer.main.get_command(app)
    return int(command.main(args=argv, prog_name="crm", standalone_mode=False) or 0)
