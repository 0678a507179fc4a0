"""``crm ticket …``: support tickets with priorities, SLA due times, escalation, a thread."""

from collections.abc import Iterable, Iterator
from typing import Annotated, Any

import typer

from crmcli.cli.options import (
    FormatOpt,
    LimitOpt,
    RawOpt,
    YesOpt,
    batch_info,
    cap_table,
    confirm_delete,
    database,
    deleted,
    fetch_limit,
    fmt_of,
    group,
    ids_argument,
    info,
    naming,
    no_ids,
    opt,
    read_ids,
    shown_records,
)
from crmcli.core import tickets as core
from crmcli.text import split_list

app = group("Support tickets: priorities, SLA due times, escalation, the whole thread.")

TABLE_COLUMNS = ("id", "customer", "subject", "priority", "status", "tier", "due", "overdue")
TABLE_DROP = ("tier", "overdue", "status", "customer")  # first to go when narrow
THREAD_TABLE_COLUMNS = ("at", "kind", "change", "body")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

IdArg = Annotated[int, typer.Argument(metavar="ID", help="Ticket id.", show_default=False)]
IdsArg = Annotated[list[str], ids_argument("Ticket")]


Note = Annotated[str | None, opt("A note for the thread (why, what was done …).")]
Due = Annotated[
    str | None,
    opt(
        "Due time: 'tomorrow 9am', 'friday', 'in 2 days', 2026-12-01 14:00; a date without "
        "a time means 17:00 that day."
    ),
]
Priority = Annotated[str | None, opt("low, normal, high or urgent.")]
CustomerFilter = Annotated[int | None, opt("Only this customer's tickets.", "--customer", "-c")]


def _local(utc: str) -> str:
    """Stored UTC text as a person reads it: ``Tue 2026-11-24 10:00`` (local time)."""
    from crmcli.dates import from_utc_iso

    moment = from_utc_iso(utc).astimezone()
    return f"{_WEEKDAYS[moment.weekday()]} {moment:%Y-%m-%d %H:%M}"


def _text(value: str) -> str:
    from crmcli.text import visible

    return visible(value)


def _due(db: Any, text: str) -> str:
    from crmcli.core.settings import load

    return core.parse_due(text, order=load(db).date_order)


def _due_note(ticket: dict[str, Any]) -> str:
    late = " (already overdue)" if ticket["overdue"] else ""
    return f"due {_local(ticket['due_at'])}{late}"


