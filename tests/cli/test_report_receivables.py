"""``crm report receivables`` in-process: a seller's invoices and payments, the as-of day,
local midnights, void invoices, every format, bad input.

The figures on random books are checked in tests/test_receivables_random.py; here the
stories.  The clock is CRM_NOW (2026-11-23 10:00, Asia/Ho_Chi_Minh) from tests/conftest.py.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from crmcli.db import open_db
from tests.conftest import dump


def ok(result) -> str:
    assert result.exit_code == 0, result.stderr
    return result.stdout


def new_id(result) -> int:
    return int(ok(result).split()[-1])


def doc(crm, *args: str) -> dict:
    return json.loads(ok(crm("report", "receivables", *args, "-f", "json")))


class Books:
    """Invoices and payments written with the core functions (the commands that write them
    are tested on their own)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def invoice(self, deal: int, amount: int, due: str, issued: str) -> int:
        from crmcli.core.money import invoices

        db = open_db(self.path, create=False)
        try:
            with db.write(["test", "invoice"]):
                return invoices.create(db, deal, amount, due, issued_on=issued)
        finally:
            db.close()

    def pay(self, invoice: int, amount: int, at: str) -> int:
        from crmcli.core.money import invoices

        db = open_db(self.path, create=False)
        try:
            with db.write(["test", "payment"]):
                return invoices.add_payment(db, invoice, amount, at=at)
        finally:
            db.close()

    def void(self, invoice: int) -> None:
        db = open_db(self.path, create=False)
        try:
            with db.write(["test", "void"]):
                db.execute(
                    "UPDATE invoices SET status = 'void', void_reason = 'duplicate', "
                    "voided_at = '2026-11-20T00:00:00Z' WHERE id = ?",
                    (invoice,),
                )
        finally:
            db.close()


@pytest.fixture
def books(crm, db_path: Path) -> Books:
    """Two customers: An Phát owes VND, Blue Ocean USD (minor units: cents)."""
    an = new_id(crm("customer", "add", "Công ty An Phát"))
    blue = new_id(crm("customer", "add", "Blue Ocean Ltd"))
    for customer, amount in ((an, "450.000.000 VND"), (blue, "$12,000"), (blue, "$3,000")):
        deal = new_id(crm("deal", "add", "Deal", "--customer", str(customer), "--amount", amount))
        ok(crm("deal", "won", str(deal)))
    return Books(db_path)


def test_owed_by_age_per_currency_and_customer(crm, books) -> None:
    erp = books.invoice(1, 200_000_000, "2026-08-15", "2026-07-15")  # 100 days late
    books.invoice(1, 250_000_000, "2026-11-30", "2026-10-30")  # not yet due
    books.pay(erp, 50_000_000, "2026-08-20T03:00:00Z")
    laptops = books.invoice(2, 600_000, "2026-10-24", "2026-10-01")  # 30 days late
    books.pay(laptops, 100_000, "2026-11-02T03:00:00Z")
    books.invoice(3, 300_000, "2026-10-23", "2026-10-01")  # 31 days late
    report = doc(crm)
    assert report["as_of"] == "2026-11-23"
    assert (report["from"], report["to"], report["by"]) == ("2026-01-01", "2026-11-23", "month")
    ageing = {(r["currency"], r["age"]): (r["invoices"], r["owed"]) for r in report["ageing"]}
    assert ageing[("VND", "current")] == (1, 250_000_000)
    assert ageing[("VND", "over 90")] == (1, 150_000_000)
    assert ageing[("VND", "total")] == (2, 400_000_000)
    assert ageing[("USD", "1-30")] == (1, 500_000)
    assert ageing[("USD", "31-60")] == (1, 300_000)
    assert ageing[("USD", "total")] == (2, 800_000)
    assert [r["age"] for r in report["ageing"][:6]] == [
        "current", "1-30", "31-60", "61-90", "over 90", "total",
    ]  # fmt: skip
    owing = [(r["name"], r["currency"], r["owed"], r["oldest_due"]) for r in report["customers"]]
    assert owing == [
        ("Blue Ocean Ltd", "USD", 800_000, "2026-10-23"),
        ("Công ty An Phát", "VND", 400_000_000, "2026-08-15"),
    ]  # fmt: skip
    vnd = next(r for r in report["dso"] if r["currency"] == "VND")
    # 400,000,000 owed / 450,000,000 invoiced × 327 days (1 January to 23 November)
    assert (vnd["days"], vnd["invoiced"], vnd["receivables"]) == (327, 450_000_000, 400_000_000)
    assert vnd["dso_days"] == round(400 / 450 * 327, 1)
    collected = {(r["period"], r["currency"]): r["collected"] for r in report["collected"]}
    assert collected[("2026-08", "VND")] == 50_000_000
    assert collected[("2026-11", "USD")] == 100_000
    assert collected[("2026-01", None)] is None  # a quiet month: a row of zeros


