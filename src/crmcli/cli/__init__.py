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
from typer._click.exceptions import UsageError as ClickUsageError
from typer.core import TyperArgument, TyperGroup, TyperOption

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
    "quote": ("crmcli.cli.quote", "app"),
    "invoice": ("crmcli.cli.invoice", "app"),
    "payment": ("crmcli.cli.payment", "app"),
    "remind": ("crmcli.cli.remind", "app"),
    "segment": ("crmcli.cli.segment", "app"),
    "report": ("crmcli.cli.report", "app"),
    "interaction": ("crmcli.cli.interaction", "app"),
    "today": ("crmcli.cli.today", "app"),
    "template": ("crmcli.cli.template", "app"),
    "send": ("crmcli.cli.send", "app"),
    "mail": ("crmcli.cli.mail", "app"),
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


# One-line summaries for the command lists of `crm --help` and `crm GROUP --help`, where the
# first sentence of a command's help is longer than SUMMARY_MAX (Click would cut it with
# "...").  A command not named here gets its first sentence, or the clause before its first
# ":", ";" or " (" when that is too long.
SUMMARY_MAX = 56
SUMMARIES: dict[str, str] = {
    "customer": "Customers: add, find, show, edit, import, export",
    "customer show": "Show customers with their whole history",
    "customer edit": "Change customers' fields, tags, cadence or consent",
    "customer unsubscribe": "Record an opt-out, found by e-mail or id",
    "customer nps": "Record a 0-10 recommendation score; prints its id",
    "report campaigns": "Per campaign: sent, skipped, replies, deals won",
    "mail": "Mail: e-mail from a mailbox into the timeline",
    "mail import": "Log a mailbox's messages with customers and leads",
    "customer delete": "Delete customers with their history and deals",
    "customer log": "Record a call, e-mail, meeting or note; prints its id",
    "customer dupes": "List likely duplicates: same e-mail, phone or name",
    "customer merge": "Merge two customers: OTHER into KEEP",
    "customer export-person": "Everything held about one customer, as JSON",
    "customer forget": "Erase a customer's personal data for good",
    "customer import": "Import customers from CSV, TSV, JSON or vCard",
    "customer export": "Export customers with every column",
    "lead": "Leads from every channel: add, qualify, convert",
    "lead show": "Show leads with their interactions and status history",
    "lead edit": "Change leads' fields or tags",
    "lead delete": "Delete leads with their history",
    "lead log": "Record a call, e-mail, meeting or note; prints its id",
    "lead status": "Move a lead to new, contacted, qualified or lost",
    "lead convert": "Turn a lead into a customer (and a deal)",
    "lead forget": "Erase a lead's personal data for good",
    "lead import": "Import leads from CSV, TSV, JSON or JSON Lines",
    "deal": "Deals through stages, line items, the pipeline board",
    "deal list": "List deals by stage, customer, status or close date",
    "deal show": "Show deals with their order lines and stage history",
    "deal edit": "Change deals' fields (the stage: move, won, lost)",
    "deal move": "Move a deal to another open stage",
    "deal won": "Mark a deal won, with contract and payment dates",
    "deal paid": "Pay what a won deal's open invoices still owe",
    "deal pipeline": "The pipeline board: deals and totals per stage",
    "deal import": "Import deals from CSV, TSV, JSON or JSON Lines",
    "deal stages": "The stages deals move through, with probabilities",
    "deal stages edit": "Change a stage's probability",
    "deal stages remove": "Remove an open stage (--to moves its deals)",
    "deal item": "Line items (an order): a deal is worth their total",
    "deal item add": "Add a line item to a deal; prints its id",
    "deal item remove": "Remove a line item from its deal",
    "ticket": "Support tickets: SLA due times, escalation, threads",
    "ticket list": "List tickets (default: unresolved, soonest due first)",
    "ticket show": "Show tickets with their whole thread",
    "ticket comment": "Add a comment to a ticket's thread",
    "ticket escalate": "Escalate a ticket from tier 1 to tier 2",
    "ticket pending": "Set a ticket pending (the SLA clock pauses)",
    "ticket resolve": "Resolve a ticket, with the customer's score",
    "ticket close": "Close a ticket, with the customer's score",
    "ticket reopen": "Reopen a ticket, or take a pending one back to open",
    "ticket edit": "Change a ticket's subject, priority or due time",
    "quote": "Quotes of a deal's items: versions, PDF, accept",
    "quote show": "Show quotes with their lines, taxes and versions",
    "quote accept": "Accept a quote; its deal moves to won",
    "quote decline": "Decline a quote, with the customer's reason",
    "quote pdf": "Write a quote as PDF (or HTML) for the customer",
    "remind": "Reminders, repeating ones, the daily digest for cron",
    "remind due": "What is overdue or due today, one line each",
    "remind export": "Export what is due as an iCalendar file",
    "remind add": "Add a reminder, once or repeating; prints its id",
    "remind list": "List pending reminders, soonest first",
    "remind done": "Mark reminders done (a repeating one moves on)",
    "remind snooze": "Put a reminder off until later",
    "remind delete": "Delete reminders (a repeating one: all its times)",
    "segment": "Segments: customers chosen by stored criteria",
    "segment add": "Add a segment from criteria; prints its id",
    "segment list": "List segments with their criteria and sizes",
    "segment edit": "Change a segment's criteria, name or description",
    "report": "Reports: pipeline, sales, leads, tickets and more",
    "report forecast": "Weighted open deals by expected close month",
    "report sales": "Won and lost deals per period, win rate, days to win",
    "report customers": "Top customers, retention, at risk, NPS and CSAT",
    "report activity": "Calls, e-mails, meetings, notes and wins per period",
    "template": "E-mail and SMS templates with fields; preview",
    "template add": "Add an e-mail or SMS template; prints its id",
    "template list": "List templates with the fields they use",
    "template show": "Show templates: subject, text, HTML, fields",
    "template edit": "Change a template's name, channel, kind or text",
    "template preview": "A template filled in for one customer",
    "demo": "Fill a sample database with 15 months of history",
    "config": "Settings: date order, country, currency, SLA",
    "backup": "Copy the database to FILE, safely while in use",
    "restore": "Replace the database with a backup (the old one kept)",
    "doctor": "Check the database: integrity, links, indexes",
    "history": "The audit trail, newest first: what changed when",
    "undo": "Undo the last command that changed something",
}


