"""crm payment: add (partial payments, settling), list, delete; balances; undo; bad input."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from tests.cli.test_invoice import invoices, ok, refused


@pytest.fixture
def invoice(crm: Any) -> int:
    """Invoice 1 (INV-2026-0001): 1,200.00 EUR on deal 1 of customer 1, issued today
    (Monday 2026-11-23), due 2026-12-07."""
    ok(crm("customer", "add", "Nguyễn Văn An"))
    ok(crm("deal", "add", "20 laptops", "-c", "1", "--amount", "1,200.00 EUR"))
    ok(crm("deal", "won", "1"))
    ok(crm("invoice", "create", "1"))
    return 1


def status(crm: Any) -> tuple[str, int, int]:
    (row,) = invoices(crm, "--deal", "1")
    return row["status"], row["paid"], row["owed"]


def test_partial_payments_then_the_one_that_settles(crm, invoice) -> None:
    result = crm("payment", "add", "1", "500", "--method", "chuyển khoản", "--note", "đợt 1")
    assert (result.exit_code, result.stdout) == (0, "1\n")
    assert result.stderr == "Payment 1: 500.00 EUR on INV-2026-0001; 700.00 EUR still owed\n"
    assert status(crm) == ("partly-paid", 50000, 70000)
    result = crm("payment", "add", "INV-2026-0001", "€700", "--at", "today 9am")
    assert (result.exit_code, result.stdout) == (0, "2\n")
    assert result.stderr == "Payment 2: 700.00 EUR on INV-2026-0001; the invoice is paid\n"
    assert status(crm) == ("paid", 120000, 0)
    (row,) = invoices(crm)
    # Paid when the latest of its payments came in (10:00, not the settling one's 09:00).
    assert row["paid_at"] == "2026-11-23T03:00:00Z"


def test_paying_more_than_is_owed_shows_the_balance(crm, invoice, db_path) -> None:
    ok(crm("payment", "add", "1", "1000"))
    message = refused(crm, db_path, "payment", "add", "1", "200.01")
    assert message == (
        "crm: error: invalid AMOUNT '200.01 EUR': is more than the 200.00 EUR still owed on "
        "invoice INV-2026-0001\n"
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("12.345",), "AMOUNT '12.345'"),
        (("100 USD",), "is in USD; this is in EUR"),
        (("$100",), "is in USD; this is in EUR"),
        (("0",), "must be more than zero"),
        (("--", "-5"), "AMOUNT '-5'"),
        (("abc",), "AMOUNT"),
        (("100", "--at", "tomorrow"), "is in the future"),
        (("100", "--at", "in 2 hours"), "is in the future"),
        (("100", "--at", "2026-11-22"), "is before the invoice date 2026-11-23"),
        (("100", "--at", "soon"), "--at"),
        (("100", "--method", "a\nb"), "--method"),
    ],
)
def test_bad_payments_are_one_line_exit_2_and_nothing_written(
    crm, invoice, db_path, args, needle
) -> None:
    assert needle in refused(crm, db_path, "payment", "add", "1", *args)


def test_void_paid_and_unknown_invoices(crm, invoice, db_path) -> None:
    ok(crm("payment", "add", "1", "1200"))
    message = refused(crm, db_path, "payment", "add", "1", "1")
    assert message == "crm: error: invoice INV-2026-0001 is paid; no payment is due\n"
    ok(crm("deal", "add", "Máy chiếu", "-c", "1", "--amount", "300 EUR"))
    ok(crm("invoice", "create", "2"))
    ok(crm("invoice", "void", "2", "--reason", "trùng"))
    message = refused(crm, db_path, "payment", "add", "2", "100")
    assert message == "crm: error: invoice INV-2026-0002 is void; no payment is due\n"
    assert refused(crm, db_path, "payment", "add", "9", "1", code=1) == "crm: error: no invoice 9\n"


def test_a_payment_on_the_day_the_invoice_was_issued_early_in_the_morning(crm, invoice) -> None:
    # 01:00 local on 2026-11-23 is 2026-11-22 in UTC: still the invoice's day.
    ok(crm("payment", "add", "1", "10", "--at", "today 1am"))
    assert status(crm)[1] == 1000


@pytest.fixture
def paid(crm, invoice) -> None:
    """Payments 1 (2026-11-23 09:00, 200.00), 2 (10:00 now, 300.00) on invoice 1; customer 2
    with invoice 2 (50,000 VND) and payment 3 (10,000 VND)."""
    ok(crm("payment", "add", "1", "200", "--at", "today 9am", "--method", "cash"))
    ok(crm("payment", "add", "1", "300", "--method", "bank"))
    ok(crm("customer", "add", "Trần Thị Bình"))
    ok(crm("deal", "add", "Sửa máy", "-c", "2", "--amount", "50.000 VND"))
    ok(crm("invoice", "create", "2", "--issued", "2026-11-01"))
    ok(crm("payment", "add", "2", "10.000", "--at", "2026-11-10 15:00"))


def payments(crm: Any, *args: str) -> list[dict[str, Any]]:
    return list(json.loads(ok(crm("payment", "list", "-f", "json", *args))))


def test_list_oldest_first_with_filters(crm, paid) -> None:
    rows = payments(crm)
    assert [r["id"] for r in rows] == [3, 1, 2]
    assert {k: rows[0][k] for k in ("invoice_id", "invoice", "customer_id", "customer", "deal_id",
                                    "amount", "currency", "paid_at")} == {
        "invoice_id": 2, "invoice": "INV-2026-0002", "customer_id": 2,
        "customer": "Trần Thị Bình", "deal_id": 2, "amount": 10000, "currency": "VND",
        "paid_at": "2026-11-10T08:00:00Z",
    }  # fmt: skip
    assert [r["id"] for r in payments(crm, "--invoice", "INV-2026-0001")] == [1, 2]
    assert [r["id"] for r in payments(crm, "--customer", "2")] == [3]
    assert [r["id"] for r in payments(crm, "--since", "2026-11-23")] == [1, 2]
    assert [r["id"] for r in payments(crm, "--until", "2026-11-22")] == [3]
    assert [r["id"] for r in payments(crm, "--since", "2026-11-10", "--until", "2026-11-10")] == [3]
    assert payments(crm, "--until", "2026-11-01") == []


def test_list_every_format(crm, paid, db_path) -> None:
    tsv = ok(crm("payment", "list", "-f", "tsv")).splitlines()
    assert tsv[0].split("\t")[:8] == ["id", "invoice_id", "invoice", "customer_id", "customer",
                                      "deal_id", "amount", "currency"]  # fmt: skip
    assert tsv[2].split("\t")[6:8] == ["20000", "EUR"]
    rows = list(csv.DictReader(io.StringIO(ok(crm("payment", "list", "-f", "csv")))))
    assert [r["amount"] for r in rows] == ["10000", "20000", "30000"]
    assert len(ok(crm("payment", "list", "-f", "jsonl")).splitlines()) == 3
    assert ok(crm("payment", "list", "-f", "ids", "--invoice", "1")) == "1\n2\n"
    table = ok(crm("payment", "list", "-f", "table"))
    assert "10,000 VND" in table and "200.00 EUR" in table and "2026-11-23 09:00" in table
    assert "no invoice 7" in refused(crm, db_path, "payment", "list", "--invoice", "7", code=1)
    assert "no customer 9" in refused(crm, db_path, "payment", "list", "-f", "tsv",
                                      "--customer", "9", code=1)  # fmt: skip
    assert "--since" in refused(crm, db_path, "payment", "list", "--since", "someday")


def test_delete_reopens_a_paid_invoice(crm, invoice, db_path) -> None:
    ok(crm("payment", "add", "1", "1000"))
    ok(crm("payment", "add", "1", "200"))
    assert status(crm) == ("paid", 120000, 0)
    assert "--yes" in refused(crm, db_path, "payment", "delete", "2")
    result = crm("payment", "delete", "2", "--yes")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "Deleted payment 2: 200.00 EUR on INV-2026-0001\n"
    assert status(crm) == ("partly-paid", 100000, 20000)
    (row,) = invoices(crm)
    assert row["paid_at"] is None


def test_delete_ids_from_stdin_and_unknown_ids(crm, paid, db_path) -> None:
    assert "no payment 9" in refused(crm, db_path, "payment", "delete", "1", "9", "--yes", code=1)
    assert "not an id" in refused(crm, db_path, "payment", "delete", "x", "--yes")
    ids = ok(crm("payment", "list", "--invoice", "1", "-f", "ids"))
    result = crm("payment", "delete", "-", "--yes", input=ids)
    assert result.exit_code == 0 and result.stderr == "Deleted 2 payments: 1, 2\n"
    assert [r["id"] for r in payments(crm)] == [3]
    assert status(crm) == ("open", 0, 120000)


def test_undo_of_a_payment_that_settled_and_of_a_delete(crm, invoice) -> None:
    ok(crm("payment", "add", "1", "1200"))
    undo = crm("undo", "--yes")
    assert undo.exit_code == 0 and "1 payment removed" in undo.stderr
    assert status(crm) == ("open", 0, 120000)
    assert ok(crm("payment", "add", "1", "500")) == "1\n"  # the undone payment's id is free
    ok(crm("payment", "delete", "1", "--yes"))
    ok(crm("undo", "--yes"))
    assert status(crm) == ("partly-paid", 50000, 70000)


def test_customer_show_gives_the_balance_per_currency(crm, paid) -> None:
    ok(crm("deal", "add", "Bảo hành", "-c", "1", "--amount", "99 USD"))
    ok(crm("invoice", "create", "3"))
    ok(crm("deal", "add", "Phần mềm", "-c", "1", "--amount", "10 EUR"))
    ok(crm("invoice", "create", "4"))
    ok(crm("invoice", "void", "4", "--reason", "tặng"))
    shown = json.loads(ok(crm("customer", "show", "1", "-f", "json")))
    assert shown["owes"] == [{"currency": "EUR", "amount": 70000},
                             {"currency": "USD", "amount": 9900}]  # fmt: skip
    table = ok(crm("customer", "show", "1", "-f", "table"))
    lines = [line.split() for line in table.splitlines()]
    assert ["Owes", "700.00", "EUR"] in lines and ["99.00", "USD"] in lines
    tsv = ok(crm("customer", "show", "1", "-f", "tsv")).splitlines()
    assert dict(zip(tsv[0].split("\t"), tsv[1].split("\t"), strict=True))["owes"] == (
        "70000 EUR,9900 USD"
    )
    nothing = json.loads(ok(crm("customer", "show", "2", "-f", "json")))
    assert nothing["owes"] == [{"currency": "VND", "amount": 40000}]


def test_history_describes_payments_in_the_invoice_currency(crm, paid) -> None:
    rows = json.loads(ok(crm("history", "--entity", "invoice", "--id", "1", "-f", "json")))
    changes = [r["changes"] for r in rows if r["table"] == "payments"]
    assert "200.00 EUR on INV-2026-0001, paid 2026-11-23 09:00 by cash" in changes
    ok(crm("payment", "delete", "1", "--yes"))
    rows = json.loads(ok(crm("history", "--limit", "1", "-f", "json")))
    assert rows[0]["action"] == "delete"
    assert rows[0]["changes"] == "200.00 EUR on INV-2026-0001, paid 2026-11-23 09:00 by cash"
