"""``crm invoice …``: invoices against deals, payment schedules, what is paid and owed."""

import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Annotated, Any

import typer

from crmcli.cli.options import (
    FormatOpt,
    LimitOpt,
    RawOpt,
    cap_table,
    database,
    fetch_limit,
    fmt_of,
    group,
    info,
    opt,
)
from crmcli.core.money import invoices as core
from crmcli.errors import UsageError

app = group("Invoices against deals: payment schedules, what is paid, owed and overdue.")

TABLE_COLUMNS = ("id", "number", "customer", "deal_id", "issued_on", "due_date", "amount",
                 "paid", "owed", "status")  # fmt: skip
TABLE_DROP = ("issued_on", "deal_id", "paid", "amount", "customer")  # first to go when narrow
PAYMENT_TABLE_COLUMNS = ("id", "paid_at", "amount", "method", "note")
SHOW_COLUMNS = tuple(c for c in core.COLUMNS if c not in ("uid",))
KINDS = {"owed": "money", "deal_id": "id"}

RefArg = Annotated[
    str,
    typer.Argument(metavar="ID", help="Invoice id or number (INV-2026-0007).", show_default=False),
]
RefsArg = Annotated[
    list[str],
    typer.Argument(
        metavar="ID…",
        help="Invoice id or number; several, or - to read them from stdin (one a line).",
        show_default=False,
    ),
]


def refs(db: Any, given: Sequence[str]) -> tuple[list[int], bool]:
    """The invoices named by ids or numbers (``-``: one a line on stdin), each once, and
    whether there were several (a batch)."""
    if list(given).count("-") > 1:
        raise UsageError("give - (ids from stdin) once")
    texts: list[str] = []
    for text in given:
        if text == "-":
            texts += [line.strip() for line in sys.stdin if line.strip()]
        else:
            texts.append(text)
    ids: list[int] = []
    for text in texts:
        ident = core.find(db, text)
        if ident not in ids:
            ids.append(ident)
    return ids, len(given) > 1 or "-" in given


def _money(amount: int | None, currency: str) -> str:
    from crmcli.money import format_money

    return "" if amount is None else format_money(amount, currency)