def summary(help_text: str | None) -> str:
    """The first sentence of a help text, or its first clause when that is too long."""
    import re

    first = re.split(r"\.(?:\s|$)", (help_text or "").strip().split("\n\n")[0], maxsplit=1)[0]
    first = " ".join(first.split())
    if len(first) <= SUMMARY_MAX:
        return first
    for mark in (": ", "; ", " ("):
        head = first.split(mark, 1)[0]
        if len(head.split()) >= 3 and len(head) <= SUMMARY_MAX:
            return head
    return first  # wrapped by the help formatter, never cut


# Placeholders of options that take text, by the option's long name (the rest: its name in
# capitals, --city CITY); numbers are N, ids ID, files FILE, choices list themselves.
WORDS: dict[str, str] = {
    **dict.fromkeys(("note", "reason", "description", "next-text", "subject", "name", "title",
                     "contract-number", "body"), "TEXT"),  # fmt: skip
    **dict.fromkeys(("from", "to", "close", "payment-due", "contract-start", "contract-end",
                     "birthday", "closing-before", "since", "until"), "DATE"),  # fmt: skip
    **dict.fromkeys(("at", "due", "next"), "WHEN"),
    **dict.fromkeys(("sort", "unset"), "FIELD"),
    **dict.fromkeys(("probability", "qty", "score"), "N"),
    **dict.fromkeys(("amount", "price"), "AMOUNT"),
    **dict.fromkeys(("before", "after"), "STAGE"),
    **dict.fromkeys(("add-tag", "remove-tag"), "TAG"),
    "search": "WORDS", "field": "KEY=VALUE", "every": "RULE", "cadence": "DURATION",
    "currency": "CODE", "by": "GROUP", "section": "PART",
}  # fmt: skip
ID_OPTIONS = frozenset({"customer", "lead", "deal", "ticket", "id", "command", "interaction"})


class CrmArgument(TyperArgument):
    """An argument shown as a word: ``ID…`` in the usage line, not ``{ID...}``."""

    def make_metavar(self, ctx: Any, *, usage: bool = False) -> str:
        var = (self.metavar or (self.name or "").upper()).replace("...", "…")
        if self.nargs != 1 and not var.endswith("…"):
            var += "…"
        return f"[{var}]" if usage and not self.required else var


