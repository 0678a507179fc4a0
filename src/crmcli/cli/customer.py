"""``crm customer …``: the people and companies you sell to."""

import sys
from collections.abc import Iterable
from typing import Annotated, Any

import typer

from crmcli.cli.followup import NextOpt, NextTextOpt, follow_up
from crmcli.cli.options import (
    AddTags,
    Company,
    Email,
    ForceOpt,
    FormatOpt,
    LimitOpt,
    OutputOpt,
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
from crmcli.core import customers as core
from crmcli.core import settings
from crmcli.errors import UsageError

app = group("Customers: add, find, show, edit, log interactions, import and export.")

TABLE_COLUMNS = ("id", "name", "company", "email", "phone", "city", "tags", "last_contacted")
TABLE_DROP = ("last_contacted", "tags", "city", "email", "company")  # first to go when narrow
INTERACTION_COLUMNS = ("id", "happened_at", "type", "direction", "body")
DEAL_COLUMNS = ("id", "title", "stage", "value", "probability", "close_date")
TICKET_COLUMNS = ("id", "subject", "priority", "status", "tier", "due_at", "overdue")
REMINDER_COLUMNS = ("id", "due_at", "text", "every")

IdArg = Annotated[int, typer.Argument(metavar="ID", help="Customer id.", show_default=False)]
IdsArg = Annotated[list[str], ids_argument("Customer")]


Address = Annotated[str | None, opt("Street address.")]
City = Annotated[str | None, opt("City.")]
Country = Annotated[str | None, opt("Country.")]
Birthday = Annotated[str | None, opt("Birthday: 1990-05-17, 17/05/1990 (per date order).")]
Source = Annotated[str | None, opt("Where the customer came from (web, referral, event …).")]
CompanyFilter = Annotated[str | None, opt("Company has these words (accents, case ignored).")]
CityFilter = Annotated[str | None, opt("City has these words (accents, case ignored).")]
SearchFilter = Annotated[
    str | None,
    typer.Option(
        "--search",
        "-s",
        help="Words in name, e-mail, phone, company, notes or interactions "
        "(accents and case ignored).",
        show_default=False,
    ),
]
SegmentFilter = Annotated[
    str | None, opt("Only the members of this segment (name or id; crm segment list).")
]
Fields = Annotated[
    list[str] | None, typer.Option("--field", help="Custom field key=value (repeatable).")
]
Consent = Annotated[
    list[str] | None,
    typer.Option(
        "--consent",
        help="Consent per channel: email=yes, sms=no, email=unknown (repeatable). "
        "email=no is an opt-out.",
        show_default=False,
    ),
]


def _prepare(
    db: Any, tags: list[str] | None, custom: list[str] | None, **values: str | None
) -> core.CustomerInput:
    """Validate the options given (``None``: not given) with the database's settings."""
    given = {k: v for k, v in values.items() if v is not None}
    return core.prepare(given, settings.load(db), tags=tags or (), custom=custom or ())


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Full name.", show_default=False)],
    email: Email = None,
    phone: Phone = None,
    company: Company = None,
    title: Title = None,
    address: Address = None,
    city: City = None,
    country: Country = None,
    birthday: Birthday = None,
    source: Source = None,
    note: Annotated[str | None, opt("A note about the customer.")] = None,
    tag: Tags = None,
    field: Fields = None,
) -> None:
    """Add a customer; prints the new id.

    Example: crm customer add "Trần Thị Bích" --email bich@example.vn --city "Hà Nội" --tag vip
    """
    db = database(create=True)
    data = _prepare(
        db, tag, field, name=name, email=email, phone=phone, company=company, title=title,
        address=address, city=city, country=country, birthday=birthday, source=source, notes=note,
    )  # fmt: skip
    with db.write():
        same = core.same_contact(db, data.values)
        customer_id = core.add(db, data)
    print(customer_id)
    info(f"Added customer {customer_id}: {data.values['name']}")
    warn_same_contact(same, "customer", f" (one person? crm customer merge {{id}} {customer_id})")