def for_table(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Tickets as a person reads them: the due time local with its weekday, overdue marked."""
    from crmcli.render import late

    for row in rows:
        row["due"] = late(_local(row["due_at"]) if row.get("due_at") else "", row.get("overdue"))
        row["overdue"] = "overdue" if row.get("overdue") else ""
        yield row


def _change(event: dict[str, Any]) -> str:
    if event["kind"] == "status":
        return f"{event['from_value']} → {event['to_value']}"
    if event["kind"] == "escalation":
        return f"tier {event['from_value']} → {event['to_value']}"
    return ""


@app.command("open")
def open_(
    customer_id: Annotated[
        int, typer.Argument(metavar="CUSTOMER_ID", help="Customer id.", show_default=False)
    ],
    subject: Annotated[
        str, typer.Argument(metavar="SUBJECT", help="What it is about.", show_default=False)
    ],
    priority: Annotated[str, typer.Option(help="low, normal, high or urgent.")] = "normal",
    due: Due = None,
    description: Annotated[str | None, opt("The details.")] = None,
) -> None:
    """Open a ticket for a customer; prints the new id.

    Without --due it is due after the priority's SLA (crm config: sla_urgent 4h, sla_high
    1d, sla_normal 3d, sla_low 7d by default).

    Example: crm ticket open 42 "Laptop does not boot" --priority high
    """
    level = core.check_priority(priority)
    db = database(create=True)
    due_at = _due(db, due) if due is not None else None
    with db.write():
        ticket_id = core.open_ticket(
            db, customer_id, subject, priority=level, due_at=due_at, description=description
        )
        ticket = core.get(db, ticket_id)
    print(ticket_id)
    info(f"Opened ticket {ticket_id} for {_text(ticket['customer'])}, {level}, "
         f"{_due_note(ticket)}")  # fmt: skip


@app.command("list")
def list_(
    status: Annotated[
        list[str] | None,
        opt(
            "Only this status: open, pending, resolved, closed (repeat, or a,b).", "--status", "-s"
        ),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", "-a", help="Every status.")] = False,
    priority: Annotated[
        list[str] | None, opt("Only this priority (repeat, or a,b).", "--priority", "-p")
    ] = None,
    customer: CustomerFilter = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only open tickets past their due time.")
    ] = False,
    sort: Annotated[
        str | None, opt("Sort by due (default), priority, created, updated, id; -due: descending.")
    ] = None,
    limit: LimitOpt = None,
    fmt: FormatOpt = None,
    raw: RawOpt = False,
) -> None:
    """List tickets: by default the unresolved ones (open and pending), soonest due first.

    Overdue means open and past its due time; a pending ticket waits on the customer and is
    never overdue.

    Example: crm ticket list --overdue --priority high,urgent
    """
    from crmcli.errors import UsageError
    from crmcli.render import emit

    if all_ and status:
        raise UsageError("use --all or --status, not both")
    statuses = split_list(status) if status else ([] if all_ else list(core.UNRESOLVED))
    priorities = split_list(priority or [])
    for name in statuses:
        core.check_status(name)
    for name in priorities:
        core.check_priority(name)
    if sort:
        core.parse_sort(sort)
    out = fmt_of(fmt)
    rows: Iterable[dict[str, Any]] = core.list_tickets(
        database(), statuses=statuses, priorities=priorities, customer_id=customer,
        overdue=overdue, sort=sort, limit=fetch_limit(out, limit),
    )  # fmt: skip
    if out == "table":
        rows = for_table(cap_table(rows, out, limit))
    emit(rows, core.COLUMNS, out, table_columns=TABLE_COLUMNS, raw=raw,
         empty_message="no tickets match", alert="overdue", drop=TABLE_DROP)  # fmt: skip


@app.command("show")
def show(ticket_ids: IdsArg, fmt: FormatOpt = None, raw: RawOpt = False) -> None:
    """Show tickets: every field and the thread (comments, status changes, escalations).

    Example: crm ticket show 3    (several: crm ticket show 3 4, or ids on stdin: -)
    """
    from crmcli.render import emit_records

    ids, records = shown_records(ticket_ids, core.show)
    if not records:
        return
    out = fmt_of(fmt)
    columns: tuple[str, ...] = core.COLUMNS
    if out == "table":
        records = list(for_table(records))
        columns = tuple("due" if c == "due_at" else c for c in core.COLUMNS)
        for record in records:
            for event in record["thread"]:
                event["change"] = _change(event)
                event["at"] = _local(event["at"])
    emit_records(
        records,
        out,
        many=ids.many,
        columns=columns,
        sections={"thread": ("Thread", THREAD_TABLE_COLUMNS)},
        raw=raw,
    )


@app.command("comment")
def comment(
    ticket_id: IdArg,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The comment.", show_default=False)],
) -> None:
    """Add a comment to an open or pending ticket's thread (its status does not change).

    Example: crm ticket comment 3 "Asked for the serial number"
    """
    db = database()
    with db.write():
        ticket = core.comment(db, ticket_id, text)
    info(f"Commented on ticket {ticket_id}: {_text(ticket['subject'])}")


@app.command("escalate")
def escalate(ticket_id: IdArg, note: Note = None) -> None:
    """Escalate an open or pending ticket from tier 1 to tier 2.

    Example: crm ticket escalate 3 --note "needs an engineer on site"
    """
    db = database()
    with db.write():
        ticket = core.escalate(db, ticket_id, note=note)
    info(f"Escalated ticket {ticket_id} to tier {ticket['tier']}: {_text(ticket['subject'])}")


def _status(ticket_id: int, to: str, note: str | None, satisfaction: str | None = None) -> Any:
    score = core.check_satisfaction(satisfaction) if satisfaction is not None else None
    db = database()
    with db.write():
        return core.change_status(db, ticket_id, to, note=note, satisfaction=score)


@app.command("pending")
def pending(ticket_id: IdArg, note: Note = None) -> None:
    """Set an open ticket pending: waiting on the customer (the SLA clock pauses).

    crm ticket reopen takes it back to open, its due time moved on by the time it waited.

    Example: crm ticket pending 3 --note "asked for a photo of the error"
    """
    _, ticket = _status(ticket_id, "pending", note)
    info(f"Ticket {ticket_id} is pending (waiting on the customer): {_text(ticket['subject'])}")


Satisfaction = Annotated[
    str | None,
    typer.Option(
        "--satisfaction",
        metavar="N",
        help="The customer's satisfaction, 1 (poor) to 5 (great).",
        show_default=False,
    ),
]


def _score(ticket: Any) -> str:
    return f" (satisfaction {ticket['satisfaction']}/5)" if ticket["satisfaction"] else ""


@app.command("resolve")
def resolve(ticket_id: IdArg, satisfaction: Satisfaction = None, note: Note = None) -> None:
    """Resolve an open or pending ticket, with the customer's score if you have it.

    Example: crm ticket resolve 3 --note "replaced the power supply" --satisfaction 5
    """
    _, ticket = _status(ticket_id, "resolved", note, satisfaction)
    info(f"Resolved ticket {ticket_id}: {_text(ticket['subject'])}{_score(ticket)}")


@app.command("close")
def close(ticket_id: IdArg, satisfaction: Satisfaction = None, note: Note = None) -> None:
    """Close a ticket (resolved, or open/pending without a resolution step).

    Example: crm ticket close 3 --satisfaction 5
    """
    _, ticket = _status(ticket_id, "closed", note, satisfaction)
    info(f"Closed ticket {ticket_id}: {_text(ticket['subject'])}{_score(ticket)}")


@app.command("reopen")
def reopen(ticket_id: IdArg, note: Note = None) -> None:
    """Reopen a resolved or closed ticket (new SLA due time from now), or take a pending one
    back to open when the customer answers (due time moved on by the time it waited).

    Example: crm ticket reopen 3 --note "the laptop fails again"
    """
    before, ticket = _status(ticket_id, "open", note)
    if before == "pending":
        info(f"Ticket {ticket_id} is open again (was pending), {_due_note(ticket)}")
    else:
        times = "once" if ticket["reopened"] == 1 else f"{ticket['reopened']} times"
        info(f"Reopened ticket {ticket_id} (reopened {times}), {_due_note(ticket)}")


@app.command("edit")
def edit(
    ticket_ids: IdsArg,
    subject: Annotated[str | None, opt("What it is about.")] = None,
    priority: Priority = None,
    due: Due = None,
    description: Annotated[str | None, opt("Replace the details ('' clears them).")] = None,
) -> None:
    """Change tickets' subject, priority, due time or description.

    A new --priority does not move the due time; give --due for that.  Several ids (or -
    for ids on stdin) change together in one transaction: all or none.

    Example: crm ticket edit 3 --priority urgent --due "today 17:00"
    """
    ids = read_ids(ticket_ids)
    if no_ids(ids):
        return
    db = database()
    due_at = _due(db, due) if due is not None else None
    with db.write():
        for ticket_id in ids:
            with naming("ticket", ticket_id, ids):
                ticket = core.edit(db, ticket_id, subject=subject, priority=priority,
                                   due_at=due_at, description=description)  # fmt: skip
    if ids.many:
        batch_info("Updated", "ticket", ids)
    else:
        info(f"Updated ticket {ids[0]}: {_text(ticket['subject'])} ({ticket['priority']}, "
             f"{_due_note(ticket)})")  # fmt: skip


@app.command("delete")
def delete(ticket_ids: IdsArg, yes: YesOpt = False) -> None:
    """Delete tickets with their threads.

    Example: crm ticket delete 3 --yes    (several: 3 4, or - for ids on stdin)
    """
    ids = read_ids(ticket_ids)
    if no_ids(ids):
        return
    db = database()
    subjects = [_text(core.get(db, ticket_id)["subject"]) for ticket_id in ids]
    confirm_delete(ids, "ticket", subjects, tail=" and the thread" if not ids.many else
                   " and their threads", yes=yes)  # fmt: skip
    with db.write():
        for ticket_id in ids:
            core.delete(db, ticket_id)
    deleted(ids, "ticket", subjects)
