"""``crm quote …``: numbered, versioned quotes of a deal's line items; PDF and HTML copies."""

import sys
from collections.abc import Iterable, Iterator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from crmcli.cli.options import (
    FormatOpt,
    Ids,
    LimitOpt,
    RawOpt,
    cap_table,
    database,
    fetch_limit,
    fmt_of,
    group,
    info,
    no_ids,
    opt,
)
from crmcli.core.money import quotes as core
from crmcli.errors import InvalidValue, UsageError
from crmcli.text import split_list

app = group("Quotes of a deal's line items: numbered, versioned, sent as PDF or HTML.")

TABLE_COLUMNS = ("id", "number", "customer", "deal", "status", "total", "valid_until")
TABLE_DROP = ("valid_until", "deal", "customer")  # first to go when narrow
ITEM_TABLE_COLUMNS = (
    "product", "quantity", "unit", "price", "discount", "tax", "net", "supplier",
    "delivery_date",
)  # fmt: skip
TAX_TABLE_COLUMNS = ("rate", "base", "tax")
VERSION_TABLE_COLUMNS = ("id", "label", "status")
SHOW_TABLE_COLUMNS = (
    "id", "number", "status", "customer", "customer_id", "deal", "deal_id", "issued_on",
    "valid_until", "subtotal", "discount", "tax", "total", "note", "decline_reason",
    "decided_at", "created_at", "updated_at", "uid",
)  # fmt: skip
_MONEY = ("subtotal", "discount", "tax", "total")

RefArg = Annotated[
    str,
    typer.Argument(
        metavar="ID",
        help="Quote id, or its number (Q-2026-0007: the latest version; Q-2026-0007v2).",
        show_default=False,
    ),
]
RefsArg = Annotated[
    list[str],
    typer.Argument(
        metavar="ID…",
        help="Quote id or number (Q-2026-0007, Q-2026-0007v2); several, or - to read them "
        "from stdin (one a line).",
        show_default=False,
    ),
]


class DocFormat(StrEnum):
    pdf = "pdf"
    html = "html"


def _money(amount: int | None, currency: str) -> str:
    from crmcli.money import format_money

    return "" if amount is None else format_money(amount, currency)


def _rate(bp: int | None) -> str:
    from crmcli.core.money.totals import format_rate

    return format_rate(bp)


def _text(value: str) -> str:
    from crmcli.text import visible

    return visible(value)


def _total_note(quote: dict[str, Any]) -> str:
    return _money(quote["total"], quote["currency"])