@app.command("list")
def list_(
    tag: Tags = None,
    company: CompanyFilter = None,
    city: CityFilter = None,
    search: SearchFilter = None,
    consent: Annotated[
        list[str] | None,
        typer.Option(
            "--consent",
            help="Consent on a channel is: email=yes, sms=no, email=unknown (repeatable).",
            show_default=False,
        ),
    ] = None,
    segment: SegmentFilter = None,
    sort: Annotated[
        str | None,
        opt(
            f"Sort by {', '.join(core.SORTS)}; a leading - sorts descending (-created). "
            "Names, cities and companies sort in Vietnamese alphabetical order."
        ),
    ] = None,
    limit: LimitOpt = None,
    fmt: FormatOpt = None,
    raw: RawOpt = False,
) -> None:
    """List customers, filtered and sorted.

    Example: crm customer list --search nguyen --tag vip --sort -last_contacted

    Example: crm customer list --consent email=yes -f ids
    """
    from crmcli.core.outreach.consent import parse_spec
    from crmcli.render import emit

    out = fmt_of(fmt)
    if sort:
        core.parse_sort(sort)  # a bad field is a usage error before anything is opened
    consents = [parse_spec(spec) for spec in consent or ()]
    rows: Iterable[dict[str, Any]] = core.list_customers(
        database(), tags=tag or (), company=company, city=city, search=search, sort=sort,
        limit=fetch_limit(out, limit), consents=consents, segment=segment,
    )  # fmt: skip
    rows = cap_table(rows, out, limit)
    emit(rows, core.COLUMNS, out, table_columns=TABLE_COLUMNS, raw=raw,
         empty_message="no customers match", drop=TABLE_DROP)  # fmt: skip


@app.command("show")
def show(customer_ids: IdsArg, fmt: FormatOpt = None, raw: RawOpt = False) -> None:
    """Show customers: every field, tags, custom fields, when the next contact is due
    (with a cadence), what they owe, consent per channel, interactions, deals, tickets,
    pending reminders, leads.

    Example: crm customer show 42    (several: crm customer show 42 43, or ids on stdin: -)
    """
    from crmcli.render import emit_records

    ids, records = shown_records(customer_ids, core.show)
    if not records:
        return
    out = fmt_of(fmt)
    if out == "table":
        from crmcli.cli.deal import for_table
        from crmcli.dates import today_local

        today = today_local().isoformat()
        for record in records:
            record["deals"] = list(for_table(record["deals"]))
            record["owes"] = owes_lines(record["owes"])
            record["consent"] = consent_lines(record["consent"])
            due = record["next_contact_due"]
            if due and due < today:
                record["next_contact_due"] = f"{due} (overdue)"
    elif out in ("tsv", "csv"):  # one cell: minor units and the code, "120000 EUR,500 USD"
        for record in records:
            record["owes"] = ",".join(f"{o['amount']} {o['currency']}" for o in record["owes"])
            record["consent"] = ",".join(f"{k}={v['status']}" for k, v in record["consent"].items())
    emit_records(
        records,
        out,
        many=ids.many,
        columns=core.SHOW_COLUMNS,
        sections={
            "interactions": ("Interactions", INTERACTION_COLUMNS),
            "deals": ("Deals", DEAL_COLUMNS),
            "tickets": ("Tickets", TICKET_COLUMNS),
            "reminders": ("Reminders", REMINDER_COLUMNS),
            "leads": ("Converted from leads", ("id", "name", "source", "converted_at")),
        },
        raw=raw,
    )


def consent_lines(consents: dict[str, dict[str, Any]]) -> str:
    """Consent a channel a line: ``email: yes since 2026-11-20 10:00 (signed form)``."""
    from crmcli.dates import format_local

    lines = []
    for channel, given in consents.items():
        line = f"{channel}: {given['status']}"
        if given["at"]:
            line += f" since {format_local(given['at'])}"
        if given["source"]:
            line += f" ({given['source']})"
        lines.append(line)
    return "\n".join(lines)


def owes_lines(owed: list[dict[str, Any]]) -> str:
    """What a customer owes, one currency a line: ``1,200.00 EUR``."""
    from crmcli.money import format_money

    return "\n".join(format_money(o["amount"], o["currency"]) for o in owed)


