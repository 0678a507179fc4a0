"""A deal's line items as an order: unit, discount, tax rate, supplier, delivery.

A deal with items is worth their total by the rule of :mod:`crmcli.core.money.totals`
(discounts per line, tax per rate, half up); without items it keeps the amount typed.
Every function here runs inside the caller's transaction (``db.write()``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from crmcli.core.money.totals import MAX_TAX_BP, line_amounts, parse_rate, totals
from crmcli.core.settings import Config
from crmcli.db import Database
from crmcli.errors import InvalidValue, NotFound, UsageError
from crmcli.text import NAME_MAX, SHORT_MAX, clean

UNIT_MAX = 20  # the schema's limit: pcs, m², licence, tháng …
QUANTITY_MAX = 1_000_000_000

# Every field of a listed item, in output order (stable JSON field names).  ``gross`` is
# quantity × unit price, ``discount`` what the line's discount takes off, ``net`` the rest.
COLUMNS = (
    "id", "deal_id", "position", "product", "unit", "quantity", "unit_price", "discount_bp",
    "discount_amount", "gross", "discount", "net", "tax_bp", "supplier", "delivery_date",
    "delivered_at", "currency",
)  # fmt: skip
# What ``crm deal item edit`` sets and what ``--unset`` clears.
SETTABLE = ("product", "quantity", "unit_price", "unit", "discount", "tax_bp", "supplier",
            "delivery_date")  # fmt: skip
UNSETTABLE = {
    "unit": ("unit",),
    "discount": ("discount_bp", "discount_amount"),
    "tax": ("tax_bp",),
    "supplier": ("supplier",),
    "delivery": ("delivery_date",),
    "delivered": ("delivered_at",),
}

ITEMS_SQL = """
SELECT i.id, i.deal_id, i.position, i.product, i.unit, i.quantity, i.unit_price,
       i.discount_bp, i.discount_amount, i.tax_bp, i.supplier, i.delivery_date,
       i.delivered_at, d.currency
FROM deal_items i JOIN deals d ON d.id = i.deal_id
WHERE i.deal_id = ? ORDER BY i.position, i.id
"""
_ONE_SQL = """
SELECT i.id, i.deal_id, i.product, i.quantity, i.unit_price, i.unit, i.discount_bp,
       i.discount_amount, i.tax_bp, i.supplier, i.delivery_date, i.delivered_at, d.currency
FROM deal_items i JOIN deals d ON d.id = i.deal_id WHERE i.id = ?
"""


def _now() -> str:
    from crmcli.clock import utc_now_iso

    return utc_now_iso()


# -- values -------------------------------------------------------------------------------


def check_quantity(raw: str | int, *, field: str = "--qty") -> int:
    text = str(raw).strip().replace("_", "")
    if not (text.isdecimal() and len(text) <= 18) or not 0 < int(text) <= QUANTITY_MAX:
        raise InvalidValue(field, raw, "must be a whole number from 1 to 1,000,000,000")
    return int(text)


def _price(raw: str, currency: str, field: str) -> int:
    """Money in the deal's ``currency`` (a code of another one, or more decimals than the
    currency has, is refused)."""
    from crmcli.money import parse_money

    money = parse_money(raw.strip(), default_currency=currency, field=field)
    if money.currency != currency:
        raise InvalidValue(field, raw, f"the deal is in {currency}, not {money.currency}")
    return money.amount


def prepare(raw: Mapping[str, str | None], currency: str, config: Config) -> dict[str, Any]:
    """Validate what the user typed for an item of a deal in ``currency``; keys given as
    ``None`` are skipped.  Keys: product, quantity, price, unit, discount (``10%`` or an
    amount), tax, supplier, delivery.  Returns column values (``discount`` sets both
    ``discount_bp`` and ``discount_amount``: one of them, the other cleared)."""
    values: dict[str, Any] = {}
    for name, text in raw.items():
        if text is None:
            continue
        if name == "product":
            values["product"] = clean(text, field="product", limit=NAME_MAX, required=True,
                                      multiline=False)  # fmt: skip
        elif name == "quantity":
            values["quantity"] = check_quantity(text)
        elif name == "price":
            values["unit_price"] = _price(text, currency, "--price")
        elif name == "unit":
            values["unit"] = clean(text, field="--unit", limit=UNIT_MAX, required=True,
                                   multiline=False)  # fmt: skip
        elif name == "discount":
            if text.strip().endswith("%"):
                values["discount_bp"] = parse_rate(text, field="--discount")
                values["discount_amount"] = None
            else:
                values["discount_amount"] = _price(text, currency, "--discount")
                values["discount_bp"] = None
        elif name == "tax":
            values["tax_bp"] = parse_rate(text, field="--tax", maximum=MAX_TAX_BP)
        elif name == "supplier":
            values["supplier"] = clean(text, field="--supplier", limit=SHORT_MAX, required=True,
                                       multiline=False)  # fmt: skip
        elif name == "delivery":
            from crmcli.core.deals import check_date

            values["delivery_date"] = check_date(text, config, field="--delivery")
        else:
            raise UsageError(f"unknown line item field {name!r}")
    return values


def _check_line(line: Mapping[str, Any], raw_discount: str | None) -> None:
    """A line whose fixed discount exceeds its gross, or whose gross does not fit, is
    refused (a discount larger than the line would hide a typo)."""
    from crmcli.money import MAX_AMOUNT

    gross = int(line["quantity"]) * int(line["unit_price"])
    if gross > MAX_AMOUNT:
        raise InvalidValue("--price", line["unit_price"], "quantity × price is too large")
    off = line.get("discount_amount")
    if off is not None and off > gross:
        raise InvalidValue(
            "--discount", raw_discount if raw_discount is not None else off,
            "is more than the line (quantity × price)",
        )  # fmt: skip


# -- reading ------------------------------------------------------------------------------


def _decorate(row: dict[str, Any]) -> dict[str, Any]:
    gross, discount, net = line_amounts(row)
    row["gross"], row["discount"], row["net"] = gross, discount, net
    return {c: row.get(c) for c in COLUMNS}


def rows(db: Database, deal_id: int) -> list[dict[str, Any]]:
    """A deal's items in order, each with its gross, discount and net (no check that the
    deal exists: :func:`summary` does)."""
    return [_decorate(row) for row in db.query(ITEMS_SQL, (deal_id,))]


def summary(db: Database, deal_id: int) -> dict[str, Any]:
    """``{"deal_id", "currency", "items", "totals"}``: the order and its totals."""
    currency = deal_value(db, deal_id)[1]
    items = rows(db, deal_id)
    return {"deal_id": deal_id, "currency": currency, "items": items, "totals": totals(items)}


def deal_value(db: Database, deal_id: int) -> tuple[int | None, str]:
    """The deal's ``(amount, currency)``."""
    row = db.one("SELECT amount, currency FROM deals WHERE id = ?", (deal_id,))
    if row is None:
        raise NotFound("deal", deal_id)
    return row["amount"], row["currency"]