def for_table(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Quotes as a person reads them: the number with its version, amounts in their
    currency."""
    for row in rows:
        row["number"] = row["label"]
        for key in _MONEY:
            row[key] = _money(row[key], row["currency"])
        yield row


def read_refs(given: Sequence[str]) -> tuple[list[str], bool]:
    """The quotes named on the command line (``-``: one a line on stdin), in order, each
    once; and whether they are a batch (several, or stdin)."""
    refs: list[str] = []
    many = len(given) > 1 or "-" in given
    if list(given).count("-") > 1:
        raise UsageError("give - (ids from stdin) once")
    for text in given:
        if text == "-":
            lines = [line.strip() for line in sys.stdin if line.strip()]
        elif not text.strip():
            raise InvalidValue("ID", text, "not a quote id or number (e.g. 7 or Q-2026-0007 v2)")
        else:
            lines = [text.strip()]
        for line in lines:
            if line not in refs:
                refs.append(line)
    return refs, many


def _one(db: Any, ref: str) -> int:
    return core.resolve(db, ref)


@app.command("create")
def create(
    deal_id: Annotated[int, typer.Argument(metavar="DEAL_ID", help="Deal id.", show_default=False)],
    valid_until: Annotated[
        str | None,
        opt(
            "Last day the offer holds: 2026-12-31, 'in 30 days', 'end of month' (default: "
            "today + the quote_valid_days setting, 30)."
        ),  # fmt: skip
    ] = None,
    note: Annotated[str | None, opt("A note printed on the quote (terms, delivery …).")] = None,
) -> None:
    """Quote a deal's line items to its customer; prints the new quote's id.

    The deal's first quote gets the next number (setting quote_number, default
    Q-{year}-{seq:04d}); quoting it again after its items changed makes the next version of
    the same number (Q-2026-0007 v2) and the earlier open version is superseded.

    Example: crm quote create 7 --valid-until "in 14 days" --note "Delivery in 3 weeks"
    """
    from crmcli.core.settings import load
    from crmcli.dates import parse_date, today_local

    db = database(create=True)
    until = None
    if valid_until is not None:
        until = parse_date(valid_until, today=today_local(), order=load(db).date_order,
                           field="--valid-until").isoformat()  # fmt: skip
    with db.write():
        quote_id = core.create(db, deal_id, valid_until=until, note=note)
        quote = core.get(db, quote_id)
    print(quote_id)
    info(f"Quote {quote['label']} for deal {deal_id} ({_text(quote['deal'])}): "
         f"{_total_note(quote)}, valid until {quote['valid_until']}")  # fmt: skip


@app.command("list")
def list_(
    deal: Annotated[int | None, opt("Only this deal's quotes (its quote log).", "--deal")] = None,
    customer: Annotated[int | None, opt("Only this customer's quotes.", "--customer", "-c")] = None,
    status: Annotated[
        list[str] | None,
        opt(
            "Only this status: open, expired, accepted, declined, superseded (repeat, or a,b).",
            "--status",
            "-s",
        ),  # fmt: skip
    ] = None,
    limit: LimitOpt = None,
    fmt: FormatOpt = None,
    raw: RawOpt = False,
) -> None:
    """List quotes, oldest first: every version of every number.

    An open quote past its valid-until date is listed as expired.

    Example: crm quote list --deal 7    (the deal's quote log)
    """
    from crmcli.render import emit

    statuses = split_list(status or [])
    for name in statuses:
        core.check_status(name)
    out = fmt_of(fmt)
    rows: Iterable[dict[str, Any]] = core.list_quotes(
        database(), deal_id=deal, customer_id=customer, statuses=statuses,
        limit=fetch_limit(out, limit),
    )  # fmt: skip
    if out == "table":
        rows = for_table(cap_table(rows, out, limit))
    emit(rows, core.COLUMNS, out, table_columns=TABLE_COLUMNS, raw=raw,
         empty_message="no quotes match", drop=TABLE_DROP,
         kinds={"number": "code"})  # fmt: skip


def _for_card(record: dict[str, Any]) -> dict[str, Any]:
    currency = record["currency"]
    record["number"] = record["label"]
    for key in _MONEY:
        record[key] = _money(record[key], currency)
    for item in record["items"]:
        item["price"] = _money(item["unit_price"], currency)
        if item["discount_bp"] is not None:
            item["discount"] = _rate(item["discount_bp"])
        else:
            item["discount"] = _money(item["discount"], currency) if item["discount"] else ""
        item["net"] = _money(item["net"], currency)
        item["tax"] = _rate(item["tax_bp"])
    for tax in record["taxes"]:
        tax["rate"] = _rate(tax["rate_bp"])
        tax["base"] = _money(tax["base"], currency)
        tax["tax"] = _money(tax["tax"], currency)
    return record


@app.command("show")
def show(quote_ids: RefsArg, fmt: FormatOpt = None, raw: RawOpt = False) -> None:
    """Show quotes: header, lines, tax per rate, totals, and the number's versions.

    Example: crm quote show Q-2026-0007    (a version: Q-2026-0007v1; several: 3 4, or -)
    """
    from crmcli.render import emit_records

    refs, many = read_refs(quote_ids)
    if not refs:
        no_ids(Ids())
        return
    db = database()
    ids = list(dict.fromkeys(_one(db, ref) for ref in refs))  # 7 and Q-2026-0007: once
    records = [core.show(db, ident) for ident in ids]
    out = fmt_of(fmt)
    columns: tuple[str, ...] = (*core.COLUMNS, "taxes")
    item_columns: tuple[str, ...] = ITEM_TABLE_COLUMNS
    if out == "table":
        records = [_for_card(r) for r in records]
        columns = SHOW_TABLE_COLUMNS
        # Only the columns some line fills (no empty Supplier column on a plain quote).
        lines = [i for r in records for i in r["items"]]
        item_columns = tuple(
            c for c in ITEM_TABLE_COLUMNS if c == "product" or any(i.get(c) for i in lines)
        )
    elif out in ("tsv", "csv"):
        columns = core.COLUMNS
    emit_records(
        records,
        out,
        many=many,
        columns=columns,
        sections={
            "items": ("Lines", item_columns),
            "taxes": ("Tax", TAX_TABLE_COLUMNS),
            "versions": ("Versions", VERSION_TABLE_COLUMNS),
        },
        raw=raw,
    )


@app.command("accept")
def accept(quote_id: RefArg) -> None:
    """Mark a quote accepted; its deal moves to the quote_accept_stage setting (won).

    Only the latest version of a number, open and within its validity, can be accepted.
    crm undo takes both back.

    Example: crm quote accept Q-2026-0007
    """
    from crmcli.core.deals import get as get_deal

    db = database()
    with db.write():
        quote = core.accept(db, _one(db, quote_id))
        deal = get_deal(db, quote["deal_id"])
    info(f"Accepted quote {quote['label']} ({_total_note(quote)}); deal {deal['id']} "
         f"({_text(deal['title'])}) is {deal['stage']}")  # fmt: skip


@app.command("decline")
def decline(
    quote_id: RefArg,
    reason: Annotated[
        str, typer.Option("--reason", help="Why the customer said no.", show_default=False)
    ],
) -> None:
    """Mark a quote declined, with the customer's reason (the deal stays where it is).

    Example: crm quote decline Q-2026-0007 --reason "price too high"
    """
    db = database()
    with db.write():
        quote = core.decline(db, _one(db, quote_id), reason)
    info(f"Declined quote {quote['label']} for deal {quote['deal_id']} "
         f"({_text(quote['deal'])}): {_text(str(quote['decline_reason']))}")  # fmt: skip


@app.command("pdf")
def pdf(
    quote_id: RefArg,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="The file to write (mode 0600, atomically).",
            show_default=False,
        ),
    ],
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
    fmt: Annotated[
        DocFormat,
        typer.Option(
            "--format", "-f", help="pdf, or html for an e-mail body.", case_sensitive=False
        ),
    ] = DocFormat.pdf,
) -> None:
    """Write a quote as a PDF the customer opens (or HTML for an e-mail body).

    The seller's details come from the settings seller_name, seller_address, seller_tax_id,
    seller_bank, seller_email, seller_phone and seller_logo (crm config set …).

    Example: crm quote pdf Q-2026-0007 -o bao-gia-0007.pdf
    """
    from crmcli.core.money.quote_doc import write

    db = database()
    doc = core.document(db, _one(db, quote_id))
    missing = write(doc, output, fmt.value, force=force)
    info(f"Wrote quote {doc['label']} ({fmt.value.upper()}) to {output}")
    if missing:
        shown = " ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
        info(f"Warning: the PDF font has no glyph for {shown}; -f html shows them")
