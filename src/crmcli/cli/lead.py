"""``crm lead …``: people who might buy, from first contact to customer (or lost)."""

from collections.abc import Iterable
from typing import Annotated, Any

import typer

from crmcli.cli.followup import NextOpt, NextTextOpt, follow_up
from crmcli.cli.options import (
    AddTags,
    Company,
    Email,
    FormatOpt,
    LimitOpt,
    Phone,
    RawOpt,
    RemoveTags,
    Tags,
    Title,
    YesOpt,
    batch_info,
    cap_table,
    confirm,
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
    plural,
    read_ids,
    shown_records,
    warn_same_contact,
)
from crmcli.core import leads as core
from crmcli.core import settings

app = group("Leads from every channel: add, qualify, log contacts, convert to customers and deals.")

TABLE_COLUMNS = (
    "id", "name", "company", "status", "score", "source", "tags", "last_contacted",
)  # fmt: skip
INTERACTION_COLUMNS = ("id", "happened_at", "type", "direction", "body")
STATUS_COLUMNS = ("changed_at", "from_status", "to_status", "reason")

IdArg = Annotated[int, typer.Argument(metavar="ID", help="Lead id.", show_default=False)]
IdsArg = Annotated[list[str], ids_argument("Lead")]


Source = Annotated[str | None, opt(f"Where the lead came from: {', '.join(core.SOURCES)}.")]
Score = Annotated[int | None, opt("How promising, 0-100.")]


def _prepare(db: Any, tags: list[str] | None, **values: str | int | None) -> core.LeadInput:
    """Validate the options given (``None``: not given) with the database's settings."""
    given = {k: v for k, v in values.items() if v is not None}
    return core.prepare(given, settings.load(db), tags=tags or ())


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Full name.", show_default=False)],
    email: Email = None,
    phone: Phone = None,
    company: Company = None,
    title: Title = None,
    source: Source = None,
    score: Score = None,
    note: Annotated[str | None, opt("A note about the lead.")] = None,
    tag: Tags = None,
) -> None:
    """Add a lead (status new); prints the new id.

    Example: crm lead add "Võ Minh Tuấn" --email tuan@example.vn --source event --score 60
    """
    db = database(create=True)
    data = _prepare(db, tag, name=name, email=email, phone=phone, company=company, title=title,
                    source=source, score=score, notes=note)  # fmt: skip
    with db.write():
        from crmcli.core.customers import same_contact

        same_leads = same_contact(db, data.values, table="leads")
        same_customers = same_contact(db, data.values)
        lead_id = core.add(db, data)
    print(lead_id)
    info(f"Added lead {lead_id}: {data.values['name']}")
    warn_same_contact(same_leads, "lead")
    warn_same_contact(same_customers, "customer", " (already a customer)")


@app.command("list")
def list_(
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            help=f"Only this status (repeat, or a,b): {', '.join(core.STATUSES)}.",
        ),
    ] = None,
    source: Annotated[
        list[str] | None,
        typer.Option("--source", help="Only this source (repeat, or a,b)."),
    ] = None,
    tag: Tags = None,
    company: Annotated[
        str | None,
        opt("Company has these words (accents, case ignored)."),
    ] = None,
    search: Annotated[
        str | None,
        typer.Option(
            "--search",
            "-s",
            help="Words in name, e-mail, phone, company, notes or interactions "
            "(accents and case ignored).",
            show_default=False,
        ),
    ] = None,
    sort: Annotated[
        str | None,
        opt(f"Sort by {', '.join(core.SORTS)}; a leading - sorts descending (-score)."),
    ] = None,
    limit: LimitOpt = None,
    fmt: FormatOpt = None,
    raw: RawOpt = False,
) -> None:
    """List leads, filtered and sorted.

    Example: crm lead list --status new,contacted --sort -score
    """
    from crmcli.render import emit

    out = fmt_of(fmt)
    filters: dict[str, Any] = {
        "statuses": status or (), "sources": source or (), "tags": tag or (),
        "company": company, "search": search, "sort": sort,
    }  # fmt: skip
    core.list_query(**filters)  # bad filters are usage errors before anything is opened
    rows: Iterable[dict[str, Any]] = core.list_leads(
        database(), **filters, limit=fetch_limit(out, limit)
    )
    rows = cap_table(rows, out, limit)
    emit(rows, core.COLUMNS, out, table_columns=TABLE_COLUMNS, raw=raw,
         empty_message="no leads match")  # fmt: skip


