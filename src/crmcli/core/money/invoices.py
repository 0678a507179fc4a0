"""Invoices against deals and the payments that settle them.

An invoice is ``open`` until its payments add up to its amount (then ``paid``, with the time
of the payment that settled it) or until it is voided (``void``, with a reason).  "Partly
paid" and "overdue" are read from the payments and the due date, never stored.  Amounts are
integer minor units in the deal's currency.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from crmcli.db import Database
from crmcli.errors import CrmError, InvalidValue, NotFound


def _now() -> str:
    from crmcli.clock import utc_now_iso

    return utc_now_iso()


def _today() -> date:
    from crmcli.clock import today_local

    return today_local()


def paid_so_far(db: Database, invoice_id: int) -> int:
    """What the payments of one invoice add up to."""
    return int(
        db.scalar(
            "SELECT coalesce(sum(amount), 0) FROM payments WHERE invoice_id = ?", (invoice_id,)
        )  # fmt: skip
    )


def invoiced_so_far(db: Database, deal_id: int) -> int:
    """What the deal's invoices (but the void ones) add up to."""
    return int(
        db.scalar(
            "SELECT coalesce(sum(amount), 0) FROM invoices WHERE deal_id = ? AND status <> 'void'",
            (deal_id,),
        )
    )


def create(
    db: Database,
    deal_id: int,
    amount: int,
    due_date: str,
    *,
    issued_on: str | None = None,
    installment: int | None = None,
    installments: int | None = None,
    note: str | None = None,
    number: str | None = None,
) -> int:
    """A new open invoice of ``amount`` (minor units of the deal's currency) due on
    ``due_date``; numbered by the ``invoice_number`` setting unless ``number`` is given.
    Returns its id."""
    from crmcli.core.money.numbering import next_number
    from crmcli.core.settings import get

    deal = db.one("SELECT id, currency FROM deals WHERE id = ?", (deal_id,))
    if deal is None:
        raise NotFound("deal", deal_id)
    issued = issued_on or _today().isoformat()
    if due_date < issued:
        raise InvalidValue("--due", due_date, f"is before the invoice date {issued}")
    if number is None:
        pattern = get(db, "invoice_number") or "INV-{year}-{seq:04d}"
        number = next_number(db, "invoice", pattern, date.fromisoformat(issued), table="invoices")
    elif db.scalar("SELECT 1 FROM invoices WHERE number = ?", (number,)):
        raise InvalidValue("number", number, "is taken by another invoice")
    now = _now()
    cursor = db.execute(
        "INSERT INTO invoices (uid, number, deal_id, amount, currency, issued_on, due_date, "
        "installment, installments, note, status, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)",
        (str(uuid.uuid4()), number, deal_id, amount, deal["currency"], issued, due_date,
         installment, installments, note, now, now),
    )  # fmt: skip
    invoice_id = int(cursor.lastrowid or 0)
    if amount == 0:
        _settle(db, invoice_id, now)
    return invoice_id


def _settle(db: Database, invoice_id: int, at: str) -> None:
    db.execute(
        "UPDATE invoices SET status = 'paid', paid_at = ?, updated_at = ? WHERE id = ?",
        (at, _now(), invoice_id),
    )


def add_payment(
    db: Database,
    invoice_id: int,
    amount: int,
    *,
    at: str | None = None,
    method: str | None = None,
    note: str | None = None,
) -> int:
    """Record a payment of ``amount`` against an open invoice (``at``: a UTC ISO instant,
    default now).  Paying more than is owed is refused; the payment that settles the
    invoice marks it paid.  Returns the payment's id."""
    invoice = db.one(
        "SELECT id, number, amount, currency, status, issued_on FROM invoices WHERE id = ?",
        (invoice_id,),
    )
    if invoice is None:
        raise NotFound("invoice", invoice_id)
    if invoice["status"] != "open":
        raise CrmError(f"invoice {invoice['number']} is {invoice['status']}; no payment is due")
    if amount <= 0:
        raise InvalidValue("AMOUNT", amount, "must be more than zero")
    from crmcli.money import format_money

    owed = invoice["amount"] - paid_so_far(db, invoice_id)
    if amount > owed:
        raise InvalidValue(
            "AMOUNT",
            format_money(amount, invoice["currency"]),
            f"is more than the {format_money(owed, invoice['currency'])} "
            f"still owed on invoice {invoice['number']}",
        )
    when = at or _now()
    if when[:10] < invoice["issued_on"]:
        raise InvalidValue("--at", when, f"is before the invoice date {invoice['issued_on']}")
    cursor = db.execute(
        "INSERT INTO payments (uid, invoice_id, amount, paid_at, method, note, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (str(uuid.uuid4()), invoice_id, amount, when, method, note, _now()),
    )
    if amount == owed:
        _settle(db, invoice_id, when)
    return int(cursor.lastrowid or 0)


def balance(db: Database, invoice_id: int) -> dict[str, Any]:
    """``amount``, ``paid`` and ``owed`` of one invoice (a void one owes nothing)."""
    row = db.one("SELECT amount, currency, status FROM invoices WHERE id = ?", (invoice_id,))
    if row is None:
        raise NotFound("invoice", invoice_id)
    paid = paid_so_far(db, invoice_id)
    owed = 0 if row["status"] == "void" else row["amount"] - paid
    return {"amount": row["amount"], "currency": row["currency"], "paid": paid, "owed": owed}
