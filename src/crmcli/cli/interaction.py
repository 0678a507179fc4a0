"""``crm interaction …``: calls, e-mails, meetings and notes as records of their own."""

from collections.abc import Iterable, Iterator
from typing import Annotated, Any

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
    parse_when,
    read_ids,
    shown_records,
)
from crmcli.core import interactions as core
from crmcli.errors import UsageError

app = group(
    "Calls, e-mails, meetings and notes: find, fix, delete.\n\n"
    "They are logged with crm customer log and crm lead log."
)

TABLE_COLUMNS = ("id", "happened_at", "type", "with", "body")

IdsArg = Annotated[list[str], ids_argument("Interaction")]
TypeHelp = f"One of {', '.join(core.TYPES)}"


def _with(record: dict[str, Any]) -> str:
    """Who an interaction was with, for a table: ``An (42)`` or ``lead Mai (7)``."""
    if record["customer_id"] is not None:
        return f"{record['customer']} ({record['customer_id']})"
    if record["lead_id"] is not None:
        return f"lead {record['lead']} ({record['lead_id']})"
    return ""


def _for_table(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    from crmcli.cli.followup import first_line

    for row in rows:
        yield {**row, "with": _with(row), "body": first_line(row["body"], 200)}


@app.command("list")
def list_(
    customer: Annotated[
        int | None, opt("Only this customer's interactions.", "--customer", "-c")
    ] = None,
    lead: Annotated[int | None, opt("Only this lead's interactions.", "--lead", "-l")] = None,
    kind: Annotated[
        list[str] | None,
        opt(f"Only this type: {', '.join(core.TYPES)} (repeat, or a,b).", "--type", "-t"),
    ] = None,
    since: Annotated[
        str | None,
        opt("On or after this date or time: 2026-11-01, 'last monday', '2 weeks ago'."),
    ] = None,
    until: Annotated[
        str | None,
        opt("Up to this date (the whole day) or time: 2026-11-30, yesterday, 'today 12:00'."),
    ] = None,
    search: Annotated[
        str | None,
        opt("Words in the text (accents and case ignored: nguyen finds Nguyễn).", "--search", "-s"),
    ] = None,
    limit: LimitOpt = None,
    fmt: FormatOpt = None,
    raw: RawOpt = False,
) -> None:
    """List interactions, newest first, with filters.

    Filter by customer, lead, type, time (--since/--until: a date stands for its whole
    day) and words in the text.

    Example: crm interaction list --customer 42 --type call --since "1 month ago"

    Example: crm interaction list --search "báo giá" --until yesterday -f json
    """
    from crmcli.render import emit

    out = fmt_of(fmt)
    kinds = core.check_types(kind or ())
    if search is not None:
        core.check_search(search)  # a bad search is a usage error before anything is opened
    db = database()
    if since is not None or until is not None:
        from crmcli.cli.followup import date_order

        order = date_order(db)
        first = None if since is None else core.bound(since, "--since", order=order, end=False)
        last = None if until is None else core.bound(until, "--until", order=order, end=True)
        if first is not None and last is not None and first >= last:
            raise UsageError(f"--since {since} is not before --until {until}")
    else:
        first = last = None
    rows: Iterable[dict[str, Any]] = core.list_interactions(
        db, customer_id=customer, lead_id=lead, types=kinds, since=first, until=last,
        search=search, limit=fetch_limit(out, limit),
    )  # fmt: skip
    rows = cap_table(rows, out, limit)
    if out == "table":
        rows = _for_table(rows)
    emit(rows, core.COLUMNS, out, table_columns=TABLE_COLUMNS, raw=raw,
         empty_message="no interactions match")  # fmt: skip


@app.command("show")
def show(interaction_ids: IdsArg, fmt: FormatOpt = None, raw: RawOpt = False) -> None:
    """Show interactions: type, when, with whom, the whole text.

    Example: crm interaction show 12    (several: 12 13, or ids on stdin: -)
    """
    from crmcli.render import emit_records

    ids, records = shown_records(interaction_ids, core.show)
    if not records:
        return
    emit_records(records, fmt_of(fmt), many=ids.many, columns=core.COLUMNS, raw=raw)


@app.command("edit")
def edit(
    interaction_ids: IdsArg,
    body: Annotated[str | None, opt("Replace the text.")] = None,
    kind: Annotated[str | None, opt(f"{TypeHelp}.", "--type", "-t")] = None,
    at: Annotated[
        str | None, opt("When it happened: 'yesterday 15:00', 2026-11-20 (local time).")
    ] = None,
) -> None:
    """Correct interactions: their text, type or time.

    The customer's or lead's last contact follows (it is their latest interaction), and
    crm undo takes the change back.  Several ids (or - for ids on stdin) change together
    in one transaction: all or none.

    Example: crm interaction edit 12 --type meeting --at "2026-11-20 14:30"
    """
    if body is None and kind is None and at is None:
        raise UsageError("nothing to change: give --body, --type or --at")
    new_body = None if body is None else core.check_body(body)
    new_kind = None if kind is None else core.check_type(kind)
    ids = read_ids(interaction_ids)
    if no_ids(ids):
        return
    db = database()
    happened = None if at is None else parse_when(at, "--at", db)
    with db.write():
        for interaction_id in ids:
            with naming("interaction", interaction_id, ids):
                record, changed = core.update(
                    db, interaction_id, body=new_body, kind=new_kind, happened_at=happened
                )
    if ids.many:
        batch_info("Updated", "interaction", ids)
    elif changed:
        info(f"Updated interaction {ids[0]} ({core.label(record)}): {', '.join(changed)}")
    else:
        info(f"Interaction {ids[0]} already reads so: nothing changed")


@app.command("delete")
def delete(interaction_ids: IdsArg, yes: YesOpt = False) -> None:
    """Delete interactions (crm undo brings them back).

    The customer's or lead's last contact becomes their latest remaining interaction.

    Example: crm interaction delete 12 --yes    (several: 12 13, or - for ids on stdin)
    """
    ids = read_ids(interaction_ids)
    if no_ids(ids):
        return
    db = database()
    labels = [core.label(core.get(db, interaction_id)) for interaction_id in ids]
    back = "them" if ids.many else "it"
    confirm_delete(ids, "interaction", labels, tail=f"; crm undo brings {back} back", yes=yes)
    with db.write():
        for interaction_id in ids:
            core.delete(db, interaction_id)
    deleted(ids, "interaction", labels)