@app.command("edit")
def edit(
    customer_ids: IdsArg,
    name: Annotated[str | None, opt("Full name.")] = None,
    email: Email = None,
    phone: Phone = None,
    company: Company = None,
    title: Title = None,
    address: Address = None,
    city: City = None,
    country: Country = None,
    birthday: Birthday = None,
    source: Source = None,
    note: Annotated[str | None, opt("Replace the note.")] = None,
    add_tag: AddTags = None,
    remove_tag: RemoveTags = None,
    field: Fields = None,
    cadence: Annotated[
        str | None,
        opt("Stay in touch at least this often: 30d, 2w, 1mo (crm remind due tells you when)."),
    ] = None,
    unset: Annotated[
        list[str] | None,
        typer.Option(
            "--unset", help="Clear a field (email, phone, cadence …) or remove a custom field."
        ),
    ] = None,
    consent: Consent = None,
    consent_source: Annotated[
        str | None, opt("How consent was given or withdrawn: 'signed form', 'phone call'.")
    ] = None,
    consent_at: Annotated[
        str | None, opt("When consent was given or withdrawn (default: now): 2026-11-20.")
    ] = None,
) -> None:
    """Change customers' fields, tags, custom fields, contact cadence or consent.

    Several ids (or - for ids on stdin) change together in one transaction: all or none.
    Consent is per channel (email, sms): yes, no (an opt-out) or unknown; when and how it
    was given or withdrawn is kept, and every change stays in crm history.

    Example: crm customer edit 42 --phone "0912 345 678" --add-tag vip --cadence 30d

    Example: crm customer edit 42 --consent email=yes --consent-source "signed form"

    Example: crm customer list --tag vip -f ids | crm customer edit - --add-tag 2027
    """
    from crmcli.core.outreach import consent as consents

    ids = read_ids(customer_ids)
    checked = core.check_cadence(cadence) if cadence is not None else None
    given = _consent_changes(consent)
    how = consents.check_source(consent_source)
    if (consent_source is not None or consent_at is not None) and not given:
        raise UsageError("--consent-source and --consent-at go with --consent email=yes|no")
    if no_ids(ids):
        return
    db = database()
    data = _prepare(
        db, add_tag, field, name=name, email=email, phone=phone, company=company, title=title,
        address=address, city=city, country=country, birthday=birthday, source=source, notes=note,
    )  # fmt: skip
    at = parse_when(consent_at, "--consent-at", db) if consent_at else _now_iso()
    with db.write():
        for customer_id in ids:
            with naming("customer", customer_id, ids):
                record = core.update(db, customer_id, data, remove_tags=remove_tag or (),
                                     unset=unset or (), cadence=checked)  # fmt: skip
                for channel, status in given.items():
                    consents.set_status(db, customer_id, channel, status, source=how, at=at)
        shown = core.show(db, ids[0]) if cadence is not None and not ids.many else None
    if ids.many:
        batch_info("Updated", "customer", ids)
        return
    info(f"Updated customer {ids[0]}: {record['name']}")
    for channel, status in given.items():
        info(f"Consent {channel}: {status}" + (f" ({how})" if how and status != "unknown" else ""))
    if shown is not None:
        due = shown["next_contact_due"]  # None: past the year 9999
        info(
            f"Keep in touch every {shown['cadence']}" + (f": next contact due {due}" if due else "")
        )


def _consent_changes(specs: list[str] | None) -> dict[str, str]:
    """``--consent`` values as {channel: status}; one channel given twice is an error."""
    from crmcli.core.outreach.consent import parse_spec

    given: dict[str, str] = {}
    for spec in specs or ():
        channel, status = parse_spec(spec)
        if channel in given and given[channel] != status:
            raise UsageError(f"--consent: {channel} given twice ({given[channel]}, {status})")
        given[channel] = status
    return given


def _now_iso() -> str:
    from crmcli.clock import utc_now_iso

    return utc_now_iso()


