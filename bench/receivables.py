"""Invoices and payments for the benchmark's sales database, and the SQL of `crm report
receivables` for the sqlite3 shell (imported by bench/run.py).

The invoices bill the won deals with an amount: each invoice picks a won deal (seeded), bills
a third, a half or all of its amount in the deal's currency, is issued up to 20 days after
the win and due 15 to 60 days later.  Payments: about two per invoice on average, exactly
``payments`` in all; older invoices are more often settled in full (then ``paid`` with the
time of their last payment), the others partly or not at all; 2 % are void.  Every row goes
through the schema's audit triggers inside crm's command bookkeeping, like the deals.
"""

from __future__ import annotations

import calendar
import random
import sqlite3
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

SALES_INVOICES = 500_000
SALES_PAYMENTS = 1_000_000
DAY_S = 86_400
VOID_SHARE = 0.02
PAYMENT_COUNTS = (0, 1, 1, 2, 2, 3, 3, 4)  # per invoice before the total is evened out
SHARES = (1, 1, 2, 2, 3)  # an invoice bills 1/1, 1/2 or 1/3 of its deal
INVOICE_COLUMNS = (
    "id", "uid", "number", "deal_id", "amount", "currency", "issued_on", "due_date", "status",
    "void_reason", "voided_at", "paid_at", "created_at", "updated_at",
)  # fmt: skip
PAYMENT_COLUMNS = ("uid", "invoice_id", "amount", "paid_at", "method", "created_at")
METHODS = ("bank transfer", "bank transfer", "bank transfer", "cash", "card", None)
BATCH = 20_000