def test_an_invoice_paid_after_the_as_of_day_was_owed_on_it(crm, books) -> None:
    invoice = books.invoice(2, 500_000, "2026-09-30", "2026-09-01")
    books.pay(invoice, 500_000, "2026-10-31T17:00:00Z")  # 1 November 00:00 local
    october = doc(crm, "--as-of", "2026-10-31")
    assert [(r["age"], r["owed"]) for r in october["ageing"] if r["invoices"]] == [
        ("31-60", 500_000), ("total", 500_000),
    ]  # fmt: skip
    assert october["collected"] == []  # paid on 1 November local, after the range
    november = doc(crm, "--as-of", "2026-11-01")
    assert november["ageing"] == [] and november["customers"] == []
    assert november["collected"][-1] == {
        "period": "2026-11", "currency": "USD", "payments": 1, "collected": 500_000,
    }  # fmt: skip


def test_void_invoices_and_their_payments_are_left_out(crm, books) -> None:
    kept = books.invoice(2, 500_000, "2026-12-01", "2026-11-01")
    dropped = books.invoice(3, 300_000, "2026-12-01", "2026-11-01")
    books.pay(dropped, 100_000, "2026-11-05T03:00:00Z")
    books.void(dropped)
    report = doc(crm)
    assert [r["owed"] for r in report["ageing"] if r["age"] == "total"] == [500_000]
    assert report["dso"][0]["invoiced"] == 500_000
    assert report["collected"] == []
    assert kept


def test_an_invoice_issued_after_the_as_of_day_is_not_owed_yet(crm, books) -> None:
    books.invoice(2, 500_000, "2026-11-30", "2026-11-20")
    assert doc(crm, "--as-of", "2026-11-19")["ageing"] == []
    assert doc(crm, "--as-of", "2026-11-20")["ageing"][-1]["owed"] == 500_000


def test_nothing_owed_says_so_and_prints_a_parsable_nothing(crm, books) -> None:
    result = crm("report", "receivables", "-f", "tsv")
    assert result.exit_code == 0
    assert result.stdout == "currency\tage\tinvoices\towed\tshare_pct\n"
    assert result.stderr == "no invoice owed at the end of 2026-11-23\n"
    table = crm("report", "receivables", "-f", "table")
    assert table.exit_code == 0 and table.stdout == ""
    assert table.stderr == "no invoice owed at the end of 2026-11-23\n"