@app.command("unsubscribe")
def unsubscribe(
    who: Annotated[
        str,
        typer.Argument(
            metavar="EMAIL_OR_ID", help="The customer's e-mail address or id.", show_default=False
        ),
    ],
    channel: Annotated[str, opt("The channel they leave: email or sms.")] = "email",
    source: Annotated[str | None, opt("How they asked (default: 'unsubscribe request').")] = None,
) -> None:
    """Record an opt-out: consent on that channel becomes no, and nothing is sent there
    any more, marketing or transactional (crm customer edit ID --consent email=yes when
    they sign up again).

    The customer is found by e-mail address (case ignored) or id; an address held by
    several customers is refused: give the id.

    Example: crm customer unsubscribe an.nguyen@example.vn --source "reply: stop"
    """
    from crmcli.core.outreach import consent as consents

    chosen = consents.check_channel(channel, field="--channel")
    how = consents.check_source(source, field="--source") or "unsubscribe request"
    db = database()
    customer_id = _by_email_or_id(db, who)
    with db.write():
        changed = consents.set_status(db, customer_id, chosen, "no", source=how, at=_now_iso())
    name = core.get(db, customer_id)["name"]
    if changed:
        info(f"Unsubscribed customer {customer_id} ({name}) from {chosen} ({how})")
    else:
        info(f"Customer {customer_id} ({name}) had already opted out of {chosen}")


def _by_email_or_id(db: Any, who: str) -> int:
    """A customer id from an id or an e-mail address held by exactly one customer."""
    from crmcli.cli.options import MAX_ID
    from crmcli.core.outreach.consent import customers_by_email
    from crmcli.errors import CrmError, NotFound

    text = who.strip()
    if text.isascii() and text.isdigit():  # "²" is a digit to isdigit(), not to int()
        customer_id = int(text) if len(text) < 19 else MAX_ID + 1
        if customer_id > MAX_ID:
            raise NotFound("customer", text)
        db.require("customers", "customer", customer_id)
        return customer_id
    if "@" not in text:
        raise UsageError(f"{who!r}: give an e-mail address or a customer id")
    found = customers_by_email(db, text)
    if not found:
        raise NotFound("customer with e-mail", text)
    if len(found) > 1:
        ids = ", ".join(str(row["id"]) for row in found)
        raise CrmError(f"several customers have the e-mail {text} ({ids}): give the id")
    return int(str(found[0]["id"]))


@app.command("nps")
def nps(
    customer_id: IdArg,
    score: Annotated[
        str, typer.Argument(help="How likely they are to recommend you, 0-10.", show_default=False)
    ],
    comment: Annotated[str | None, opt("What they said.")] = None,
    at: Annotated[str | None, opt("When they answered (default: now): 2026-11-20.")] = None,
) -> None:
    """Record a recommendation score (NPS) from 0 to 10; prints its id.

    9-10 are promoters, 7-8 passives, 0-6 detractors; crm report customers shows the net
    promoter score per period.

    Example: crm customer nps 42 9 --comment "Giao hàng nhanh, rất hài lòng"
    """
    from crmcli.core.outreach import nps as scores

    value = scores.check_score(score)
    db = database()
    when = parse_when(at, "--at", db) if at else _now_iso()
    with db.write():
        score_id = scores.add(db, customer_id, value, comment=comment, at=when)
    print(score_id)
    info(f"Recorded score {value} from customer {customer_id}")


@app.command("delete")
def delete(customer_ids: IdsArg, yes: YesOpt = False) -> None:
    """Delete customers with their tags, interactions and deals.

    Example: crm customer delete 42 --yes    (several: 42 43, or - for ids on stdin)
    """
    ids = read_ids(customer_ids)
    if no_ids(ids):
        return
    db = database()
    names = [core.get(db, customer_id)["name"] for customer_id in ids]
    deals = sum(core.deal_count(db, customer_id) for customer_id in ids)
    with_deals = f" and {plural(deals, 'deal')}" if deals else ""
    confirm_delete(ids, "customer", names, tail=f", their history{with_deals} "
                   "(crm undo brings them back)", yes=yes)  # fmt: skip
    with db.write():
        for customer_id in ids:
            core.delete(db, customer_id)
    deleted(ids, "customer", names, tail=with_deals)


