"""``crm report receivables`` against an independent computation in plain Python.

The database is the random one of the other reports (tests/report_data.py: customers and
deals in VND, JPY, USD and EUR) plus random invoices and payments written here with plain
SQL: partial payments, invoices settled after the day a report is "as of", void invoices
with payments, invoices of zero, due dates exactly 0, 30, 31, 60, 61, 90 and 91 days before
the day asked about, payments on both sides of a local midnight (UTC+7) and issued in the
future.  The expected figures come from the generated rows with zoneinfo and plain loops.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.report_data import Data, build, iso, parse
from tests.test_reports_random import first_day, following, local_day, name_of, same

TODAY = date(2026, 11, 23)
SEEDS = (11, 12, 13)
# Payments on both sides of local midnights (UTC+7): 1 Nov, 1 Oct, 1 Jul 2026, 1 Jan 2026.
MIDNIGHTS = (
    "2026-10-31T17:00:00Z", "2026-10-31T16:59:59Z", "2026-09-30T17:00:00Z",
    "2026-09-30T16:59:59Z", "2026-06-30T17:00:00Z", "2026-06-30T16:59:59Z",
    "2025-12-31T17:00:00Z", "2025-12-31T16:59:59Z",
)  # fmt: skip
AS_OF_DAYS = (TODAY, date(2026, 6, 30), date(2025, 12, 31), date(2026, 10, 31))
LATE = (0, 1, 30, 31, 60, 61, 90, 91, -1)  # days past due on one of AS_OF_DAYS
AGES = ("current", "1-30", "31-60", "61-90", "over 90")
STEP = {"USD": 100, "EUR": 50, "VND": 1_000_000, "JPY": 1_000}


class Books:
    """The report data plus the invoices and payments added here."""

    def __init__(self, data: Data) -> None:
        self.data = data
        self.customer_of = {d["id"]: d["customer_id"] for d in data.deals}
        self.names = {c["id"]: c["name"] for c in data.customers}
        self.invoices: list[dict[str, Any]] = []
        self.payments: list[dict[str, Any]] = []


def _instant_on(rng: random.Random, day: date) -> str:
    """A random instant on local day ``day`` (UTC+7)."""
    start = parse(f"{day.isoformat()}T00:00:00+07:00")
    return iso(start + timedelta(seconds=rng.randrange(86_400)))


def add_books(path: Path, data: Data, seed: int, count: int = 160) -> Books:
    from crmcli.db import open_db

    rng = random.Random(seed)
    books = Books(data)
    db = open_db(path, create=False)
    try:
        with db.write(["test", "invoices", str(seed)]):
            for n in range(count):
                _invoice(db, books, rng, n)
    finally:
        db.close()
    return books


def _invoice(db: Any, books: Books, rng: random.Random, n: int) -> None:
    deal = rng.choice(books.data.deals)
    currency = deal["currency"]
    edges = [(day, late) for day in AS_OF_DAYS for late in LATE]
    roll = rng.random()
    if n < len(edges):  # owed in full, due exactly LATE days before a day asked about
        day, late = edges[n]
        due = day - timedelta(days=late)
        issued = due - timedelta(days=10)
    elif roll < 0.3:  # due a chosen number of days before one of the days asked about
        due = rng.choice(AS_OF_DAYS) - timedelta(days=rng.choice(LATE))
        issued = due - timedelta(days=rng.choice((0, 0, 10, 30, 45)))
    else:
        issued = date(2025, 1, 1) + timedelta(days=rng.randrange(720))
        due = issued + timedelta(days=rng.choice((0, 7, 14, 30, 45, 60, 90, 120)))
    amount = 0 if rng.random() < 0.04 else rng.randint(1, 400) * STEP[currency]
    if n < len(edges):
        amount = max(amount, STEP[currency])
    payments: list[tuple[int, str]] = []
    left = amount
    for _ in range(rng.choice((0, 1, 1, 2, 3)) if n >= len(edges) else 0):
        if left <= 0:
            break
        part = left if rng.random() < 0.4 else rng.randint(1, left)
        pick = rng.random()
        midnights = [m for m in MIDNIGHTS if local_day(m) >= issued]
        if pick < 0.15 and midnights:
            at = rng.choice(midnights)
        elif pick < 0.25:
            at = _instant_on(rng, issued)  # paid the day it was issued
        else:
            at = _instant_on(rng, issued + timedelta(days=rng.randrange(200)))
        payments.append((part, at))
        left -= part
    void = rng.random() < 0.1 and n >= len(edges)
    if void:
        status, paid_at = "void", None
    elif left == 0:
        status = "paid"
        paid_at = max((at for _, at in payments), default=f"{issued.isoformat()}T00:00:00Z")
    else:
        status, paid_at = "open", None
    row = {
        "uid": str(uuid.UUID(int=rng.getrandbits(128))),
        "number": f"T-{n:04d}",
        "deal_id": deal["id"],
        "amount": amount,
        "currency": currency,
        "issued_on": issued.isoformat(),
        "due_date": due.isoformat(),
        "status": status,
        "void_reason": "wrong amount" if void else None,
        "voided_at": "2026-11-01T00:00:00Z" if void else None,
        "paid_at": paid_at,
        "created_at": f"{issued.isoformat()}T01:00:00Z",
        "updated_at": f"{issued.isoformat()}T01:00:00Z",
    }
    cols = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    row["id"] = int(
        db.execute(f"INSERT INTO invoices ({cols}) VALUES ({marks})", list(row.values())).lastrowid
    )
    books.invoices.append(row)
    for part, at in payments:
        pay = {"uid": str(uuid.UUID(int=rng.getrandbits(128))), "invoice_id": row["id"],
               "amount": part, "paid_at": at, "created_at": at}  # fmt: skip
        db.execute(
            "INSERT INTO payments (uid, invoice_id, amount, paid_at, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            list(pay.values()),
        )
        books.payments.append(pay)


# -- the expected report ------------------------------------------------------------------


def owed_at(books: Books, day: date) -> list[dict[str, Any]]:
    """Invoices owed at the end of local ``day``: not void, issued by then, amount less the
    payments made by then (from the payments, not the invoice's status)."""
    paid: dict[int, int] = defaultdict(int)
    for p in books.payments:
        if local_day(p["paid_at"]) <= day:
            paid[p["invoice_id"]] += p["amount"]
    out = []
    for inv in books.invoices:
        if inv["status"] == "void" or date.fromisoformat(inv["issued_on"]) > day:
            continue
        owed = inv["amount"] - paid[inv["id"]]
        if owed > 0:
            late = (day - date.fromisoformat(inv["due_date"])).days
            out.append({**inv, "owed": owed, "late": late})
    return out


def age_of(late: int) -> str:
    if late <= 0:
        return "current"
    if late <= 30:
        return "1-30"
    if late <= 60:
        return "31-60"
    if late <= 90:
        return "61-90"
    return "over 90"


def listed(by: str, rng: tuple[date | None, date], with_data: set[date], today: date) -> list:
    first = first_day(by, rng[0]) if rng[0] else (min(with_data) if with_data else None)
    if first is None:
        return []
    last = max(first_day(by, min(rng[1], today)), first)
    out = set(with_data)
    day = first
    while day <= last:
        out.add(day)
        day = following(by, day)
    return sorted(out)


def expected(books: Books, as_of: date, start: date | None, end: date | None, by: str) -> dict:
    end = as_of if end is None or end > as_of else end
    owed = owed_at(books, as_of)
    per_currency: dict[str, list[dict]] = defaultdict(list)
    for inv in owed:
        per_currency[inv["currency"]].append(inv)
    ageing = []
    for currency in sorted(per_currency):
        invoices = per_currency[currency]
        whole = sum(i["owed"] for i in invoices)
        for age in AGES:
            part = [i for i in invoices if age_of(i["late"]) == age]
            value = sum(i["owed"] for i in part)
            ageing.append({"currency": currency, "age": age, "invoices": len(part),
                           "owed": value, "share_pct": round(100 * value / whole, 1)})  # fmt: skip
        ageing.append({"currency": currency, "age": "total", "invoices": len(invoices),
                       "owed": whole, "share_pct": 100.0})  # fmt: skip
    groups: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for inv in owed:
        groups[(inv["currency"], books.customer_of[inv["deal_id"]])].append(inv)
    customers = []
    for (currency, cid), invoices in groups.items():
        split = {age: sum(i["owed"] for i in invoices if age_of(i["late"]) == age) for age in AGES}
        customers.append({
            "id": cid, "name": books.names[cid], "currency": currency, "invoices": len(invoices),
            "owed": sum(i["owed"] for i in invoices), "current": split["current"],
            "days_1_30": split["1-30"], "days_31_60": split["31-60"],
            "days_61_90": split["61-90"], "over_90": split["over 90"],
            "oldest_due": min(i["due_date"] for i in invoices),
        })  # fmt: skip
    customers.sort(key=lambda r: (r["currency"], -r["owed"], r["id"]))
    # Days sales outstanding: owed at the end of the range / invoiced in it × its days.
    held: dict[str, int] = defaultdict(int)
    for inv in owed_at(books, end):
        held[inv["currency"]] += inv["owed"]
    billed: dict[str, list[dict]] = defaultdict(list)
    for inv in books.invoices:
        issued = date.fromisoformat(inv["issued_on"])
        if inv["status"] != "void" and (start is None or issued >= start) and issued <= end:
            billed[inv["currency"]].append(inv)
    dso = []
    for currency in sorted(set(held) | set(billed)):
        invoiced = sum(i["amount"] for i in billed[currency])
        first = start or min(date.fromisoformat(i["issued_on"]) for i in billed[currency])
        days = (end - first).days + 1
        dso.append({"currency": currency, "first_day": first.isoformat(),
                    "last_day": end.isoformat(), "days": days, "invoiced": invoiced,
                    "receivables": held[currency],
                    "dso_days": round(held[currency] * days / invoiced, 1) if invoiced else None,
                    })  # fmt: skip
    # Collected per local period of the range.
    void = {i["id"] for i in books.invoices if i["status"] == "void"}
    currency_of = {i["id"]: i["currency"] for i in books.invoices}
    cells: dict[date, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for p in books.payments:
        day = local_day(p["paid_at"])
        if p["invoice_id"] in void or day > end or (start is not None and day < start):
            continue
        cells[first_day(by, day)][currency_of[p["invoice_id"]]].append(p["amount"])
    collected = []
    for period in listed(by, (start, end), set(cells), as_of) if cells else []:
        if period not in cells:
            collected.append({"period": name_of(by, period), "currency": None, "payments": 0,
                              "collected": None})  # fmt: skip
        for currency in sorted(cells.get(period, {})):
            amounts = cells[period][currency]
            collected.append({"period": name_of(by, period), "currency": currency,
                              "payments": len(amounts), "collected": sum(amounts)})  # fmt: skip
    return {
        "report": "receivables", "as_of": as_of.isoformat(),
        "from": start and start.isoformat(), "to": end.isoformat(), "by": by,
        "ageing": ageing, "customers": customers, "dso": dso, "collected": collected,
    }  # fmt: skip


@pytest.fixture(params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def books(request, db_path: Path) -> Books:
    return add_books(db_path, build(db_path, request.param), request.param)


CASES = [
    ((), TODAY, (date(2026, 1, 1), None), "month"),
    (("--as-of", "2026-06-30"), date(2026, 6, 30), (date(2026, 1, 1), None), "month"),
    (("--as-of", "2025-12-31", "--period", "all", "--by", "quarter"), date(2025, 12, 31),
     (None, None), "quarter"),
    (("--as-of", "2026-10-31", "--from", "2026-08-01", "--by", "month"), date(2026, 10, 31),
     (date(2026, 8, 1), None), "month"),
    (("--as-of", "2026-11-01", "--period", "last-year", "--by", "year"), date(2026, 11, 1),
     (date(2025, 1, 1), date(2025, 12, 31)), "year"),
    (("--to", "2026-03-31", "--by", "quarter"), TODAY, (None, date(2026, 3, 31)), "quarter"),
    (("--as-of", "10 days ago", "--period", "this-month"), date(2026, 11, 13),
     (date(2026, 11, 1), None), "month"),
    (("--as-of", "2027-01-10"), date(2027, 1, 10), (date(2027, 1, 1), None), "month"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "as_of", "rng", "by"), CASES)
def test_receivables(crm, books, args, as_of, rng, by) -> None:
    result = crm("report", "receivables", *args, "-f", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    want = expected(books, as_of, rng[0], rng[1], by)
    assert document["ageing"] or document["dso"], "the random books owe nothing"
    same(document, want)


def test_record_formats_carry_the_same_numbers(crm, books) -> None:
    document = json.loads(crm("report", "receivables", "-f", "json").stdout)
    for section in ("ageing", "customers", "dso", "collected"):
        lines = crm("report", "receivables", "--section", section, "-f", "jsonl").stdout
        assert [json.loads(line) for line in lines.splitlines()] == document[section]
        tsv = crm("report", "receivables", "--section", section, "-f", "tsv").stdout.splitlines()
        assert len(tsv) == 1 + len(document[section])
        assert tsv[0].split("\t") == list(document[section][0])
    ids = crm("report", "receivables", "--section", "customers", "-f", "ids").stdout.split()
    assert ids == list(dict.fromkeys(str(row["id"]) for row in document["customers"]))


def test_the_random_books_have_what_matters(books) -> None:
    """The generator really makes the awkward cases the figures are checked on."""
    statuses = {i["status"] for i in books.invoices}
    assert statuses == {"open", "paid", "void"}
    void = {i["id"] for i in books.invoices if i["status"] == "void"}
    assert any(p["invoice_id"] in void for p in books.payments)  # a void invoice had payments
    assert any(i["amount"] == 0 for i in books.invoices)
    assert {p["paid_at"] for p in books.payments} & set(MIDNIGHTS)
    assert {i["currency"] for i in books.invoices} == set(STEP)
    settled_later = [
        i for i in books.invoices
        if i["status"] == "paid" and i["amount"] and local_day(i["paid_at"]) > date(2026, 6, 30)
        and i["issued_on"] <= "2026-06-30"
    ]  # fmt: skip
    assert settled_later  # paid after an as-of day: still owed on it
    ages = {age_of(i["late"]) for i in owed_at(books, TODAY)}
    assert ages == set(AGES)
    lates = {i["late"] for day in AS_OF_DAYS for i in owed_at(books, day)}
    assert {0, 30, 31, 60, 61, 90, 91} <= lates
