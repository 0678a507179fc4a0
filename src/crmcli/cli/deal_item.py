"""``crm deal item …``: a deal's line items as an order (unit, discount, tax, supplier,
delivery) and their totals."""

import sys
from collections.abc import Iterable, Iterator
from typing import Annotated, Any

import typer

from crmcli.cli.options import (
    FormatOpt,
    RawOpt,
    batch_info,
    database,
    fmt_of,
    group,
    ids_argument,
    info,
    naming,
    no_ids,
    opt,
    parse_when,
    read_ids,
)

item_app = group(
    "Line items (product, quantity, price, unit, discount, tax, supplier, delivery): "
    "a deal with items is worth their total."
)

# The order on a terminal: what a seller checks before sending it.
TABLE_COLUMNS = ("id", "product", "quantity", "unit", "price", "discount", "tax", "net",
                 "supplier", "delivery_date", "delivered_at")  # fmt: skip
TABLE_DROP = ("delivered_at", "supplier", "unit", "discount", "tax")  # narrow terminals: first
TOTAL_COLUMNS = ("totals", "amount")

DealArg = Annotated[int, typer.Argument(metavar="DEAL", help="Deal id.", show_default=False)]


def named(help_text: str, metavar: str, *names: str) -> Any:
    """An option with its own placeholder (``--tax RATE``)."""
    return typer.Option(*names, help=help_text, metavar=metavar, show_default=False)


Unit = Annotated[str | None, named("Unit of the quantity: pcs, hours, licence, m² …", "UNIT")]
Discount = Annotated[
    str | None,
    named(
        "Discount on the line: a percentage (10%) or an amount (50, '200.000 VND').",
        "PERCENT|AMOUNT",
    ),  # fmt: skip
]
Tax = Annotated[str | None, named("Tax rate of the line (VAT): 0, 5%, 8%, 10%, 8.5%.", "RATE")]
Supplier = Annotated[str | None, named("Who supplies it (for the order).", "TEXT")]
Delivery = Annotated[str | None, named("Delivery date: 2026-12-15, 'in 2 weeks', friday …", "DATE")]


def _config(db: Any) -> Any:
    from crmcli.core.settings import load

    return load(db)


def _money(amount: int | None, currency: str | None) -> str:
    if amount is None or currency is None:
        return ""
    from crmcli.money import format_money

    return format_money(amount, currency)


