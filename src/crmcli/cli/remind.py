"""``crm remind …``: reminders with recurrence, and the daily digest for cron."""

from collections.abc import Iterable, Iterator
from typing import Annotated, Any

import typer

from crmcli.cli.followup import announce, date_order, first_line
from crmcli.cli.options import (
    FormatOpt,
    LimitOpt,
    RawOpt,
    YesOpt,
    cap_table,
    confirm_delete,
    database,
    deleted,
    fetch_limit,
    fmt_of,
    group,
    id_list,
    ids_argument,
    info,
    no_ids,
    opt,
    plural,
    read_ids,
)
from crmcli.cli.remind_due import due, export

app = group("Reminders with recurrence, and the daily digest for cron (crm remind due).")
app.command("due")(due)
app.command("export")(export)

TABLE_COLUMNS = ("id", "due", "text", "for", "every")

IdArg = Annotated[int, typer.Argument(metavar="ID", help="Reminder id.", show_default=False)]
IdsArg = Annotated[list[str], ids_argument("Reminder")]


@app.command("add")
def add(
    text: Annotated[str, typer.Argument(help="What to do.", show_default=False)],
    at: Annotated[
        str,
        opt(
            "When: 'tomorrow 9am', 'next friday', 'in 2 hours', 2026-12-01 (a date alone "
            "is 09:00).",
            "--at",
        ),
    ],  # fmt: skip
    customer: Annotated[int | None, opt("For this customer.", "--customer", "-c")] = None,
    lead: Annotated[int | None, opt("For this lead.", "--lead")] = None,
    deal: Annotated[int | None, opt("For this deal.", "--deal")] = None,
    ticket: Annotated[int | None, opt("For this ticket.", "--ticket")] = None,
    every: Annotated[
        str | None,
        opt(
            "Repeat: daily, weekly, 'every 2 weeks', monthly, yearly, 'every weekday', "
            "'every mon,thu', or an RRULE (FREQ=MONTHLY;BYDAY=1MO).",
            "--every",
        ),
    ] = None,  # fmt: skip
) -> None:
    """Add a reminder, once or repeating; prints its id and says on stderr when it is due.

    A monthly reminder on the 29th-31st falls on the last day of shorter months; repeats
    keep their local time of day across DST changes.

    Example: crm remind add "Call An about the quote" --at "next monday" -c 42 --every monthly
    """
    from crmcli.core import reminders as core

    link = core.check_link(customer=customer, lead=lead, deal=deal, ticket=ticket)
    db = database(create=True)
    data = core.prepare(text, core.parse_at(at, order=date_order(db)), every)
    with db.write():
        reminder_id = core.add(db, data, link=link)
        record = core.get(db, reminder_id)
    print(reminder_id)
    announce(reminder_id, record, data)


def for_table(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Reminders as a person reads them: the due time local with its weekday, overdue marked."""
    from crmcli.core.reminders import when_text
    from crmcli.render import late

    for row in rows:
        row["due"] = late(when_text(row["due_at"]), row["overdue"])
        yield row


@app.command("list")
def list_(
    overdue: Annotated[bool, typer.Option("--overdue", help="Only those past due.")] = False,
    today: Annotated[
        bool, typer.Option("--today", help="Due by the end of today (overdue included).")
    ] = False,
    week: Annotated[
        bool,
        typer.Option("--week", help="Due by the end of the 7th day from today (overdue included)."),
    ] = False,
    all_: Annotated[bool, typer.Option("--all", help="Include done reminders.")] = False,
    customer: Annotated[
        int | None, opt("Only this customer's reminders.", "--customer", "-c")
    ] = None,
    limit: LimitOpt = None,
    fmt: FormatOpt = None,
    raw: RawOpt = False,
) -> None:
    """List pending reminders, soonest first (times are local in a table, UTC in tsv/json).

    Example: crm remind list --week
    """
    from crmcli.core import reminders as core
    from crmcli.errors import UsageError
    from crmcli.render import emit

    chosen = [name for name, on in (("overdue", overdue), ("today", today), ("week", week),
                                    ("all", all_)) if on]  # fmt: skip
    if len(chosen) > 1:
        raise UsageError("use one of --overdue, --today, --week, --all")
    window = chosen[0] if chosen and chosen[0] != "all" else None
    out = fmt_of(fmt)
    rows: Iterable[dict[str, Any]] = core.list_reminders(
        database(), window=window, include_done=all_, customer_id=customer,
        limit=fetch_limit(out, limit),
    )  # fmt: skip
    columns = TABLE_COLUMNS + (("done_at",) if all_ else ())
    if out == "table":
        rows = for_table(cap_table(rows, out, limit))
    empty = {"overdue": "nothing is overdue", "today": "nothing due today",
             "week": "nothing due this week"}.get(window or "", "no reminders")  # fmt: skip
    emit(rows, core.COLUMNS, out, table_columns=columns, raw=raw, empty_message=empty,
         alert="overdue", drop=("every", "for"))  # fmt: skip


@app.command("done")
def done(reminder_ids: IdsArg) -> None:
    """Mark reminders done; a repeating one moves to its next time instead.

    The next time comes after both the current due time and now, so an overdue daily
    reminder does not leave a trail of repeats, and a monthly one done early is not due
    again the same month.

    Example: crm remind done 4    (several: crm remind done 4 5, or ids on stdin: -)
    """
    from crmcli.core import reminders as core

    ids = read_ids(reminder_ids)
    if no_ids(ids):
        return
    db = database()
    with db.write():
        results = [core.done(db, reminder_id) for reminder_id in ids]
    if ids.many:
        moved = sum(r.next_at is not None for r in results)
        again = f" ({plural(moved, 'repeating one')} moved to the next time)" if moved else ""
        info(f"Done {plural(len(ids), 'reminder')}{again}: {id_list(ids)}")
        return
    result = results[0]
    if result.next_at is not None:
        info(f"Reminder {ids[0]} done; next: {core.when_text(result.next_at)}")
    elif result.record["rule"]:
        info(f"Reminder {ids[0]} done; that was its last time")
    else:
        info(f"Reminder {ids[0]} done: {first_line(result.record['text'])}")


@app.command("snooze")
def snooze(
    reminder_id: IdArg,
    when: Annotated[
        str,
        typer.Argument(
            metavar="WHEN",
            help="A length of time from now (2h, 3d, 1w) or a time ('tomorrow 9am').",
            show_default=False,
        ),
    ],
) -> None:
    """Put a reminder off until later; a repeating one keeps its rule and anchor.

    Example: crm remind snooze 4 2h
    """
    from crmcli.core import reminders as core

    db = database()
    until = core.parse_snooze(when, order=date_order(db))
    with db.write():
        core.snooze(db, reminder_id, until)
    info(f"Reminder {reminder_id} snoozed to {core.when_text(until, offset=True)}")


@app.command("delete")
def delete(reminder_ids: IdsArg, yes: YesOpt = False) -> None:
    """Delete reminders (a repeating one with all its future times).

    Example: crm remind delete 4 --yes    (several: 4 5, or - for ids on stdin)
    """
    from crmcli.core import reminders as core

    ids = read_ids(reminder_ids)
    if no_ids(ids):
        return
    db = database()
    texts = [first_line(core.get(db, reminder_id)["text"], 40) for reminder_id in ids]
    confirm_delete(ids, "reminder", texts, yes=yes)
    with db.write():
        for reminder_id in ids:
            core.delete(db, reminder_id)
    deleted(ids, "reminder", texts)
