"""``crm segment …``: named groups of customers by stored criteria, evaluated when used."""

import sys
from collections.abc import Iterable
from typing import Annotated, Any

import typer

from crmcli.cli.options import (
    FormatOpt,
    LimitOpt,
    RawOpt,
    YesOpt,
    cap_table,
    confirm,
    database,
    fetch_limit,
    fmt_of,
    group,
    info,
    opt,
    plural,
)

app = group("Segments: customers chosen by stored criteria, for lists, exports and sending.")

NameArg = Annotated[
    str, typer.Argument(metavar="NAME", help="Segment name or id.", show_default=False)
]
TagAll = Annotated[list[str] | None, opt("Has this tag (repeatable: all of them).", "--tag")]
TagAny = Annotated[list[str] | None, opt("Has any of these tags (repeatable).", "--any-tag")]
TagNot = Annotated[list[str] | None, opt("Has none of these tags (repeatable).", "--not-tag")]
City = Annotated[str | None, opt("City has these words (accents, case ignored).", "--city")]
Country = Annotated[str | None, opt("Country is this (accents, case ignored).", "--country")]
Company = Annotated[
    str | None, opt("Company has these words (accents, case ignored).", "--company")
]
Source = Annotated[str | None, opt("Source is this (accents, case ignored).", "--source")]
Age = Annotated[str | None, opt("Age in years from the birthday: 30-45, 30-, -45, 30.", "--age")]
Month = Annotated[str | None, opt("Birthday in this month (1-12).", "--birthday-month")]
Field = Annotated[
    list[str] | None, opt("Custom field key=value (repeatable; case ignored).", "--field")
]
WonMin = Annotated[
    str | None,
    opt(
        "Won deals worth at least this (in its currency): 1000 or 5000000VND.", "--won-min"
    ),  # fmt: skip
]
WonMax = Annotated[str | None, opt("Won deals worth at most this, in its currency.", "--won-max")]
WonDeals = Annotated[str | None, opt("At least N won deals.", "--won-deals-min")]
Before = Annotated[
    str | None,
    opt(
        "Last contact before this (or never): '90 days ago', 2026-01-01; read at each use.",
        "--contacted-before",
    ),  # fmt: skip
]
After = Annotated[str | None, opt("Last contact at or after this.", "--contacted-after")]
OpenDeals = Annotated[bool, typer.Option("--open-deals", help="Has open deals.")]
OpenTickets = Annotated[bool, typer.Option("--open-tickets", help="Has open or pending tickets.")]
SatMin = Annotated[str | None, opt("Last closed ticket's satisfaction at least N (1-5).",
                                   "--satisfaction-min")]  # fmt: skip
SatMax = Annotated[str | None, opt("Last closed ticket's satisfaction at most N (1-5).",
                                   "--satisfaction-max")]  # fmt: skip
Consent = Annotated[
    list[str] | None, opt("Consent per channel: email=yes, sms=no, email=unknown.", "--consent")
]


def _score(name: str, end: str) -> Any:
    word = "at least" if end == "min" else "at most"
    return opt(f"RFM {name} score {word} N (1-5; crm report customers --by rfm).",
               f"--{name}-{end}")  # fmt: skip


RecMin = Annotated[str | None, _score("recency", "min")]
RecMax = Annotated[str | None, _score("recency", "max")]
FreqMin = Annotated[str | None, _score("frequency", "min")]
FreqMax = Annotated[str | None, _score("frequency", "max")]
MonMin = Annotated[str | None, _score("monetary", "min")]
MonMax = Annotated[str | None, _score("monetary", "max")]
Description = Annotated[str | None, opt("What the segment is for.", "--description")]


def _criteria(db: Any, options: dict[str, Any]) -> dict[str, Any]:
    from crmcli.core.outreach import segments
    from crmcli.core.settings import load

    config = load(db)
    return segments.criteria_from(options, currency=config.currency, order=config.date_order)


def _description(text: str | None) -> str | None:
    if text is None:
        return None
    from crmcli.text import clean

    return clean(text, field="--description", limit=500) or ""


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Segment name.", show_default=False)],
    tag: TagAll = None,
    any_tag: TagAny = None,
    not_tag: TagNot = None,
    city: City = None,
    country: Country = None,
    company: Company = None,
    source: Source = None,
    age: Age = None,
    birthday_month: Month = None,
    field: Field = None,
    won_min: WonMin = None,
    won_max: WonMax = None,
    won_deals_min: WonDeals = None,
    contacted_before: Before = None,
    contacted_after: After = None,
    open_deals: OpenDeals = False,
    open_tickets: OpenTickets = False,
    satisfaction_min: SatMin = None,
    satisfaction_max: SatMax = None,
    consent: Consent = None,
    recency_min: RecMin = None,
    recency_max: RecMax = None,
    frequency_min: FreqMin = None,
    frequency_max: FreqMax = None,
    monetary_min: MonMin = None,
    monetary_max: MonMax = None,
    description: Description = None,
) -> None:
    """Add a segment: customers matching every criterion given; prints the new id.

    The criteria are stored, not the members: they are evaluated each time the segment is
    used.  At least one criterion is required.

    Example: crm segment add "vip hanoi" --tag vip --city "Hà Nội" --consent email=yes
    """
    from crmcli.core.outreach import segments

    db = database(create=True)
    given = locals()
    criteria = _criteria(db, {k: given[_param(k)] for k in _OPTION_KEYS})
    text = _description(description)
    with db.write():
        segment_id = segments.add(db, name, criteria, text or None)
    print(segment_id)
    info(f"Added segment {segment_id}: {name.strip()} ({segments.describe(criteria)})")