def get(db: Database, item_id: int) -> dict[str, Any]:
    row = db.one(_ONE_SQL, (item_id,))
    if row is None:
        raise NotFound("line item", item_id)
    return row


# -- writing ------------------------------------------------------------------------------


def sync_amount(db: Database, deal_id: int) -> int | None:
    """Set the deal's amount to its items' total (discounts and tax included, the totals
    rule); ``None`` when it has no items left.  Returns the amount."""
    from crmcli.money import MAX_AMOUNT

    items = list(db.query(ITEMS_SQL, (deal_id,)))
    total = totals(items)["total"] if items else None
    if total is not None and total > MAX_AMOUNT:
        raise InvalidValue("--price", total, "the deal's total is too large")
    db.execute(
        "UPDATE deals SET amount = ?, updated_at = ? WHERE id = ? AND amount IS NOT ?",
        (total, _now(), deal_id, total),
    )
    return total


def add(db: Database, deal_id: int, values: Mapping[str, Any], *,
        raw_discount: str | None = None) -> int:  # fmt: skip
    """A line item (``values`` from :func:`prepare`, with product, quantity and
    unit_price) at the end of the deal's order; the deal's amount follows.  Returns its id."""
    db.require("deals", "deal", deal_id)
    line = {"discount_bp": None, "discount_amount": None, **values}
    for key in ("product", "quantity", "unit_price"):
        if line.get(key) is None:
            raise UsageError(f"a line item needs a {key.replace('_', ' ')}")
    _check_line(line, raw_discount)
    position = db.scalar(
        "SELECT coalesce(max(position), 0) + 1 FROM deal_items WHERE deal_id = ?", (deal_id,)
    )
    columns = ("product", "quantity", "unit_price", "unit", "discount_bp", "discount_amount",
               "tax_bp", "supplier", "delivery_date")  # fmt: skip
    cur = db.execute(
        f"INSERT INTO deal_items (uid, deal_id, position, created_at, {', '.join(columns)}) "
        f"VALUES (?, ?, ?, ?, {', '.join('?' * len(columns))})",
        (str(uuid.uuid4()), deal_id, position, _now(), *(line.get(c) for c in columns)),
    )
    sync_amount(db, deal_id)
    return int(cur.lastrowid or 0)


def check_unset(names: Iterable[str]) -> tuple[str, ...]:
    """``--unset`` values (repeatable or comma-separated) as columns to clear."""
    from crmcli.text import split_list

    columns: list[str] = []
    for name in split_list(list(names)):
        key = name.strip().lower()
        if key not in UNSETTABLE:
            raise InvalidValue("--unset", name, f"choose from {', '.join(UNSETTABLE)}")
        columns += UNSETTABLE[key]
    return tuple(dict.fromkeys(columns))


def update(
    db: Database, item_id: int, values: Mapping[str, Any], *, unset: tuple[str, ...] = (),
    raw_discount: str | None = None,
) -> bool:  # fmt: skip
    """Change an item (``values`` from :func:`prepare`; ``unset``: columns from
    :func:`check_unset`); the deal's amount follows.  Returns whether anything changed."""
    current = get(db, item_id)
    changes = dict(values)
    for column in unset:
        if column in changes:
            raise UsageError(f"--unset {column.split('_')[0]} and a new value: choose one")
        changes[column] = None
    line = {**current, **changes}
    _check_line(line, raw_discount)
    changed = {k: v for k, v in changes.items() if current.get(k) != v}
    if not changed:
        return False
    assignments = ", ".join(f"{k} = ?" for k in changed)
    db.execute(f"UPDATE deal_items SET {assignments} WHERE id = ?", [*changed.values(), item_id])
    sync_amount(db, current["deal_id"])
    return True


def delivered(db: Database, item_id: int, at: str) -> bool:
    """Record that an item was delivered ``at`` (UTC ISO text).  Returns whether it changed
    (an item already delivered keeps its first time)."""
    current = get(db, item_id)
    if current["delivered_at"] is not None:
        return False
    db.execute("UPDATE deal_items SET delivered_at = ? WHERE id = ?", (at, item_id))
    return True


def remove(db: Database, item_id: int) -> dict[str, Any]:
    row = get(db, item_id)
    db.execute("DELETE FROM deal_items WHERE id = ?", (item_id,))
    sync_amount(db, row["deal_id"])
    return row