def _iso_time(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _iso_date(ts: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def _split(rng: random.Random, total: int, parts: int) -> list[int]:
    """``total`` in ``parts`` positive parts (``total`` >= ``parts``)."""
    cuts = sorted(rng.sample(range(1, total), parts - 1)) if parts > 1 else []
    edges = [0, *cuts, total]
    return [b - a for a, b in zip(edges, edges[1:], strict=False)]


def receivable_rows(
    won: Sequence[tuple[int, int, str, int]], invoices: int, payments: int, seed: int, now: int
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Invoice rows (INVOICE_COLUMNS) and payment rows (PAYMENT_COLUMNS) over ``won``
    deals: (id, amount, currency, closed_at epoch seconds)."""
    rng = random.Random(seed)
    if not won:
        return [], []
    plan = []
    for n in range(invoices):
        deal_id, amount, currency, closed = won[rng.randrange(len(won))]
        issued = min(now, closed + rng.randrange(21) * DAY_S)
        due = issued + rng.choice((15, 30, 30, 45, 60)) * DAY_S
        bill = max(1, amount // rng.choice(SHARES))
        void = rng.random() < VOID_SHARE
        count = 0 if void else min(bill, rng.choice(PAYMENT_COUNTS))
        plan.append([n + 1, deal_id, bill, currency, issued, due, void, count])
    # Even the payments out to exactly ``payments``.
    total = sum(p[7] for p in plan)
    payable = [p for p in plan if not p[6]]
    payments = min(payments, sum(min(p[2], 12) for p in payable))
    while total < payments:
        p = payable[rng.randrange(len(payable))]
        if p[7] < min(p[2], 12):
            p[7] += 1
            total += 1
    while total > payments:
        p = plan[rng.randrange(len(plan))]
        if p[7] > 0:
            p[7] -= 1
            total -= 1
    invoice_rows: list[tuple[Any, ...]] = []
    payment_rows: list[tuple[Any, ...]] = []
    for inv_id, deal_id, bill, currency, issued, due, void, count in plan:
        age_days = (now - due) / DAY_S
        settled_share = 0.9 if age_days > 60 else 0.6 if age_days > 0 else 0.3
        full = count > 0 and rng.random() < settled_share
        paid_total = bill if full else (bill * rng.randint(10, 90) // 100 if count else 0)
        paid_total = max(paid_total, count)
        if paid_total >= bill and not full:
            full = True
            paid_total = bill
        last = min(now, max(due + 120 * DAY_S, issued + DAY_S))
        times = sorted(rng.randint(issued, max(issued, last)) for _ in range(count))
        for part, at in zip(_split(rng, paid_total, count) if count else [], times, strict=True):
            uid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            payment_rows.append((uid, inv_id, part, _iso_time(at), rng.choice(METHODS),
                                 _iso_time(at)))  # fmt: skip
        status = "void" if void else "paid" if full else "open"
        made = _iso_time(issued)
        invoice_rows.append((
            inv_id, str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            f"INV-{_iso_date(issued)[:4]}-{inv_id:07d}", deal_id, bill, currency,
            _iso_date(issued), _iso_date(due), status, "issued twice" if void else None,
            made if void else None, _iso_time(times[-1]) if full else None, made,
            _iso_time(times[-1]) if full else made,
        ))  # fmt: skip
    return invoice_rows, payment_rows


def insert_receivables(
    conn: sqlite3.Connection,
    invoices: int,
    payments: int,
    now: int,
    begin: Callable[[sqlite3.Connection, Sequence[str]], None],
    end: Callable[[sqlite3.Connection], None],
) -> dict[str, Any]:
    """Insert the invoices and payments in one transaction (``begin``/``end``: crm's command
    bookkeeping, so the audit triggers fire); returns what was written."""
    won = [
        (deal_id, amount, currency, calendar.timegm(time.strptime(closed, "%Y-%m-%dT%H:%M:%SZ")))
        for deal_id, amount, currency, closed in conn.execute(
            "SELECT d.id, d.amount, d.currency, d.closed_at FROM deals d "
            "JOIN stages s ON s.id = d.stage_id WHERE s.kind = 'won' AND d.amount > 0 "
            "ORDER BY d.id"
        )
    ]
    invoice_rows, payment_rows = receivable_rows(won, invoices, payments, invoices + payments, now)
    begin(conn, ["bench/run.py", "invoices"])
    invoice_sql = (
        f"INSERT INTO invoices ({', '.join(INVOICE_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(INVOICE_COLUMNS))})"
    )
    payment_sql = (
        f"INSERT INTO payments ({', '.join(PAYMENT_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(PAYMENT_COLUMNS))})"
    )
    for start in range(0, len(invoice_rows), BATCH):
        conn.executemany(invoice_sql, invoice_rows[start : start + BATCH])
    for start in range(0, len(payment_rows), BATCH):
        conn.executemany(payment_sql, payment_rows[start : start + BATCH])
    end(conn)
    statuses = dict(conn.execute("SELECT status, count(*) FROM invoices GROUP BY status"))
    return {
        "invoices": len(invoice_rows),
        "payments": len(payment_rows),
        "won_deals": len(won),
        "statuses": statuses,
    }


def report_queries(today: date) -> dict[str, tuple[str, list[Any]]]:
    """The SQL `crm report receivables -f json` runs with its default options (as of today,
    this year, by month): one ``(sql, params)`` per section."""
    from crmcli.core import periods
    from crmcli.core.money.receivables import clip, receivables_sql

    rng = clip(periods.period_range("this-year", today), today)
    return receivables_sql(rng, "month", today)


def notes(meta: dict[str, Any]) -> list[str]:
    """What the benchmark says about the invoices it made."""
    made = meta.get("receivables") or {}
    if not made:
        return []
    statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(made["statuses"].items()))
    return [
        f"Receivables: {made['invoices']:,} invoices ({statuses}) over {made['won_deals']:,} "
        f"won deals and {made['payments']:,} payments, inserted through the audit triggers "
        f"in {float(made['seconds']):.1f} s; `crm report receivables -f json` runs as of "
        "the pinned day (this year, by month), `crm remind due` on the same database."
    ]
