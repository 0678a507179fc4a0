"""Shared options, the open database, confirmations: everything commands have in common."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated, Any

import typer

from crmcli.errors import UsageError


def group(help_text: str | None) -> typer.Typer:
    """A command group: plain help (no rich import for --help), help when called bare."""
    return typer.Typer(help=help_text, no_args_is_help=True, rich_markup_mode=None)


class Format(StrEnum):
    table = "table"
    tsv = "tsv"
    csv = "csv"
    json = "json"
    jsonl = "jsonl"
    ids = "ids"


FormatOpt = Annotated[
    Format | None,
    typer.Option(
        "--format",
        "-f",
        help="Output format (default: table on a terminal, tsv otherwise).",
        case_sensitive=False,
        show_default=False,
    ),
]
LimitOpt = Annotated[
    int | None, typer.Option("--limit", "-n", min=0, help="Show at most N records (0: all).")
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
RawOpt = Annotated[
    bool,
    typer.Option("--raw", help="CSV only: do not neutralise cells that look like formulas."),
]


class State:
    """What the root callback parsed, for the commands below it."""

    db_option: str | None = None
    open: list[Any] = []


STATE = State()


def fmt_of(option: Format | None) -> str:
    from crmcli.render import default_format

    return option.value if option is not None else default_format()


def database(*, create: bool = False) -> Any:
    """Open the database for this command (``create`` for commands that write)."""
    from crmcli.db import open_db, resolve_path

    db = open_db(resolve_path(STATE.db_option), create=create)
    STATE.open.append(db)
    return db


def close_all() -> None:
    while STATE.open:
        STATE.open.pop().close()


def info(message: str) -> None:
    """A human message: stderr, never mixed with data."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def confirm(question: str, *, yes: bool) -> None:
    """Ask on a terminal; off a terminal ``--yes`` is required.  Raises on a no."""
    if yes:
        return
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise UsageError(f"{question.rstrip('?')}: refusing without --yes (not a terminal)")
    if not typer.confirm(question, default=False, err=True):
        info("Nothing changed.")
        raise typer.Exit(1)


def parse_when(text: str, field: str, db: Any) -> str:
    """A date-time phrase as UTC ISO text, read with the database's date order."""
    from crmcli.core.settings import load
    from crmcli.dates import parse_datetime, to_utc_iso

    order = load(db).date_order
    return to_utc_iso(parse_datetime(text, order=order, field=field))