@app.command("log")
def log(
    customer_id: IdArg,
    text: Annotated[str, typer.Argument(help="What happened.", show_default=False)],
    kind: Annotated[
        str, typer.Option("--type", help=f"One of {', '.join(core.INTERACTION_TYPES)}.")
    ] = "note",
    at: Annotated[
        str | None, opt("When it happened (default: now): 'yesterday 15:00', 2026-11-20.")
    ] = None,
    next_: NextOpt = None,
    next_text: NextTextOpt = None,
) -> None:
    """Record a call, e-mail, meeting or note with a customer; prints its id.

    With --next, a follow-up reminder is added in the same step.

    Example: crm customer log 42 --type call "Asked for a quote" --next "friday 9am"
    """
    db = database()
    happened = parse_when(at, "--at", db) if at else None
    plan = follow_up(db, text, next_, next_text)
    with db.write():
        interaction_id = core.log(db, customer_id, kind, text, happened)
        reminder = plan.add(db, ("customer", customer_id), interaction_id)
    print(interaction_id)
    info(f"Logged {kind} {interaction_id} for customer {customer_id}")
    plan.announce(reminder)


@app.command("dupes")
def dupes(fmt: FormatOpt = None) -> None:
    """List likely duplicates: same e-mail or phone, or the same name at the same company.

    Example: crm customer dupes
    """
    from crmcli.render import emit

    db = database()
    pairs = core.duplicates(db)
    emit(pairs, ("keep", "other", "reasons"), fmt_of(fmt),
         empty_message="no likely duplicates")  # fmt: skip


@app.command("merge")
def merge(
    keep: Annotated[int, typer.Argument(help="Customer to keep.", show_default=False)],
    other: Annotated[
        int, typer.Argument(help="Customer merged into it and removed.", show_default=False)
    ],
    yes: YesOpt = False,
) -> None:
    """Merge OTHER into KEEP: fields filled, tags, custom fields and interactions moved.

    Example: crm customer merge 42 57 --yes
    """
    db = database()
    a, b = core.get(db, keep), core.get(db, other)
    confirm(f"Merge customer {other} ({b['name']}) into {keep} ({a['name']})?", yes=yes)
    with db.write():
        core.merge(db, keep, other)
    info(f"Merged customer {other} into {keep}")


@app.command("export-person")
def export_person(
    customer_id: IdArg,
    output: OutputOpt = None,
    force: ForceOpt = False,
) -> None:
    """Everything held about one customer as one JSON document (a data access request).

    The customer with tags and custom fields, interactions, deals with items and stage
    history, tickets with their thread, reminders, the leads converted into them, consent
    per channel, recommendation scores, the campaign messages sent to them (with the
    campaign's name) and every change to these records in the history.

    Example: crm customer export-person 42 -o an-nguyen.json
    """
    from crmcli.core import privacy
    from crmcli.render import to_json

    document = privacy.export_person(database(), customer_id)
    text = to_json(document, indent=2) + "\n"
    if output is None or str(output) == "-":
        sys.stdout.write(text)
        return
    from crmcli.io.tabular import atomic_output

    with atomic_output(output, force=force) as fh:
        fh.write(text)
    info(f"Exported everything held about customer {customer_id} to {output}")


@app.command("forget")
def forget(customer_id: IdArg, yes: YesOpt = False) -> None:
    """Erase a customer's personal data for good (right to erasure); figures stay.

    Every text held about them goes: their record with its tags and custom fields, and
    every record that belongs to them (interactions, deals and line items, tickets and
    their thread, reminders, converted leads), from the records, the search index and the
    history.  Ids, amounts, currencies, stages, statuses and dates stay (a deal's title
    becomes 'forgotten deal N'), so reports stay true.  This cannot be undone, and crm undo
    refuses to undo the commands about them from before it.

    Example: crm customer forget 42 --yes
    """
    from crmcli.cli.safety import run_forget

    db = database()
    record = core.get(db, customer_id)
    confirm(
        f"Forget customer {customer_id} ({record['name']})? Their personal data is erased "
        "everywhere, history included; deals stay as anonymous figures. "
        "This cannot be undone",
        yes=yes,
    )
    run_forget(db, ["crm", "customer", "forget", str(customer_id)], customer_id=customer_id)