# Criteria keys, from the parameters of add and edit (tags -> tag, any_tags -> any_tag …).
_OPTION_KEYS = (
    "tags", "any_tags", "not_tags", "city", "country", "company", "source", "age",
    "birthday_month", "fields", "won_min", "won_max", "won_deals_min", "contacted_before",
    "contacted_after", "open_deals", "open_tickets", "satisfaction_min", "satisfaction_max",
    "consent", "recency_min", "recency_max", "frequency_min", "frequency_max", "monetary_min",
    "monetary_max",
)  # fmt: skip


def _param(key: str) -> str:
    return {"tags": "tag", "any_tags": "any_tag", "not_tags": "not_tag", "fields": "field"}.get(
        key, key
    )


@app.command("list")
def list_(fmt: FormatOpt = None, raw: RawOpt = False) -> None:
    """List the segments with their criteria and how many customers each has now.

    Example: crm segment list -f json
    """
    from crmcli.core.outreach import segments
    from crmcli.render import emit

    out = fmt_of(fmt)
    rows = segments.list_segments(database(), count=out != "ids")
    emit(rows, segments.LIST_COLUMNS, out, raw=raw, empty_message="no segments yet",
         drop=("description", "updated_at"))  # fmt: skip


@app.command("show")
def show(
    name: NameArg,
    limit: LimitOpt = None,
    fmt: FormatOpt = None,
    raw: RawOpt = False,
) -> None:
    """Show a segment's members now, as customer list shows customers.

    -f ids prints their ids, one a line, for other commands' - (stdin).

    Example: crm segment show "vip hanoi" -f ids | crm customer edit - --add-tag newsletter
    """
    from crmcli.core import customers
    from crmcli.core.outreach import segments

    out = fmt_of(fmt)
    db = database()
    segment = segments.get(db, name)
    if out == "ids":
        ids = segments.members_of(db, segment["criteria"])
        if limit:
            ids = ids[:limit]
        sys.stdout.write("".join(f"{i}\n" for i in ids))
        return
    from crmcli.cli.customer import TABLE_COLUMNS, TABLE_DROP
    from crmcli.render import emit

    if out == "table":
        info(f"Segment {segment['id']}: {segment['name']} "
             f"({segments.describe(segment['criteria'])})")  # fmt: skip
    rows: Iterable[dict[str, Any]] = customers.list_customers(
        db, segment=str(segment["id"]), limit=fetch_limit(out, limit)
    )
    rows = cap_table(rows, out, limit)
    emit(rows, customers.COLUMNS, out, table_columns=TABLE_COLUMNS, raw=raw,
         empty_message="no customers in this segment now", drop=TABLE_DROP)  # fmt: skip


@app.command("edit")
def edit(
    name: NameArg,
    tag: TagAll = None,
    any_tag: TagAny = None,
    not_tag: TagNot = None,
    city: City = None,
    country: Country = None,
    company: Company = None,
    source: Source = None,
    age: Age = None,
    birthday_month: Month = None,
    field: Field = None,
    won_min: WonMin = None,
    won_max: WonMax = None,
    won_deals_min: WonDeals = None,
    contacted_before: Before = None,
    contacted_after: After = None,
    open_deals: OpenDeals = False,
    open_tickets: OpenTickets = False,
    satisfaction_min: SatMin = None,
    satisfaction_max: SatMax = None,
    consent: Consent = None,
    recency_min: RecMin = None,
    recency_max: RecMax = None,
    frequency_min: FreqMin = None,
    frequency_max: FreqMax = None,
    monetary_min: MonMin = None,
    monetary_max: MonMax = None,
    clear: Annotated[
        list[str] | None,
        opt("Drop this criterion (repeatable): --clear city --clear tag.", "--clear"),
    ] = None,
    rename: Annotated[str | None, opt("New name.", "--name")] = None,
    description: Description = None,
) -> None:
    """Change a segment: a criterion given replaces the stored one (all its values),
    --clear drops one.

    Example: crm segment edit "vip hanoi" --age 30-45 --clear city
    """
    from crmcli.core.outreach import segments

    given = locals()
    cleared = segments.check_clear(clear or [])
    db = database()
    criteria = _criteria(db, {k: given[_param(k)] for k in _OPTION_KEYS})
    both = sorted(set(criteria) & set(cleared))
    if both:
        from crmcli.errors import UsageError

        raise UsageError(f"{segments.OPTIONS[both[0]]} is both given and cleared")
    text = _description(description)
    with db.write():
        segment = segments.get(db, name)
        changed = segments.update(db, segment, criteria, cleared, name=rename, description=text)
    if changed:
        now = segments.get(db, segment["id"])
        info(f"Updated segment {now['id']}: {now['name']} ({segments.describe(now['criteria'])})")
    else:
        info(f"Segment {segment['id']} unchanged")


@app.command("delete")
def delete(
    names: Annotated[
        list[str], typer.Argument(metavar="NAME…", help="Segment names or ids.", show_default=False)
    ],
    yes: YesOpt = False,
) -> None:
    """Delete segments (their criteria; no customer is touched).

    Example: crm segment delete "vip hanoi" --yes
    """
    from crmcli.core.outreach import segments

    db = database()
    found = {s["id"]: s for s in (segments.get(db, n) for n in names)}
    labels = ", ".join(s["name"] for s in found.values())
    what = f"segment {labels}" if len(found) == 1 else f"{plural(len(found), 'segment')} ({labels})"
    confirm(f"Delete {what}?", yes=yes)
    with db.write():
        for segment_id in found:
            segments.delete(db, segment_id)
    info(f"Deleted {what}")