@app.command("show")
def show(lead_ids: IdsArg, fmt: FormatOpt = None, raw: RawOpt = False) -> None:
    """Show leads: every field, tags, interactions and the history of their status.

    Example: crm lead show 7    (several: crm lead show 7 8, or ids on stdin: -)
    """
    from crmcli.render import emit_records

    ids, records = shown_records(lead_ids, core.show)
    if not records:
        return
    emit_records(
        records,
        fmt_of(fmt),
        many=ids.many,
        columns=core.COLUMNS,
        sections={
            "interactions": ("Interactions", INTERACTION_COLUMNS),
            "status_changes": ("Status history", STATUS_COLUMNS),
        },
        raw=raw,
    )


@app.command("edit")
def edit(
    lead_ids: IdsArg,
    name: Annotated[str | None, opt("Full name.")] = None,
    email: Email = None,
    phone: Phone = None,
    company: Company = None,
    title: Title = None,
    source: Source = None,
    score: Score = None,
    note: Annotated[str | None, opt("Replace the note.")] = None,
    add_tag: AddTags = None,
    remove_tag: RemoveTags = None,
    unset: Annotated[
        list[str] | None,
        typer.Option("--unset", help=f"Clear a field: {', '.join(core.UNSETTABLE)}."),
    ] = None,
) -> None:
    """Change leads' fields or tags (the status changes with crm lead status).

    Several ids (or - for ids on stdin) change together in one transaction: all or none.

    Example: crm lead edit 7 --score 80 --company "Huế Coffee" --add-tag hot
    """
    ids = read_ids(lead_ids)
    if no_ids(ids):
        return
    db = database()
    data = _prepare(db, add_tag, name=name, email=email, phone=phone, company=company,
                    title=title, source=source, score=score, notes=note)  # fmt: skip
    with db.write():
        for lead_id in ids:
            with naming("lead", lead_id, ids):
                record = core.update(db, lead_id, data, remove_tags=remove_tag or (),
                                     unset=unset or ())  # fmt: skip
    if ids.many:
        batch_info("Updated", "lead", ids)
    else:
        info(f"Updated lead {ids[0]}: {record['name']}")


@app.command("delete")
def delete(lead_ids: IdsArg, yes: YesOpt = False) -> None:
    """Delete leads with their tags, status history and their own interactions.

    Interactions that also belong to a customer (after a conversion) stay with the customer.

    Example: crm lead delete 7 --yes    (several: 7 8, or - for ids on stdin)
    """
    ids = read_ids(lead_ids)
    if no_ids(ids):
        return
    db = database()
    names = [core.get(db, lead_id)["name"] for lead_id in ids]
    confirm_delete(ids, "lead", names, tail=" and their history", yes=yes)
    with db.write():
        kept = sum(core.delete(db, lead_id).interactions_kept for lead_id in ids)
    stay = "stays" if kept == 1 else "stay"
    deleted(ids, "lead", names, tail=f"; {plural(kept, 'interaction')} {stay} with the customer"
            if kept else "")  # fmt: skip


@app.command("log")
def log(
    lead_id: IdArg,
    text: Annotated[str, typer.Argument(help="What happened.", show_default=False)],
    kind: Annotated[
        str, typer.Option("--type", help="One of call, email, meeting, note.")
    ] = "note",
    at: Annotated[
        str | None, opt("When it happened (default: now): 'yesterday 15:00', 2026-11-20.")
    ] = None,
    next_: NextOpt = None,
    next_text: NextTextOpt = None,
) -> None:
    """Record a call, e-mail, meeting or note with a lead; prints its id.

    A new lead becomes contacted.  With --next, a follow-up reminder for the lead is added
    in the same step.

    Example: crm lead log 7 --type call "Interested; call back Friday" --next "friday 10am"
    """
    db = database()
    happened = parse_when(at, "--at", db) if at else None
    plan = follow_up(db, text, next_, next_text)
    with db.write():
        logged = core.log(db, lead_id, kind, text, happened)
        reminder = plan.add(db, ("lead", lead_id), logged.interaction_id)
    print(logged.interaction_id)
    info(f"Logged {kind} {logged.interaction_id} for lead {lead_id}")
    if logged.status_to:
        info(f"Lead {lead_id} is now {logged.status_to} (was {logged.status_from})")
    plan.announce(reminder)


