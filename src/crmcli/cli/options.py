"""Shared options, the open database, confirmations: everything commands have in common."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import typer

from crmcli.errors import UsageError

T = TypeVar("T")


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


def fetch_limit(out: str, limit: int | None) -> int | None:
    """How many rows a listing asks for: a terminal table without --limit shows the first
    TABLE_DEFAULT_LIMIT and asks for one more, to know whether to say so."""
    from crmcli.render import TABLE_DEFAULT_LIMIT

    if out == "table" and limit is None:
        return TABLE_DEFAULT_LIMIT + 1
    return min(limit, 2**63 - 1) if limit else None  # past SQLite's integers: all of them


def cap_table(rows: Iterable[T], out: str, limit: int | None) -> Iterable[T]:
    """The rows of :func:`fetch_limit`'s query, cut to what a terminal table shows."""
    from crmcli.render import TABLE_DEFAULT_LIMIT

    if out != "table" or limit is not None:
        return rows
    shown = list(rows)
    if len(shown) > TABLE_DEFAULT_LIMIT:
        info(f"showing the first {TABLE_DEFAULT_LIMIT}; use --limit 0 for all, or -f tsv")
        return shown[:TABLE_DEFAULT_LIMIT]
    return shown


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