def _metavar(param: Any) -> str | None:
    """The placeholder of an option that has none of its own."""
    kind = param.type.name  # Typer's types are named: choice, int, int range, path …
    choices = getattr(param.type, "choices", None)
    if kind == "choice" and choices:
        return "[" + "|".join(str(getattr(c, "value", c)) for c in choices) + "]"
    long = next((o[2:] for o in param.opts if o.startswith("--")), param.name or "")
    if kind in ("int", "int range", "float", "float range"):
        return "ID" if long in ID_OPTIONS else "N"
    if kind in ("path", "file", "filename"):
        return "FILE"
    return WORDS.get(long) or long.upper().replace("-", "_")


GROUP_USAGE = "COMMAND [ARGS]…"


def polish(command: Any, path: str) -> Any:
    """Words for a command's help: its summary in the list of its group (never cut with
    "..."), placeholders for its options and arguments; the same for a group's commands."""
    if command.short_help is None:
        command.short_help = SUMMARIES.get(path) or summary(command.help)
    if hasattr(command, "commands"):
        command.subcommand_metavar = GROUP_USAGE
        if type(command) is TyperGroup:  # a group inside a group: crm deal stages
            command.__class__ = Suggesting
    for param in command.params:
        if isinstance(param, TyperArgument) and type(param) is TyperArgument:
            param.__class__ = CrmArgument
        elif isinstance(param, TyperOption) and not (param.is_flag or param.count):
            if param.metavar is None and not param.hidden:
                param.metavar = _metavar(param)
    for name, sub in getattr(command, "commands", {}).items():
        polish(sub, f"{path} {name}")
    return command


def suggest(exc: ClickUsageError, typo: str, names: Sequence[str]) -> None:
    """``No such command 'customers'`` -> ``…; did you mean 'customer'?``."""
    import difflib

    if not exc.message.startswith("No such command"):
        return
    base = f"No such command '{typo}'"
    matches = difflib.get_close_matches(typo, names, n=1, cutoff=0.6)
    if not matches:  # a prefix: `crm cust`
        matches = [n for n in names if n.startswith(typo)][:1] if len(typo) >= 2 else []
    exc.message = f"{base}; did you mean '{matches[0]}'?" if matches else f"{base}."


class Suggesting(TyperGroup):
    """A group that answers a mistyped command with the nearest one (:func:`suggest`)."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except ClickUsageError as exc:
            suggest(exc, args[0], self.list_commands(ctx))
            raise


class CrmGroup(Suggesting):
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
            self.add_command(polish(command, cmd_name), cmd_name)
        return command

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        self.subcommand_metavar = GROUP_USAGE

        def call() -> Any:
            _check_text(sys.argv[1:] if args is None else args)
            return super(CrmGroup, self).main(
                args, prog_name, complete_var, standalone_mode=False, **extra
            )

        code = handle(call)
        if standalone_mode:
            sys.exit(code)
        return code


class LazyGroup(Suggesting):
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
        self.add_command(polish(command, f"{self.name} {cmd_name}"), cmd_name)
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
            if rv != EXIT_INTERRUPTED:  # Typer turns Ctrl-C into Exit(130)
                return rv if isinstance(rv, int) else 0
        finally:
            saved = [ident for db in options.STATE.open for ident in getattr(db, "saved", ())]
            options.close_all()
        raise KeyboardInterrupt
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
            hint = _elsewhere(exc, ctx) or f" (see '{ctx.command_path} --help')"
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


def _elsewhere(exc: ClickException, ctx: Any) -> str:
    """For an option this command does not take: the commands of its group that take it
    (``crm ticket pending 3 --satisfaction 4`` -> ``ticket resolve`` and ``close`` do)."""
    option = getattr(exc, "option_name", None)
    parent = ctx.parent
    if type(exc).__name__ != "NoSuchOption" or not option or parent is None:
        return ""
    group = parent.command
    takers = []
    for name in group.list_commands(parent):
        command = group.get_command(parent, name)
        if name != ctx.info_name and any(option in p.opts for p in command.params):
            takers.append(f"{parent.command_path} {name}")
    if not takers:
        return ""
    names = takers[0] if len(takers) == 1 else ", ".join(takers[:-1]) + " and " + takers[-1]
    return f" ({names} {'takes' if len(takers) == 1 else 'take'} it)"


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
