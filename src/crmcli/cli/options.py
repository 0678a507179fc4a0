"""Shared options, the open database, confirmations: everything commands have in common."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from crmcli.errors import CrmError, InvalidValue, NotFound, UsageError

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


def opt(help_text: str, *names: str) -> Any:
    """An option with no default shown (most of ours default to "not given")."""
    return typer.Option(*names, help=help_text, show_default=False)


# The contact options of customers and leads.
Email = Annotated[str | None, opt("E-mail address (validated).")]
Phone = Annotated[
    str | None, opt("Phone number (E.164 when a country is known: crm config set country VN).")
]
Company = Annotated[str | None, opt("Company or organisation.")]
Title = Annotated[str | None, opt("Job title.")]
Tags = Annotated[list[str] | None, typer.Option("--tag", "-t", help="Tag (repeatable).")]
AddTags = Annotated[list[str] | None, typer.Option("--add-tag", help="Add a tag.")]
RemoveTags = Annotated[list[str] | None, typer.Option("--remove-tag", help="Remove a tag.")]

LimitOpt = Annotated[
    int | None, typer.Option("--limit", "-n", min=0, help="Show at most N records (0: all).")
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        help="Write to FILE (mode 0600, written atomically) instead of stdout.",
        show_default=False,
    ),
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")]
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


def warn_same_contact(matches: Sequence[Mapping[str, Any]], kind: str, hint: str = "") -> None:
    """One line on stderr per existing record with the new one's e-mail or phone:
    ``warning: same e-mail as customer 4 (An); added anyway``.  ``hint`` may name
    ``{id}``, the existing record's id."""
    from crmcli.text import visible

    for match in matches:
        extra = hint.format(id=match["id"]) if hint else ""
        info(f"warning: same {match['same']} as {kind} {match['id']} "
             f"({visible(str(match['name']))}); added anyway{extra}")  # fmt: skip


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


# -- several ids: `crm customer edit 3 5 8 …`, `… -f ids | crm customer edit - …` -------------

MAX_ID = 2**63 - 1  # SQLite's largest integer
SHOWN_IDS = 10  # a batch's message lists this many ids


def ids_argument(noun: str) -> Any:
    """The ID... argument of show/edit/delete/done: one id, several, or ``-`` for stdin."""
    return typer.Argument(
        metavar="ID…",
        help=f"{noun} id; several ids, or - to read ids from stdin (one a line, as -f ids "
        "prints them), make one command and one transaction.",
        show_default=False,
    )


class Ids(list[int]):
    """The ids a command was given, in order, each once; ``many`` when the command was
    given several ids or ``-`` (a batch: JSON is an array, messages are one summary)."""

    many: bool = False


def read_ids(given: Sequence[str]) -> Ids:
    """Check and collect the ids of an ID... argument; ``-`` reads stdin, one id a line
    (blank lines skipped).  A bad id is a usage error before anything is opened."""
    ids = Ids()
    ids.many = len(given) > 1 or "-" in given
    seen: set[int] = set()
    if list(given).count("-") > 1:
        raise UsageError("give - (ids from stdin) once")
    for text in given:
        if text == "-":
            for number, line in enumerate(sys.stdin, 1):
                line = line.strip()
                if line:
                    _add_id(ids, seen, line, f"ID on stdin line {number}")
        else:
            _add_id(ids, seen, text.strip(), "ID")
    return ids


def _add_id(ids: Ids, seen: set[int], text: str, field: str) -> None:
    if not (text.isascii() and text.isdigit() and len(text) < 20) or not 0 < int(text) <= MAX_ID:
        raise InvalidValue(field, text, "not an id (a whole number from 1)")
    ident = int(text)
    if ident not in seen:
        seen.add(ident)
        ids.append(ident)


def no_ids(ids: Ids) -> bool:
    """True (after saying so) when ``-`` brought no ids: nothing to do, and no error."""
    if ids:
        return False
    info("no ids on stdin: nothing to do")
    return True


def shown_records(given: Sequence[str], show: Callable[[Any, int], T]) -> tuple[Ids, list[T]]:
    """The ids of a ``show`` and their records, every one read before anything is printed
    (an unknown id prints nothing); no records when ``-`` brought no ids."""
    ids = read_ids(given)
    if no_ids(ids):
        return ids, []
    db = database()
    return ids, [show(db, ident) for ident in ids]


@contextmanager
def naming(noun: str, ident: int, ids: Ids) -> Iterator[None]:
    """In a batch, an error about one record names it (``customer 12: invalid …``)."""
    try:
        yield
    except CrmError as exc:
        if ids.many and not isinstance(exc, NotFound):
            exc.message = f"{noun} {ident}: {exc.message}"
        raise


def id_list(ids: Sequence[int]) -> str:
    """``3, 5, 8`` or ``3, 5, 8, … (12,000 in all)``."""
    shown = ", ".join(str(i) for i in ids[:SHOWN_IDS])
    return shown if len(ids) <= SHOWN_IDS else f"{shown}, … ({len(ids):,} in all)"


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def batch_info(verb: str, noun: str, ids: Sequence[int]) -> None:
    """The one message of a batch: ``Updated 3 customers: 3, 5, 8``."""
    info(f"{verb} {plural(len(ids), noun)}: {id_list(ids)}")


def confirm_delete(ids: Ids, noun: str, labels: Sequence[str], *, tail: str = "",
                   yes: bool) -> None:  # fmt: skip
    """Ask once before deleting one record or a batch: ``Delete 3 customers (An, Bình,
    Cường …) and their history?``; ``labels`` name the records, ``tail`` says what goes
    with them."""
    if ids.many:
        names = ", ".join(labels[:3]) + (" …" if len(labels) > 3 else "")
        what = f"{plural(len(ids), noun)} ({names})"
    else:
        what = f"{noun} {ids[0]} ({labels[0]})"
    confirm(f"Delete {what}{tail}?", yes=yes)


def deleted(ids: Ids, noun: str, labels: Sequence[str], *, tail: str = "") -> None:
    """The message after a delete: ``Deleted customer 4: An`` or ``Deleted 3 customers: …``."""
    if ids.many:
        info(f"Deleted {plural(len(ids), noun)}{tail}: {id_list(ids)}")
    else:
        info(f"Deleted {noun} {ids[0]}: {labels[0]}{tail}")
