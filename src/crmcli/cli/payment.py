"""``crm payment …``: payments against invoices (partial ones too)."""

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
    confirm_delete,
    database,
    deleted,
    fetch_limit,
    fmt_of,
    group,
    ids_argument,
    info,
    no_ids,
    opt,
    read_ids,
)
from crmcli.core.money import invoices as core

app = group("Payments against invoices: partial ones too; the last one settles the invoice.")

TABLE_COLUMNS = ("id", "paid_at", "invoice", "customer", "amount", "method", "note")
TABLE_DROP = ("note", "method", "customer")

IdsArg = Annotated[list[str], ids_argument("Payment")]


def _money(amount: int, currency: str) -> str:
    from crmcli.money import format_money

    return format_money(amount, currency)


def _order(db: Any) -> str:
    from crmcli.core.settings import load

    return load(db).date_order


@app.command("add")
def add(
    invoice: Annotated[
        str,
        typer.Argument(metavar="INVOICE_ID", help="Invoice id or number.", show_default=False),
    ],
    amount: Annotated[
        str,
        typer.Argument(
            metavar="AMOUNT",
            help="What was paid, in the invoice's currency.",
            show_default=False,
        ),
    ],  # fmt: skip
    at: Annotated[
        str | None, opt("When it was paid: yesterday, 2026-11-20, '20/11 14:30' (default now).")
    ] = None,
    method: Annotated[str | None, opt("How: bank transfer, cash, card …")] = None,
    note: Annotated[str | None, opt("A note (reference, who paid …).")] = None,
) -> None:
    """Record a payment on an open invoice; prints the new id.

    Paying more than is still owed is refused (the message says how much is owed); the
    payment that makes up the whole amount marks the invoice paid.

    Example: crm payment add INV-2026-0007 500 --method "bank transfer" --at yesterday
    """
    db = database()
    order = _order(db)
    ident = core.find(db, invoice)
    with db.write():
        payment_id = core.pay(db, ident, amount, at=at, method=method, note=note, order=order)
        payment = core.get_payment(db, payment_id)
        bill = core.get(db, ident)
    sys.stdout.write(f"{payment_id}\n")
    money = _money(payment["amount"], payment["currency"])
    if bill["status"] == "paid":
        info(f"Payment {payment_id}: {money} on {bill['number']}; the invoice is paid")
    else:
        owed = _money(bill["owed"], bill["currency"])
        info(f"Payment {payment_id}: {money} on {bill['number']}; {owed} still owed")


def _day(raw: str | None, field: str, db: Any, *, end: bool = False) -> str | None:
    """A local day as the UTC instant it starts (``end``: the day after it starts)."""
    if raw is None:
        return None
    from datetime import timedelta

    from crmcli.core.periods import local_midnight_utc
    from crmcli.dates import parse_date

    day = parse_date(raw, order=_order(db), field=field)
    return local_midnight_utc(day + timedelta(days=1) if end else day)


@app.command("list")
def list_(
    invoice: Annotated[str | None, opt("Only this invoice's payments (id or number).")] = None,
    customer: Annotated[
        int | None, opt("Only this customer's payments.", "--customer", "-c")
    ] = None,
    since: Annotated[str | None, opt("Paid on or after this day.")] = None,
    until: Annotated[str | None, opt("Paid on or before this day.")] = None,
    limit: LimitOpt = None,
    fmt: FormatOpt = None,
    raw: RawOpt = False,
) -> None:
    """List payments, oldest first.

    Amounts are minor units (cents) in tsv, csv and json.

    Example: crm payment list --customer 42 --since "start of month"
    """
    from crmcli.render import emit

    db = database()
    invoice_id = core.find(db, invoice) if invoice is not None else None
    start, end = _day(since, "--since", db), _day(until, "--until", db, end=True)
    out = fmt_of(fmt)
    rows: Iterable[dict[str, Any]] = core.list_payments(
        db, invoice_id=invoice_id, customer_id=customer, since=start, until=end,
        limit=fetch_limit(out, limit),
    )  # fmt: skip
    if out == "table":
        rows = cap_table(rows, out, limit)
    emit(rows, core.PAYMENT_COLUMNS, out, table_columns=TABLE_COLUMNS, raw=raw,
         empty_message="no payments match", drop=TABLE_DROP)  # fmt: skip


@app.command("delete")
def delete(payment_ids: IdsArg, yes: YesOpt = False) -> None:
    """Delete payments (a mistake, a bounced transfer); a paid invoice is open again.

    Example: crm payment delete 7 --yes    (several: 7 8, or - for ids on stdin)
    """
    ids = read_ids(payment_ids)
    if no_ids(ids):
        return
    db = database()
    payments = [core.get_payment(db, i) for i in ids]
    labels = [f"{_money(p['amount'], p['currency'])} on {p['invoice']}" for p in payments]
    confirm_delete(ids, "payment", labels, yes=yes)
    with db.write():
        for payment_id in ids:
            core.delete_payment(db, payment_id)
    deleted(ids, "payment", labels)
