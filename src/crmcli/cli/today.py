"""``crm today``: the one screen a seller opens in the morning."""

import sys
from typing import Any

import typer

from crmcli.cli.options import FormatOpt, RawOpt, database, fmt_of, info
from crmcli.errors import UsageError

app = typer.Typer(rich_markup_mode=None)

ITEM_TABLE: tuple[str, ...] = ("due", "status", "text", "who")
NUMBER_TABLES = {
    "pipeline": ("Open pipeline", ("currency", "deals", "total", "weighted")),
    "won_this_month": ("Won in {month}", ("currency", "deals", "total")),
}


@app.command("today")
def today(fmt: FormatOpt = None, raw: RawOpt = False) -> None:
    """The morning screen: what is due, and the day's numbers.

    Overdue and today's reminders, birthdays this week, deals past or near their close
    date, tickets past due or near their SLA, stale leads, payments due, customers due a
    contact, contracts to renew, and the day's numbers (the open pipeline and what was
    won this month, per currency).  Also line items to deliver, overdue or due today.

    On a terminal only the parts with something in them are shown.  -f json is one object
    with a list per part, every part always there; tsv, csv and jsonl give a row per item
    with its part.

    Example: crm today

    Example: crm today -f json | jq '.reminders[].text'
    """
    from crmcli.core import today as core

    out = fmt_of(fmt)
    if out == "ids":
        raise UsageError(
            "-f ids: today's items name reminders, deals, customers, leads and tickets by "
            "their ids; use -f tsv (part, kind and id in columns), or crm remind due --kind "
            "KIND -f ids"
        )
    screen = core.gather(database())
    if out == "json":
        from crmcli.render import to_json_document

        sys.stdout.write(to_json_document(screen.document()) + "\n")
    elif out == "table":
        _screen(screen)
    elif out == "jsonl":  # a line per item or figure, each with its own fields only
        from crmcli.render import to_json

        sys.stdout.writelines(to_json(row) + "\n" for row in screen.rows())
    else:
        from crmcli.render import emit

        emit(screen.rows(), core.FLAT_COLUMNS, out, raw=raw)


def _screen(screen: Any) -> None:
    """The terminal screen: a table per part that has something, then the numbers."""
    from crmcli.core import today as core
    from crmcli.render import emit

    if screen.quiet:
        info(f"Nothing due today ({screen.day}), and no open deals.")
        return
    first = True
    for part in core.PARTS:
        items = screen.items[part.name]
        if not items:
            continue
        if not first:
            sys.stdout.write("\n")
        first = False
        title = part.title
        if part.name == "leads":
            title += f": no contact for {screen.stale_days} days"
        shown = list(_item_rows(items))
        who = any(row["who"] for row in shown)
        emit(shown, ITEM_TABLE if who else ITEM_TABLE[:-1], "table",
             title=f"{title} ({len(items)})")  # fmt: skip
    for name, (title, columns) in NUMBER_TABLES.items():
        rows = screen.numbers[name]
        if not rows:
            continue
        if not first:
            sys.stdout.write("\n")
        first = False
        emit(_money_rows(rows), columns, "table", title=title.format(month=screen.month))


def _item_rows(items: Any) -> Any:
    """Due items as a person reads them: local time, and each person named once."""
    from crmcli.core.due import shown_who

    for local, _, ident, kind, _, _, status, text, who, *_ in items:
        yield {"due": local, "status": status, "text": text, "who": shown_who(kind, ident, who)}


def _money_rows(rows: Any) -> Any:
    """Amounts in their currency; deals without an amount said so."""
    from crmcli.money import format_money

    for row in rows:
        shown = dict(row)
        for key in ("total", "weighted"):
            value = row.get(key)
            shown[key] = "" if value is None else format_money(value, row["currency"])
        if row["unpriced"]:
            shown["deals"] = f"{row['deals']} ({row['unpriced']} unpriced)"
        yield shown