def test_every_format_carries_the_minor_units(crm, books) -> None:
    invoice = books.invoice(2, 123_456, "2026-11-01", "2026-10-01")
    books.pay(invoice, 23_456, "2026-10-15T03:00:00Z")
    tsv = ok(crm("report", "receivables", "--section", "customers", "-f", "tsv")).splitlines()
    assert tsv[0].split("\t")[:5] == ["id", "name", "currency", "invoices", "owed"]
    assert tsv[1].split("\t")[:5] == ["2", "Blue Ocean Ltd", "USD", "1", "100000"]
    rows = list(csv.DictReader(io.StringIO(ok(crm("report", "receivables", "-f", "csv")))))
    assert rows[-1] == {"currency": "USD", "age": "total", "invoices": "1", "owed": "100000",
                        "share_pct": "100.0"}  # fmt: skip
    lines = ok(crm("report", "receivables", "--section", "dso", "-f", "jsonl")).splitlines()
    assert json.loads(lines[0])["receivables"] == 100_000
    assert ok(crm("report", "receivables", "--section", "customers", "-f", "ids")) == "2\n"
    table = ok(crm("report", "receivables", "-f", "table"))
    assert "1,000.00" in table and "Days sales outstanding" in table and "Collected" in table


def test_by_quarter_and_an_earlier_range(crm, books) -> None:
    invoice = books.invoice(2, 900_000, "2026-03-31", "2026-02-01")
    books.pay(invoice, 100_000, "2026-02-10T03:00:00Z")
    books.pay(invoice, 200_000, "2026-05-10T03:00:00Z")
    report = doc(crm, "--by", "quarter", "--period", "this-year")
    assert [(r["period"], r["collected"]) for r in report["collected"]] == [
        ("2026-Q1", 100_000), ("2026-Q2", 200_000), ("2026-Q3", None), ("2026-Q4", None),
    ]  # fmt: skip
    first_half = doc(crm, "--from", "2026-01-01", "--to", "2026-06-30")
    dso = first_half["dso"][0]
    # owed at the end of 30 June: 600,000 of 900,000 invoiced, over 181 days
    assert (dso["last_day"], dso["days"], dso["receivables"]) == ("2026-06-30", 181, 600_000)
    assert dso["dso_days"] == round(600_000 * 181 / 900_000, 1)


def test_the_range_ends_on_the_as_of_day(crm, books) -> None:
    report = doc(crm, "--as-of", "2026-03-15", "--period", "this-quarter")
    assert (report["from"], report["to"]) == ("2026-01-01", "2026-03-15")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--as-of", "2026-02-30"), "--as-of"),
        (("--as-of", "soon"), "--as-of"),
        (("--as-of", "2026-01-31", "--from", "2026-02-01"), "--from"),
        (("--by", "week"), "--by"),
        (("--section", "nope"), "--section"),
        (("--period", "this-year", "--from", "2026-01-01"), "--period"),
        (("-f", "ids"), "--section customers"),
        (("-f", "xml"), "xml"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(crm, books, db_path, args, says) -> None:
    books.invoice(2, 500_000, "2026-11-30", "2026-11-20")
    before = dump(db_path)
    result = crm("report", "receivables", *args)
    assert result.exit_code == 2, result.stdout
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and says in result.stderr, result.stderr
    assert dump(db_path) == before


def test_help_has_an_example(crm) -> None:
    text = ok(crm("report", "receivables", "--help"))
    assert "Example: crm report receivables" in text
    assert "--as-of" in text and "--section" in text


def test_sales_averages_in_every_format(crm, books) -> None:
    """Blue Ocean won 12,000 and 3,000 USD: 7,500 an order, 15,000 a customer."""
    report = json.loads(ok(crm("report", "sales", "-f", "json")))
    assert report["averages"] == [
        {"currency": "USD", "deals": 2, "won_value": 1_500_000, "customers": 1,
         "avg_order_value": 750_000, "avg_per_customer": 1_500_000},
        {"currency": "VND", "deals": 1, "won_value": 450_000_000, "customers": 1,
         "avg_order_value": 450_000_000, "avg_per_customer": 450_000_000},
    ]  # fmt: skip
    tsv = ok(crm("report", "sales", "--section", "averages", "-f", "tsv")).splitlines()
    assert tsv[1].split("\t") == ["USD", "2", "1500000", "1", "750000", "1500000"]
    table = ok(crm("report", "sales", "-f", "table"))
    assert "Avg order" in table and "Per customer" in table and "7,500.00" in table