def for_table(items: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Items as a person reads them: amounts in the deal's currency, rates in %."""
    from crmcli.core.money.totals import format_rate

    for item in items:
        currency = item["currency"]
        row = dict(item)
        row["price"] = _money(item["unit_price"], currency)
        if item["discount_bp"] is not None:
            row["discount"] = format_rate(item["discount_bp"])
        elif item["discount_amount"] is not None:
            row["discount"] = _money(item["discount_amount"], currency)
        else:
            row["discount"] = ""
        row["tax"] = format_rate(item["tax_bp"])
        row["net"] = _money(item["net"], currency)
        yield row


def total_rows(totals: dict[str, Any], currency: str) -> list[dict[str, Any]]:
    """The totals as lines: subtotal, discount, net, tax per rate, total."""
    from crmcli.core.money.totals import format_rate

    lines = [("Subtotal", totals["subtotal"])]
    if totals["discount"]:
        lines += [("Discount", -totals["discount"]), ("Net", totals["net"])]
    for tax in totals["taxes"]:
        base = _money(tax["base"], currency)
        lines.append((f"Tax {format_rate(tax['rate_bp'])} on {base}", tax["tax"]))
    lines.append(("Total", totals["total"]))
    return [{"totals": label, "amount": _money(amount, currency)} for label, amount in lines]


def kinds() -> dict[str, str]:
    from crmcli.render import MONEY, PERCENT

    return {"discount": MONEY, "tax": PERCENT}


@item_app.command("add")
def item_add(
    deal_id: DealArg,
    product: Annotated[str, typer.Argument(help="Product or service.", show_default=False)],
    quantity: Annotated[
        str | None, typer.Argument(metavar="QTY", help="Quantity (or --qty).", show_default=False)
    ] = None,
    unit_price: Annotated[
        str | None,
        typer.Argument(metavar="PRICE", help="Unit price (or --price).", show_default=False),
    ] = None,
    qty: Annotated[str | None, opt("Quantity, a whole number (default 1).", "--qty", "-q")] = None,
    price: Annotated[
        str | None, opt("Unit price in the deal's currency (default 0).", "--price", "-p")
    ] = None,
    unit: Unit = None,
    discount: Discount = None,
    tax: Tax = None,
    supplier: Supplier = None,
    delivery: Delivery = None,
) -> None:
    """Add a line item to a deal; prints its id.  The deal's amount becomes the items' total.

    The total follows one rule: a line's discount is taken off quantity × price, tax is
    computed per rate on the sum of the lines with that rate, both rounded half up to the
    currency's minor unit.

    Example: crm deal item add 7 Router 3 2.490.000 --tax 10% --delivery "in 2 weeks"
    """
    from crmcli.core.money import items as core
    from crmcli.errors import UsageError

    if quantity is not None and qty is not None:
        raise UsageError("give the quantity once: QTY or --qty")
    if unit_price is not None and price is not None:
        raise UsageError("give the price once: PRICE or --price")
    db = database()
    config = _config(db)
    currency = core.deal_value(db, deal_id)[1]
    raw = {"product": product, "quantity": quantity or qty or "1", "price": unit_price or price
           or "0", "unit": unit, "discount": discount, "tax": tax, "supplier": supplier,
           "delivery": delivery}  # fmt: skip
    values = core.prepare(raw, currency, config)
    with db.write():
        item_id = core.add(db, deal_id, values, raw_discount=discount)
        amount = core.deal_value(db, deal_id)[0]
    print(item_id)
    info(f"Added item {item_id}; deal {deal_id} is now {_money(amount, currency)}")


@item_app.command("edit")
def item_edit(
    item_ids: Annotated[list[str], ids_argument("Line item")],
    product: Annotated[str | None, named("Product or service.", "TEXT")] = None,
    quantity: Annotated[
        str | None, named("Quantity, a whole number.", "N", "--quantity", "--qty")
    ] = None,
    price: Annotated[str | None, opt("Unit price in the deal's currency.", "--price")] = None,
    unit: Unit = None,
    discount: Discount = None,
    tax: Tax = None,
    supplier: Supplier = None,
    delivery: Delivery = None,
    unset: Annotated[
        list[str] | None,
        typer.Option(
            "--unset",
            metavar="FIELD",
            help="Clear fields (repeatable or comma-separated): unit, discount, tax, "
            "supplier, delivery, delivered.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Change line items; the deal's amount follows their total.

    Several ids (or - for ids on stdin) change together in one transaction: all or none.

    Example: crm deal item edit 12 --discount 5% --delivery 2026-12-20 --unset supplier
    """
    from crmcli.core.money import items as core

    ids = read_ids(item_ids)
    if no_ids(ids):
        return
    columns = core.check_unset(unset or ())
    db = database()
    config = _config(db)
    raw = {"product": product, "quantity": quantity, "price": price, "unit": unit,
           "discount": discount, "tax": tax, "supplier": supplier,
           "delivery": delivery}  # fmt: skip
    changed = 0
    with db.write():
        for item_id in ids:
            with naming("line item", item_id, ids):
                item = core.get(db, item_id)
                values = core.prepare(raw, item["currency"], config)
                changed += core.update(db, item_id, values, unset=columns, raw_discount=discount)
    if ids.many:
        batch_info("Updated", "line item", ids)
    elif changed:
        amount = core.deal_value(db, item["deal_id"])[0]
        info(f"Updated item {ids[0]}; deal {item['deal_id']} is now "
             f"{_money(amount, item['currency'])}")  # fmt: skip
    else:
        info(f"Item {ids[0]} already reads so; nothing changed")


@item_app.command("delivered")
def item_delivered(
    item_ids: Annotated[list[str], ids_argument("Line item")],
    at: Annotated[str | None, opt("When it was delivered (default: now).")] = None,
) -> None:
    """Record that line items were delivered (their delivery reminders stop).

    Undo a mistake with crm undo, or crm deal item edit ID --unset delivered.

    Example: crm deal item delivered 12 13 --at yesterday

    Example: crm remind due --kind delivery -f ids | crm deal item delivered -
    """
    from crmcli.core.money import items as core

    ids = read_ids(item_ids)
    if no_ids(ids):
        return
    db = database()
    when = parse_when(at, "--at", db) if at else None
    if when is None:
        from crmcli.clock import utc_now_iso

        when = utc_now_iso()
    changed = 0
    with db.write():
        for item_id in ids:
            changed += core.delivered(db, item_id, when)
    if ids.many:
        batch_info("Delivered", "line item", ids)
    elif changed:
        info(f"Item {ids[0]} marked delivered")
    else:
        info(f"Item {ids[0]} was already delivered")


@item_app.command("list")
def item_list(deal_id: DealArg, fmt: FormatOpt = None, raw: RawOpt = False) -> None:
    """A deal's line items and their totals (subtotal, discounts, tax per rate, total).

    -f json is one object with deal_id, currency, items (a list) and totals (subtotal,
    discount, net, taxes per rate, tax, total); tsv, csv and jsonl give a row per item.
    Amounts are in minor units, rates in basis points (10% = 1000).

    Example: crm deal item list 7

    Example: crm deal item list 7 -f json | jq .totals.total
    """
    from crmcli.core.money import items as core
    from crmcli.render import emit

    out = fmt_of(fmt)
    order = core.summary(database(), deal_id)
    if out == "json":
        from crmcli.render import to_json_document

        sys.stdout.write(to_json_document(order) + "\n")
        return
    if out != "table":
        emit(order["items"], core.COLUMNS, out, raw=raw)
        return
    if not order["items"]:
        info(f"deal {deal_id} has no line items")
        return
    emit(list(for_table(order["items"])), core.COLUMNS, out, table_columns=TABLE_COLUMNS,
         raw=raw, kinds=kinds(), drop=TABLE_DROP, keep=("id", "product", "net"),
         title=f"Deal {deal_id}: line items")  # fmt: skip
    sys.stdout.write("\n")
    emit(total_rows(order["totals"], order["currency"]), TOTAL_COLUMNS, out, raw=raw,
         kinds={"amount": "money", "totals": "text"}, keep=TOTAL_COLUMNS)  # fmt: skip


@item_app.command("remove")
def item_remove(
    item_id: Annotated[int, typer.Argument(metavar="ITEM", help="Item id.", show_default=False)],
) -> None:
    """Remove a line item; the deal's amount is the total of the items left.

    Example: crm deal item remove 12
    """
    from crmcli.core.money import items as core

    db = database()
    with db.write():
        row = core.remove(db, item_id)
        amount = core.deal_value(db, row["deal_id"])[0]
    value = _money(amount, row["currency"]) or "no amount"
    info(f"Removed item {item_id} ({row['product']}); deal {row['deal_id']} is now {value}")
