"""Invoices against deals and the payments that settle them.

An invoice is ``open`` until its payments add up to its amount (then ``paid``, with the time
of the payment that settled it) or until it is voided (``void``, with a reason).  "Partly
paid" and "overdue" are read from the payments and the due date, never stored.  Amounts are
integer minor units in the deal's currency.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from crmcli.db import Database
from crmcli.errors import InvalidValue, NotFound, UsageError


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
        raise UsageError(f"invoice {invoice['number']} is {invoice['status']}; no payment is due")
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
    _check_paid_at(when, invoice["issued_on"])
    cursor = db.execute(
        "INSERT INTO payments (uid, invoice_id, amount, paid_at, method, note, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (str(uuid.uuid4()), invoice_id, amount, when, method, note, _now()),
    )
    if amount == owed:  # paid in full when the last of its payments came in
        latest = db.scalar("SELECT max(paid_at) FROM payments WHERE invoice_id = ?", (invoice_id,))
        _settle(db, invoice_id, str(latest or when))
    return int(cursor.lastrowid or 0)


def _check_paid_at(when: str, issued_on: str) -> None:
    """A payment's time (UTC ISO) is neither in the future nor before the invoice's day
    (both read as local dates)."""
    from crmcli.dates import format_local

    local = format_local(when)
    if when > _now():
        raise InvalidValue("--at", local, "is in the future")
    if local[:10] < issued_on:
        raise InvalidValue("--at", local, f"is before the invoice date {issued_on}")


def balance(db: Database, invoice_id: int) -> dict[str, Any]:
    """``amount``, ``paid`` and ``owed`` of one invoice (a void one owes nothing)."""
    row = db.one("SELECT amount, currency, status FROM invoices WHERE id = ?", (invoice_id,))
    if row is None:
        raise NotFound("invoice", invoice_id)
    paid = paid_so_far(db, invoice_id)
    owed = 0 if row["status"] == "void" else row["amount"] - paid
    return {"amount": row["amount"], "currency": row["currency"], "paid": paid, "owed": owed}


# -- the shown status ---------------------------------------------------------------------

# What `invoice list` shows and filters on: void and paid as stored; an open invoice is
# overdue once its due date is past, else partly paid when it has payments, else open.
STATUSES = ("open", "partly-paid", "paid", "overdue", "void")
INSTALLMENTS_MAX = 360

# Every column of a listed invoice, in output order (stable JSON field names).
COLUMNS = (
    "id", "number", "customer_id", "customer", "deal_id", "deal", "issued_on", "due_date",
    "amount", "currency", "paid", "owed", "status", "installment", "installments", "note",
    "paid_at", "void_reason", "voided_at", "uid", "created_at", "updated_at",
)  # fmt: skip
PAYMENT_COLUMNS = (
    "id", "invoice_id", "invoice", "customer_id", "customer", "deal_id", "amount", "currency",
    "paid_at", "method", "note", "uid", "created_at",
)  # fmt: skip
# A payment as `invoice show` lists it.
INVOICE_PAYMENT_COLUMNS = ("id", "amount", "currency", "paid_at", "method", "note")
OWED_COLUMNS = ("currency", "amount")

_PAID = "(SELECT coalesce(sum(p.amount), 0) FROM payments p WHERE p.invoice_id = i.id)"
# What is owed and the shown status are worked out from these in Python (:func:`_decode`):
# in SQL the payments' sum would be read once for each expression that uses it.
_SELECT = f"""
SELECT i.id, i.number, d.customer_id, c.name AS customer, i.deal_id, d.title AS deal,
       i.issued_on, i.due_date, i.amount, i.currency, {_PAID} AS paid, i.status,
       i.installment, i.installments, i.note, i.paid_at, i.void_reason, i.voided_at, i.uid,
       i.created_at, i.updated_at
FROM invoices i JOIN deals d ON d.id = i.deal_id JOIN customers c ON c.id = d.customer_id
"""
_HAS_PAYMENTS = "EXISTS (SELECT 1 FROM payments p WHERE p.invoice_id = i.id)"
# --status in SQL, as :func:`_decode` decides it (``?``: today).
_STATUS_SQL = {
    "void": ("i.status = 'void'", 0),
    "paid": ("i.status = 'paid'", 0),
    "overdue": ("i.status = 'open' AND i.due_date < ?", 1),
    "partly-paid": (f"i.status = 'open' AND i.due_date >= ? AND {_HAS_PAYMENTS}", 1),
    "open": (f"i.status = 'open' AND i.due_date >= ? AND NOT {_HAS_PAYMENTS}", 1),
}


def _decode(row: dict[str, Any], today: str) -> dict[str, Any]:
    """What is owed (nothing on a void invoice) and the shown status (:data:`STATUSES`)."""
    stored = row["status"]
    row["owed"] = 0 if stored == "void" else row["amount"] - row["paid"]
    if stored == "open":
        if row["due_date"] < today:
            row["status"] = "overdue"
        elif row["paid"]:
            row["status"] = "partly-paid"
    return {name: row[name] for name in COLUMNS}  # in the order of the JSON fields


_PAYMENTS = """
SELECT p.id, p.invoice_id, i.number AS invoice, d.customer_id, c.name AS customer,
       i.deal_id, p.amount, i.currency, p.paid_at, p.method, p.note, p.uid, p.created_at