@app.command("status")
def status(
    lead_id: IdArg,
    new_status: Annotated[
        str,
        typer.Argument(
            metavar="STATUS", help=f"One of {', '.join(core.SETTABLE)}.", show_default=False
        ),
    ],
    reason: Annotated[str | None, opt("Why (required for lost).")] = None,
    reopen: Annotated[
        bool, typer.Option("--reopen", help="Allow changing a lost or converted lead.")
    ] = False,
) -> None:
    """Move a lead to new, contacted, qualified or lost (lost needs --reason).

    A lost or converted lead changes only with --reopen; converted is set by crm lead convert.

    Example: crm lead status 7 lost --reason "chose a cheaper supplier"
    """
    target, reason = core.check_change(new_status, reason)  # before the database is opened
    db = database()
    with db.write():
        old = core.set_status(db, lead_id, target, reason=reason, reopen=reopen)
    if old == target:
        info(f"Lead {lead_id} is already {target}; nothing changed")
    else:
        info(f"Lead {lead_id}: {old} → {target}")


@app.command("convert")
def convert(
    lead_id: IdArg,
    deal: Annotated[
        str | None,
        typer.Option("--deal", metavar="TITLE", help="Also open a deal with this title."),
    ] = None,
    amount: Annotated[
        str | None, opt("Deal amount: 1200, 1,200.50, '1.200.000 VND' (needs --deal).")
    ] = None,
    stage: Annotated[str | None, opt("Deal stage (default: the first; needs --deal).")] = None,
    close: Annotated[
        str | None, opt("Expected close date: 2026-12-15, 'end of month' (needs --deal).")
    ] = None,
) -> None:
    """Turn a lead into a customer, optionally with a deal; prints the ids.

    The customer with the same e-mail is linked if there is one, else a customer is made from
    the lead; the lead's tags, interactions and pending reminders go with it.  Prints
    'customer ID' and, with
    --deal, 'deal ID', one per line.

    Example: crm lead convert 7 --deal "20 ERP seats" --amount "120.000.000 VND"
    """
    for option, value in (("--amount", amount), ("--stage", stage), ("--close", close)):
        if value is not None and deal is None:
            from crmcli.errors import UsageError

            raise UsageError(f"{option} describes the deal: add --deal TITLE")
    db = database()
    prepared = None
    if deal is not None:
        from crmcli.core import deals

        raw = {"title": deal, "amount": amount, "stage": stage, "close_date": close}
        prepared = deals.prepare(raw, settings.load(db))
    with db.write():
        done = core.convert(db, lead_id, deal=prepared)
    print(f"customer {done.customer_id}")
    if done.deal_id is not None:
        print(f"deal {done.deal_id}")
    if done.created:
        info(f"Converted lead {lead_id} to new customer {done.customer_id}")
    else:
        info(
            f"Converted lead {lead_id}: linked to existing customer {done.customer_id} "
            f"({done.linked_by})"
        )
    if done.reminders:
        info(f"Moved {plural(done.reminders, 'pending reminder')} to customer {done.customer_id}")
    if done.deal_id is not None and prepared is not None:
        info(f"Opened deal {done.deal_id}: {prepared.values['title']}")


@app.command("forget")
def forget(lead_id: IdArg, yes: YesOpt = False) -> None:
    """Erase a lead's personal data for good (right to erasure); figures stay.

    Name, contact details, notes and tags go, as do the texts of their interactions and
    reminders, from the records, the search index and the history; status, source, score
    and dates stay for the reports.  A customer the lead was converted into is kept (forget
    it with crm customer forget).  This cannot be undone, not even with crm undo.

    Example: crm lead forget 7 --yes
    """
    from crmcli.cli.safety import run_forget

    db = database()
    record = core.get(db, lead_id)
    confirm(
        f"Forget lead {lead_id} ({record['name']})? Their personal data is erased "
        "everywhere, history included. This cannot be undone",
        yes=yes,
    )
    run_forget(db, ["crm", "lead", "forget", str(lead_id)], lead_id=lead_id)
