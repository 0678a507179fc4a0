"""``crm remind due`` (the cron digest) and ``crm remind export --ics``.

Kept apart from the reminder commands: ``remind due`` runs every morning from cron, so its
module loads nothing it does not use.
"""

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from crmcli.cli.options import ForceOpt, FormatOpt, database, fmt_of
from crmcli.errors import UsageError

TABLE_COLUMNS = ("due", "status", "text", "who")  # the text names the kind and the id


def due(
    within: Annotated[
        str | None,
        typer.Option(
            "--within",
            metavar="DURATION",
            help="Also what falls due this far ahead: 3d, 1w, 12h.",
            show_default=False,
        ),
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--kind",
            "-k",
            metavar="KIND",
            help="Only these kinds (repeatable or comma-separated): reminder, ticket, deal, "
            "invoice (or payment), contract, birthday, cadence, lead, delivery.",
            show_default=False,
        ),
    ] = None,
    exit_code: Annotated[
        bool,
        typer.Option("--exit-code", help="Exit 1 when nothing is due (for `&& notify`)."),
    ] = False,
    fmt: FormatOpt = None,
) -> None:
    """What is overdue or due today, from every source, one line each.

    Reminders, birthdays, customers past their contact cadence, leads not contacted for
    stale_lead_days, open deals past their close date, invoices due (with what is still
    owed), contracts
    whose notice (contract_notice_days before they end) has begun, tickets past due,
    line items not delivered by their delivery date (deals not lost).
    Later items only with --within.  Prints nothing when nothing is due, so cron mails
    nothing.  In a crontab: 0 8 * * * crm remind due

    An item's id is the id of its kind's record (invoices: the invoice; contracts: the deal;
    birthdays and cadences: the customer; deliveries: the line item), so -f ids needs
    --kind kinds of one record.

    Example: crm remind due --within 3d

    Example: crm remind due --kind reminder -f ids | crm remind done -
    """
    from crmcli.core import due as core

    kinds = core.parse_kinds(kind or ())
    out = None if fmt is None else fmt_of(fmt)
    if out == "ids" and core.record_of(kinds) is None:
        raise UsageError(
            "-f ids: due items name reminders, tickets, deals, invoices, customers, leads and "
            "line items by their ids; choose kinds of one record with --kind (reminder; "
            "ticket; invoice; deal,contract; birthday,cadence; lead; delivery), or use -f tsv "
            "(kind and id in columns)"
        )
    db = database()
    items = core.collect(db, within=within, kinds=kinds)
    if out is None and not _terminal():  # cron: plain lines
        count = core.write_lines(items, sys.stdout)
    else:  # a terminal: a table that fits it
        count = emit_due(items, out or fmt_of(None))
    if exit_code and count == 0:
        raise typer.Exit(1)


def export(
    ics: Annotated[
        str,
        typer.Option(
            "--ics",
            metavar="FILE",
            help="Write an iCalendar (RFC 5545) file; '-' for stdout.",
            show_default=False,
        ),
    ],
    force: ForceOpt = False,
) -> None:
    """Export reminders, birthdays, deal close dates and ticket due times as a calendar.

    Every event keeps a stable UID, so importing a new export updates the events instead
    of duplicating them.

    Example: crm remind export --ics ~/crm.ics
    """
    from crmcli.core.ics import write_calendar

    db = database()
    if ics == "-":
        import io

        # RFC 5545 wants UTF-8 and CRLF whatever the terminal's encoding or platform.
        sys.stdout.flush()
        stream = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
        try:
            write_calendar(db, stream)
            stream.flush()
        finally:
            stream.detach()
        return
    from crmcli.cli.options import info
    from crmcli.io.tabular import atomic_output

    with atomic_output(Path(ics).expanduser(), force=force) as out:
        count = write_calendar(db, out)
    info(f"Wrote {count} event{'' if count == 1 else 's'} to {ics}")


def emit_due(items: list[Any], fmt: str, title: str | None = None) -> int:
    """Due items as records in ``fmt``; on a terminal, a table that fits its width."""
    from crmcli.core import due as core
    from crmcli.render import emit

    return emit(
        core.records(items),
        core.COLUMNS,
        fmt,
        table_columns=TABLE_COLUMNS,
        title=title,
        keep=("due", "text"),
        drop=("who", "status"),
    )


def _terminal() -> bool:
    """stdout is a terminal (asked here: the rendering layer costs a plain digest ≈ 1 ms)."""
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False