def for_table(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Invoices as a person reads them: what is owed formatted, an overdue due date marked
    (and the row drawn in red), ``partly-paid`` as words."""
    from crmcli.render import late

    for row in rows:
        overdue = row["status"] == "overdue"
        row["late"] = overdue
        row["owed"] = _money(row["owed"], row["currency"])
        row["due_date"] = late(row["due_date"], overdue)
        row["status"] = row["status"].replace("-", " ")
        yield row


def _order(db: Any) -> str:
    from crmcli.core.settings import load

    return load(db).date_order


def _describe(db: Any, ids: list[int]) -> str:
    first, last = core.get(db, ids[0]), core.get(db, ids[-1])
    total = sum(core.get(db, i)["amount"] for i in ids)
    money = _money(total, first["currency"])
    if len(ids) == 1:
        return f"Invoice {first['number']}: {money}, due {first['due_date']}"
    return (f"{len(ids)} invoices {first['number']} … {last['number']}: {money} in all, due "
            f"{first['due_date']} … {last['due_date']}")  # fmt: skip


@app.command("create")
def create(
    deal_id: Annotated[int, typer.Argument(metavar="DEAL_ID", help="Deal id.", show_default=False)],
    amount: Annotated[
        str | None,
        opt("Amount in the deal's currency (default: what is left to invoice of the deal)."),
    ] = None,
    due: Annotated[
        str | None, opt("Due date (default: issued + invoice_due_days, 14 unless set).")
    ] = None,
    issued: Annotated[str | None, opt("Invoice date (default today; never in the future).")] = None,
    note: Annotated[str | None, opt("A note printed with the invoice.")] = None,
    installments: Annotated[
        int | None,
        typer.Option(
            "--installments",
            metavar="N",
            help="Split into N invoices (needs --every).",
            show_default=False,
        ),
    ] = None,  # fmt: skip
    every: Annotated[
        str | None, opt("Between installments: month, 2 weeks, quarterly … (from --due).")
    ] = None,
) -> None:
    """Invoice a deal; prints the new id (with --installments, one id a line).

    The amount is the deal's amount less what its invoices (but void ones) already ask for,
    unless --amount says less.  --installments N --every month splits it into N invoices due a
    month apart from the first due date (month ends kept: 31 Jan, 28 Feb, 31 Mar); the cents
    that do not divide go on the first.

    Example: crm invoice create 12 --installments 3 --every month --due 2026-12-31
    """
    db = database(create=True)
    order = _order(db)
    with db.write():
        ids = core.invoice_deal(db, deal_id, amount=amount, due=due, issued=issued, note=note,
                                installments=installments, every=every, order=order)  # fmt: skip
        message = _describe(db, ids)
    sys.stdout.write("".join(f"{i}\n" for i in ids))
    info(message)


@app.command("list")
def list_(
    customer: Annotated[
        int | None, opt("Only this customer's invoices.", "--customer", "-c")
    ] = None,
    deal: Annotated[int | None, opt("Only this deal's invoices.", "--deal", "-d")] = None,
    open_: Annotated[
        bool, typer.Option("--open", help="Only invoices still to be paid (not paid, not void).")
    ] = False,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only open invoices past their due date.")
    ] = False,
    status: Annotated[
        list[str] | None,
        opt(
            "Only this status: open, partly-paid, paid, overdue, void (repeat, or a,b).",
            "--status",
            "-s",
        ),
    ] = None,  # fmt: skip
    limit: LimitOpt = None,
    fmt: FormatOpt = None,
    raw: RawOpt = False,
) -> None:
    """List invoices by due date, with what is paid and still owed.

    The status shown: void, paid, overdue (open and due before today), partly paid (open with
    payments), open.  Amounts are minor units (cents) in tsv, csv and json.

    Example: crm invoice list --overdue --customer 42
    """
    from crmcli.render import emit
    from crmcli.text import split_list

    statuses = [core.check_status(s) for s in split_list(status or [])]
    out = fmt_of(fmt)
    rows: Iterable[dict[str, Any]] = core.list_invoices(
        database(), customer_id=customer, deal_id=deal, open_only=open_, overdue=overdue,
        statuses=statuses, limit=fetch_limit(out, limit),
    )  # fmt: skip
    if out == "table":
        rows = for_table(cap_table(rows, out, limit))
    emit(rows, core.COLUMNS, out, table_columns=TABLE_COLUMNS, raw=raw, kinds=KINDS,
         empty_message="no invoices match", alert="late", drop=TABLE_DROP)  # fmt: skip


@app.command("show")
def show(invoice_ids: RefsArg, fmt: FormatOpt = None, raw: RawOpt = False) -> None:
    """Show invoices with their payments.

    Example: crm invoice show INV-2026-0007    (or its id; several, or - for stdin)
    """
    from crmcli.render import emit_records

    db = database()
    ids, many = refs(db, invoice_ids)
    if not ids:
        info("no ids on stdin: nothing to do")
        return
    records = [core.show(db, i) for i in ids]
    out = fmt_of(fmt)
    if out == "table":
        records = list(for_table(records))
    emit_records(
        records,
        out,
        many=many,
        columns=SHOW_COLUMNS,
        sections={"payments": ("Payments", PAYMENT_TABLE_COLUMNS)},
        raw=raw,
    )


@app.command("void")
def void(
    invoice_ids: RefsArg,
    reason: Annotated[str, opt("Why it is void (kept with it).", "--reason", "-r")],
) -> None:
    """Void invoices: they no longer ask to be paid (the deal can be invoiced again).

    An invoice with payments is not voided: delete its payments first.

    Example: crm invoice void INV-2026-0007 --reason "issued twice"
    """
    db = database()
    ids, many = refs(db, invoice_ids)
    if not ids:
        info("no ids on stdin: nothing to do")
        return
    numbers = []
    with db.write():
        for ident in ids:
            numbers.append(core.void(db, ident, reason)["number"])
    if many:
        info(f"Voided {len(numbers)} invoice{'s' if len(numbers) != 1 else ''}: "
             f"{', '.join(numbers)}")  # fmt: skip
    else:
        info(f"Voided invoice {numbers[0]}")
