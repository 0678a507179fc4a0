"""A deal's payment date and paid mark, kept as invoices.

``crm deal won --payment-due``, ``crm deal edit --payment-due`` and ``crm deal paid`` are
shortcuts over :mod:`crmcli.core.money.invoices`: the first invoice of a won deal, the due
date of its one open invoice, payments that settle everything still owed.  What a deal shows
as ``payment_due`` (the earliest due date of its open invoices) and ``paid_at`` (when its
last invoice was paid, once all are) is derived from the invoices: :data:`PAYMENT_DUE_SQL`
and :data:`PAID_AT_SQL`, correlated subqueries on the ``invoices_deal`` index.
"""

from __future__ import annotations

from typing import Any

from crmcli.core.money import invoices
from crmcli.db import Database
from crmcli.errors import InvalidValue, UsageError

# The deal's alias is ``d`` in the queries these go into.
PAYMENT_DUE_SQL = (
    "(SELECT min(i.due_date) FROM invoices i WHERE i.deal_id = d.id AND i.status = 'open')"
)
PAID_AT_SQL = (
    "(SELECT CASE WHEN count(*) > 0 AND NOT max(i.status = 'open') THEN max(i.paid_at) END "
    "FROM invoices i WHERE i.deal_id = d.id AND i.status <> 'void')"
)


def _today() -> str:
    from crmcli.clock import today_local

    return today_local().isoformat()


def _now() -> str:
    from crmcli.clock import utc_now_iso

    return utc_now_iso()


def open_invoices(db: Database, deal_id: int) -> list[dict[str, Any]]:
    """The deal's open invoices, soonest due first, with what each still owes."""
    return list(
        db.query(
            "SELECT i.id, i.number, i.amount, i.due_date, i.issued_on, "
            "i.amount - coalesce((SELECT sum(p.amount) FROM payments p "
            "WHERE p.invoice_id = i.id), 0) AS owed "
            "FROM invoices i WHERE i.deal_id = ? AND i.status = 'open' ORDER BY i.due_date, i.id",
            (deal_id,),
        )
    )


def _uninvoiced(db: Database, deal: dict[str, Any]) -> int:
    return int(deal["amount"] or 0) - invoices.invoiced_so_far(db, deal["id"])


def invoice_rest(db: Database, deal: dict[str, Any], due: str, *, field: str) -> int:
    """A new invoice of what the deal's invoices do not cover yet, due on ``due`` (issued
    today, or on ``due`` when that is earlier: a payment date in the past is recorded as
    it was).  Returns its id."""
    rest = _uninvoiced(db, deal)
    if deal["amount"] is None:
        raise UsageError(
            f"deal {deal['id']} has no amount to invoice: give it one first "
            f"(crm deal edit {deal['id']} --amount …)"
        )
    if rest <= 0:
        raise InvalidValue(
            field, due, f"deal {deal['id']} is invoiced in full; see crm invoice list"
        )
    return invoices.create(db, deal["id"], rest, due, issued_on=min(_today(), due))


def set_due(db: Database, deal: dict[str, Any], due: str, *, field: str = "--payment-due") -> str:
    """Move the due date of the deal's one open invoice to ``due``, or invoice what is not
    invoiced yet when none is open.  Returns ``moved``, ``unchanged`` or ``invoiced``."""
    found = open_invoices(db, deal["id"])
    if len(found) > 1:
        numbers = ", ".join(str(i["number"]) for i in found)
        raise UsageError(
            f"deal {deal['id']} has {len(found)} open invoices ({numbers}): "
            "change their due dates with crm invoice"
        )
    if not found:
        invoice_rest(db, deal, due, field=field)
        return "invoiced"
    invoice = found[0]
    if invoice["due_date"] == due:
        return "unchanged"
    db.execute(
        "UPDATE invoices SET due_date = ?, issued_on = min(issued_on, ?), updated_at = ? "
        "WHERE id = ?",
        (due, due, _now(), invoice["id"]),
    )
    return "moved"


def settle(db: Database, deal: dict[str, Any], *, at: str | None = None) -> int:
    """Record payments (``at``: a UTC instant, default now) that settle every open invoice
    of the deal; a deal without invoices is invoiced first.  Returns how many invoices it
    settled (0: nothing was owed)."""
    when = at or _now()
    day = min(_local_day(when), when[:10])  # a payment is never before its invoice's date
    found = open_invoices(db, deal["id"])
    if not found and invoices.invoiced_so_far(db, deal["id"]) == 0:
        if (deal["amount"] or 0) > 0:
            invoice_rest(db, deal, day, field="--at")
            found = open_invoices(db, deal["id"])
        else:  # nothing to pay: an invoice of 0, paid then
            _paid(db, invoices.create(db, deal["id"], 0, day, issued_on=day), when)
            return 1
    for invoice in found:
        if invoice["owed"] > 0:
            invoices.add_payment(db, invoice["id"], invoice["owed"], at=when)
        else:
            _paid(db, invoice["id"], when)
    return len(found)


def _paid(db: Database, invoice_id: int, at: str) -> None:
    db.execute(
        "UPDATE invoices SET status = 'paid', paid_at = ?, updated_at = ? WHERE id = ?",
        (at, _now(), invoice_id),
    )


def _local_day(instant: str) -> str:
    from datetime import datetime

    moment = datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone()
    return moment.date().isoformat()


IMPORTED_VOID_REASON = "the deal was not won when its payment date was imported"


def record_past(db: Database, deal_id: int, due: str | None, paid_at: str | None) -> None:
    """A deal file's ``payment_due`` and ``paid_at`` as invoices, read as the upgrade reads
    a deal's old columns (migration m007): one invoice of the deal's amount issued when it
    was won, paid at ``paid_at``; unpaid, open when the deal is won and void otherwise."""
    deal = db.one(
        "SELECT d.amount, d.closed_at, s.kind FROM deals d JOIN stages s ON s.id = d.stage_id "
        "WHERE d.id = ?",
        (deal_id,),
    )
    paid_day = _local_day(paid_at) if paid_at else None
    due = due or paid_day
    if deal is None or due is None:
        return
    closed = _local_day(deal["closed_at"]) if deal["closed_at"] else None
    issued = min(d for d in (closed, due, paid_day, paid_at and paid_at[:10]) if d)
    amount = int(deal["amount"] or 0)
    invoice_id = invoices.create(db, deal_id, amount, due, issued_on=issued)
    if paid_at:
        if amount:
            invoices.add_payment(db, invoice_id, amount, at=paid_at)
        _paid(db, invoice_id, paid_at)
    elif deal["kind"] != "won":
        db.execute(
            "UPDATE invoices SET status = 'void', void_reason = ?, voided_at = ?, paid_at = NULL "
            "WHERE id = ?",
            (IMPORTED_VOID_REASON, _now(), invoice_id),
        )
    elif not amount:  # nothing known to be owed, still to be asked for (as before)
        db.execute(
            "UPDATE invoices SET status = 'open', paid_at = NULL WHERE id = ?", (invoice_id,)
        )