FROM payments p JOIN invoices i ON i.id = p.invoice_id JOIN deals d ON d.id = i.deal_id
     JOIN customers c ON c.id = d.customer_id
"""


def check_status(raw: str, *, field: str = "--status") -> str:
    """A shown status; ``partly paid`` and ``partly_paid`` read as ``partly-paid``."""
    value = "-".join(raw.strip().lower().replace("_", " ").replace("-", " ").split())
    if value not in STATUSES:
        raise InvalidValue(field, raw, f"choose one of {', '.join(STATUSES)}")
    return value


# -- reading ------------------------------------------------------------------------------


def find(db: Database, ref: str | int) -> int:
    """The id of the invoice named by ``ref``: its id, or its number (``INV-2026-0007``)."""
    text = str(ref).strip()
    if text.isascii() and text.isdigit() and len(text) < 19:
        if db.scalar("SELECT 1 FROM invoices WHERE id = ?", (int(text),)):
            return int(text)
    found = db.scalar("SELECT id FROM invoices WHERE number = ?", (text,))
    if found is None:
        raise NotFound("invoice", text)
    return int(found)


def get(db: Database, invoice_id: int) -> dict[str, Any]:
    row = db.one(_SELECT + "WHERE i.id = ?", (invoice_id,))
    if row is None:
        raise NotFound("invoice", invoice_id)
    return _decode(row, _today().isoformat())


def show(db: Database, invoice_id: int) -> dict[str, Any]:
    """One invoice with its payments (oldest first) under ``payments``."""
    record = get(db, invoice_id)
    record["payments"] = list(
        db.query(
            "SELECT id, amount, ? AS currency, paid_at, method, note FROM payments "
            "WHERE invoice_id = ? ORDER BY paid_at, id",
            (record["currency"], invoice_id),
        )
    )
    return record


def list_invoices(
    db: Database,
    *,
    customer_id: int | None = None,
    deal_id: int | None = None,
    open_only: bool = False,
    overdue: bool = False,
    statuses: Sequence[str] = (),
    limit: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Invoices by due date (then id), with what is paid and owed and the shown status;
    streamed (the filters are checked before the first row is asked for)."""
    today = _today().isoformat()
    where: list[str] = []
    params: list[Any] = []
    if customer_id is not None:
        db.require("customers", "customer", customer_id)
        where.append("d.customer_id = ?")
        params.append(customer_id)
    if deal_id is not None:
        db.require("deals", "deal", deal_id)
        where.append("i.deal_id = ?")
        params.append(deal_id)
    if open_only or overdue:
        where.append("i.status = 'open'")
    if overdue:
        where.append("i.due_date < ?")
        params.append(today)
    if statuses:
        chosen = []
        for name in dict.fromkeys(check_status(s) for s in statuses):
            test, uses_today = _STATUS_SQL[name]
            chosen.append(f"({test})")
            params += [today] * uses_today
        where.append("(" + " OR ".join(chosen) + ")")
    sql = _SELECT + ("WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY i.due_date, i.id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return (_decode(row, today) for row in db.query(sql, params))


def for_deal(db: Database, deal_id: int) -> list[dict[str, Any]]:
    return list(list_invoices(db, deal_id=deal_id))


def owed_by_customer(db: Database, customer_id: int) -> list[dict[str, Any]]:
    """What the customer still owes, per currency: every open invoice of their deals less
    its payments (``[{"currency": "EUR", "amount": 120000}]``; nothing owed: ``[]``)."""
    return list(
        db.query(
            "SELECT currency, amount FROM ("
            f"SELECT i.currency, sum(i.amount - {_PAID}) AS amount "
            "FROM invoices i JOIN deals d ON d.id = i.deal_id "
            "WHERE d.customer_id = ? AND i.status = 'open' GROUP BY i.currency"
            ") WHERE amount > 0 ORDER BY currency",
            (customer_id,),
        )
    )


def list_payments(
    db: Database,
    *,
    invoice_id: int | None = None,
    customer_id: int | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Payments by when they were made; ``since``/``until`` are UTC instants (``until``
    excluded)."""
    where: list[str] = []
    params: list[Any] = []
    if invoice_id is not None:
        where.append("p.invoice_id = ?")
        params.append(invoice_id)
    if customer_id is not None:
        db.require("customers", "customer", customer_id)
        where.append("d.customer_id = ?")
        params.append(customer_id)
    if since is not None:
        where.append("p.paid_at >= ?")
        params.append(since)
    if until is not None:
        where.append("p.paid_at < ?")
        params.append(until)
    sql = _PAYMENTS + ("WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY p.paid_at, p.id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return db.query(sql, params)


def get_payment(db: Database, payment_id: int) -> dict[str, Any]:
    row = db.one(_PAYMENTS + "WHERE p.id = ?", (payment_id,))
    if row is None:
        raise NotFound("payment", payment_id)
    return row


# -- values -------------------------------------------------------------------------------


def check_amount(raw: str, currency: str, *, field: str) -> int:
    """Minor units of ``raw`` in ``currency`` (the text may name it; another is refused)."""
    from crmcli.money import parse_money

    money = parse_money(raw.strip(), default_currency=currency, field=field)
    if money.currency != currency:
        raise InvalidValue(field, raw, f"is in {money.currency}; this is in {currency}")
    if money.amount <= 0:
        raise InvalidValue(field, raw, "must be more than zero")
    return money.amount


def check_note(raw: str | None, *, field: str = "--note") -> str | None:
    from crmcli.text import NOTE_MAX, clean

    return None if raw is None else clean(raw, field=field, limit=NOTE_MAX)


def _date(raw: str, field: str, order: str) -> date:
    from crmcli.dates import parse_date

    return parse_date(raw, today=_today(), order=order, field=field)


def split_amount(amount: int, parts: int) -> list[int]:
    """``amount`` in ``parts`` equal minor-unit parts, the remainder on the first."""
    base, rest = divmod(amount, parts)
    return [base + rest] + [base] * (parts - 1)


def schedule(first: date, parts: int, count: int, unit: str) -> list[date]:
    """``parts`` due dates, ``count`` units apart from ``first``; each counted from the
    first, so month ends are kept (31 Jan -> 28 Feb -> 31 Mar)."""
    from datetime import datetime, time

    from crmcli.dates import add_duration

    noon = datetime.combine(first, time(12)).astimezone()
    return [first] + [add_duration(noon, n * count, unit).date() for n in range(1, parts)]


# -- writing ------------------------------------------------------------------------------


def invoice_deal(
    db: Database,
    deal_id: int,
    *,
    amount: str | None = None,
    due: str | None = None,
    issued: str | None = None,
    note: str | None = None,
    installments: int | None = None,
    every: str | None = None,
    order: str = "DMY",
) -> list[int]:
    """Invoice a deal (what the user typed, checked here): ``amount`` (default: what is
    left to invoice of the deal's amount), issued ``issued`` (default today, never in the
    future), due ``due`` (default issued + ``invoice_due_days``); with ``installments`` N
    and ``every`` a step, N invoices due one step apart.  Returns the new ids."""
    from crmcli.core.settings import get as setting
    from crmcli.money import format_money

    deal = db.one(
        "SELECT d.id, d.amount, d.currency, s.kind FROM deals d "
        "JOIN stages s ON s.id = d.stage_id WHERE d.id = ?",
        (deal_id,),
    )
    if deal is None:
        raise NotFound("deal", deal_id)
    currency = deal["currency"]
    if deal["kind"] == "lost":
        raise UsageError(f"deal {deal_id} is lost; a lost deal is not invoiced")
    if deal["amount"] is None:
        raise UsageError(
            f"deal {deal_id} has no amount to invoice; give it one "
            f"(crm deal edit {deal_id} --amount …) or line items"
        )
    done = invoiced_so_far(db, deal_id)
    left = deal["amount"] - done
    if left <= 0:
        raise UsageError(
            f"deal {deal_id} is invoiced in full ({format_money(done, currency)} of "
            f"{format_money(deal['amount'], currency)}); nothing is left to invoice"
        )
    total = left
    if amount is not None:
        total = check_amount(amount, currency, field="--amount")
        if total > left:
            raise InvalidValue(
                "--amount", amount, f"is more than the {format_money(left, currency)} left to "
                f"invoice on deal {deal_id} (total {format_money(deal['amount'], currency)}, "
                f"invoiced {format_money(done, currency)})",
            )  # fmt: skip
    count, unit, parts = 0, "months", 1
    if installments is not None or every is not None:
        if installments is None or every is None:
            raise UsageError("--installments and --every go together: --installments 3 "
                             "--every month")  # fmt: skip
        if not 1 <= installments <= INSTALLMENTS_MAX:
            raise InvalidValue("--installments", installments, f"use 1 to {INSTALLMENTS_MAX}")
        if installments > total:
            raise InvalidValue("--installments", installments, f"{format_money(total, currency)} "
                               "cannot be split into that many parts")  # fmt: skip
        from crmcli.core.recurrence import parse_step

        count, unit = parse_step(every, field="--every")
        parts = installments
    today = _today()
    issued_on = today if issued is None else _date(issued, "--issued", order)
    if issued_on > today:
        raise InvalidValue("--issued", issued, "is in the future")
    if due is None:
        days = int(setting(db, "invoice_due_days") or "14")
        from datetime import timedelta

        first_due = issued_on + timedelta(days=days)
    else:
        first_due = _date(due, "--due", order)
        if first_due < issued_on:
            raise InvalidValue("--due", due, f"is before the invoice date {issued_on}")
    text = check_note(note)
    dues = schedule(first_due, parts, count, unit)
    ids = []
    for n, (part, due_on) in enumerate(zip(split_amount(total, parts), dues, strict=True), 1):
        ids.append(
            create(db, deal_id, part, due_on.isoformat(), issued_on=issued_on.isoformat(),
                   installment=n if parts > 1 else None,
                   installments=parts if parts > 1 else None, note=text)
        )  # fmt: skip
    return ids


def pay(
    db: Database,
    invoice_id: int,
    amount: str,
    *,
    at: str | None = None,
    method: str | None = None,
    note: str | None = None,
    order: str = "DMY",
) -> int:
    """A payment of ``amount`` (text in the invoice's currency) made ``at`` (a date or time
    phrase, default now) on an open invoice; see :func:`add_payment`.  Returns its id."""
    from crmcli.text import SHORT_MAX, clean

    invoice = db.one("SELECT number, currency, status FROM invoices WHERE id = ?", (invoice_id,))
    if invoice is None:
        raise NotFound("invoice", invoice_id)
    if invoice["status"] != "open":
        raise UsageError(f"invoice {invoice['number']} is {invoice['status']}; no payment is due")
    minor = check_amount(amount, invoice["currency"], field="AMOUNT")
    when = None
    if at is not None:
        from crmcli.dates import parse_datetime, to_utc_iso

        when = to_utc_iso(parse_datetime(at, now=None, order=order, field="--at"))
    how = None if method is None else clean(method, field="--method", limit=SHORT_MAX,
                                            multiline=False)  # fmt: skip
    return add_payment(db, invoice_id, minor, at=when, method=how, note=check_note(note))


def void(db: Database, invoice_id: int, reason: str) -> dict[str, Any]:
    """Void an invoice that has no payments (delete them first), with the reason."""
    from crmcli.money import format_money
    from crmcli.text import SHORT_MAX, clean

    text = clean(reason, field="--reason", limit=SHORT_MAX * 5, required=True)
    invoice = get(db, invoice_id)
    if invoice["status"] == "void":
        raise UsageError(f"invoice {invoice['number']} is void already")
    if invoice["paid"]:
        count = db.scalar("SELECT count(*) FROM payments WHERE invoice_id = ?", (invoice_id,))
        raise UsageError(
            f"invoice {invoice['number']} has {count} payment{'s' if count != 1 else ''} "
            f"({format_money(invoice['paid'], invoice['currency'])}); delete them first "
            f"(crm payment list --invoice {invoice_id} -f ids | crm payment delete - --yes)"
        )
    now = _now()
    db.execute(
        "UPDATE invoices SET status = 'void', void_reason = ?, voided_at = ?, paid_at = NULL, "
        "updated_at = ? WHERE id = ?",
        (text, now, now, invoice_id),
    )
    return get(db, invoice_id)


def delete_payment(db: Database, payment_id: int) -> dict[str, Any]:
    """Delete a payment; the invoice it settled is open again."""
    payment = get_payment(db, payment_id)
    db.execute("DELETE FROM payments WHERE id = ?", (payment_id,))
    db.execute(
        "UPDATE invoices SET status = 'open', paid_at = NULL, updated_at = ? "
        "WHERE id = ? AND status = 'paid'",
        (_now(), payment["invoice_id"]),
    )
    return payment
