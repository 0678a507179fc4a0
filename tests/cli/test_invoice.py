"""crm invoice: create (with installments), list, show, void; statuses; undo; bad input."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import dump, query


def ok(result: Any) -> str:
    assert result.exit_code == 0, result.stderr
    return str(result.stdout)


def refused(crm: Any, db_path: Path, *args: str, code: int = 2, input: str | None = None) -> str:
    """Run a command that must fail: exit ``code``, one line on stderr, nothing on stdout,
    the database unchanged.  Returns the message."""
    before = dump(db_path)
    result = crm(*args, input=input)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("crm: error: ")
    assert dump(db_path) == before
    return str(result.stderr)


def invoices(crm: Any, *args: str) -> list[dict[str, Any]]:
    return list(json.loads(ok(crm("invoice", "list", "-f", "json", *args))))


@pytest.fixture
def deal(crm: Any) -> int:
    """Customer 1 (Nguyễn Văn An) with deal 1: 1,200.00 EUR, won."""
    ok(crm("customer", "add", "Nguyễn Văn An"))
    ok(crm("deal", "add", "20 laptops", "-c", "1", "--amount", "1,200.00 EUR"))
    ok(crm("deal", "won", "1"))
    return 1


def test_create_invoices_what_is_left_of_the_deal(crm, deal) -> None:
    result = crm("invoice", "create", str(deal))
    assert (result.exit_code, result.stdout) == (0, "1\n")
    assert result.stderr == "Invoice INV-2026-0001: 1,200.00 EUR, due 2026-12-07\n"
    (row,) = invoices(crm)
    assert {k: row[k] for k in ("number", "customer_id", "customer", "deal_id", "issued_on",
                                "due_date", "amount", "currency", "paid", "owed", "status")} == {
        "number": "INV-2026-0001", "customer_id": 1, "customer": "Nguyễn Văn An", "deal_id": 1,
        "issued_on": "2026-11-23", "due_date": "2026-12-07", "amount": 120000,
        "currency": "EUR", "paid": 0, "owed": 120000, "status": "open",
    }  # fmt: skip


def test_create_with_amount_due_issued_and_note_then_the_rest(crm, deal) -> None:
    ok(crm("config", "set", "invoice_due_days", "30"))
    ok(crm("invoice", "create", "1", "--amount", "500", "--issued", "2026-11-20",
           "--note", "Đợt 1 — đặt cọc"))  # fmt: skip
    ok(crm("invoice", "create", "1", "--due", "2027-01-15"))
    first, second = invoices(crm)
    assert (first["amount"], first["issued_on"], first["due_date"]) == (50000, "2026-11-20",
                                                                        "2026-12-20")  # fmt: skip
    assert first["note"] == "Đợt 1 — đặt cọc"
    assert (second["amount"], second["due_date"]) == (70000, "2027-01-15")
    assert second["number"] == "INV-2026-0002"


def test_nothing_left_and_too_much_are_refused_with_what_is_left(crm, deal, db_path) -> None:
    ok(crm("invoice", "create", "1", "--amount", "500"))
    message = refused(crm, db_path, "invoice", "create", "1", "--amount", "700.01")
    assert message == (
        "crm: error: invalid --amount '700.01': is more than the 700.00 EUR left to invoice on "
        "deal 1 (total 1,200.00 EUR, invoiced 500.00 EUR)\n"
    )
    ok(crm("invoice", "create", "1"))
    message = refused(crm, db_path, "invoice", "create", "1")
    assert "nothing is left to invoice" in message and "1,200.00 EUR" in message


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--amount", "10.001"), "--amount '10.001'"),
        (("--amount", "100 USD"), "is in USD; this is in EUR"),
        (("--amount", "0"), "must be more than zero"),
        (("--amount", "-5"), "--amount"),
        (("--issued", "tomorrow"), "is in the future"),
        (("--issued", "2026-13-01"), "--issued"),
        (("--due", "2026-11-01"), "is before the invoice date 2026-11-23"),
        (("--due", "someday"), "--due"),
        (("--installments", "3"), "--installments and --every go together"),
        (("--every", "month"), "--installments and --every go together"),
        (("--installments", "2", "--every", "every monday"), "--every"),
        (("--installments", "2", "--every", "hourly"), "--every"),
        (("--installments", "2", "--every", "FREQ=MONTHLY"), "--every"),
        (("--installments", "0", "--every", "month"), "--installments"),
        (("--installments", "361", "--every", "month"), "--installments"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(crm, deal, db_path, args, needle) -> None:
    assert needle in refused(crm, db_path, "invoice", "create", "1", *args)


def test_lost_deal_unknown_deal_and_deal_without_amount(crm, deal, db_path) -> None:
    ok(crm("deal", "add", "Máy chiếu", "-c", "1", "--amount", "300"))
    ok(crm("deal", "lost", "2", "--reason", "giá cao"))
    assert "deal 2 is lost" in refused(crm, db_path, "invoice", "create", "2")
    ok(crm("deal", "add", "Tư vấn", "-c", "1"))
    assert "has no amount" in refused(crm, db_path, "invoice", "create", "3")
    assert refused(crm, db_path, "invoice", "create", "99", code=1) == "crm: error: no deal 99\n"


def test_installments_split_equally_with_the_remainder_first_and_keep_month_ends(crm, deal) -> None:
    ok(crm("deal", "edit", "1", "--amount", "1,000.00 EUR"))
    result = crm("invoice", "create", "1", "--installments", "3", "--every", "month",
                 "--due", "2027-01-31")  # fmt: skip
    assert (result.exit_code, result.stdout) == (0, "1\n2\n3\n")
    rows = invoices(crm)
    assert [r["amount"] for r in rows] == [33334, 33333, 33333]
    assert sum(r["amount"] for r in rows) == 100000
    assert [r["due_date"] for r in rows] == ["2027-01-31", "2027-02-28", "2027-03-31"]
    assert [(r["installment"], r["installments"]) for r in rows] == [(1, 3), (2, 3), (3, 3)]
    assert [r["number"] for r in rows] == ["INV-2026-0001", "INV-2026-0002", "INV-2026-0003"]
    assert "3 invoices INV-2026-0001 … INV-2026-0003: 1,000.00 EUR in all" in result.stderr


@pytest.mark.parametrize(
    ("every", "dues"),
    [
        ("2 weeks", ["2026-12-07", "2026-12-21", "2027-01-04", "2027-01-18"]),
        ("every 2 weeks", ["2026-12-07", "2026-12-21", "2027-01-04", "2027-01-18"]),
        ("quarterly", ["2026-12-07", "2027-03-07", "2027-06-07", "2027-09-07"]),
        ("monthly", ["2026-12-07", "2027-01-07", "2027-02-07", "2027-03-07"]),
    ],
)
def test_installments_step_by_the_reminder_phrases(crm, deal, every, dues) -> None:
    ok(crm("invoice", "create", "1", "--installments", "4", "--every", every))
    rows = invoices(crm)
    assert [r["due_date"] for r in rows] == dues
    assert [r["amount"] for r in rows] == [30000] * 4


def test_installments_in_a_currency_without_cents(crm) -> None:
    ok(crm("customer", "add", "Trần Thị Bình"))
    ok(crm("deal", "add", "ERP", "-c", "1", "--amount", "1.000.000 VND"))
    ok(crm("invoice", "create", "1", "--installments", "3", "--every", "month"))
    assert [r["amount"] for r in invoices(crm)] == [333334, 333333, 333333]


def test_installments_split_an_explicit_amount(crm, deal, db_path) -> None:
    ok(crm("invoice", "create", "1", "--amount", "0.05", "--installments", "2", "--every",
           "month"))  # fmt: skip
    assert [r["amount"] for r in invoices(crm)] == [3, 2]
    assert "cannot be split" in refused(
        crm, db_path, "invoice", "create", "1", "--amount", "0.02", "--installments", "3",
        "--every", "month",
    )  # fmt: skip


def statuses(crm: Any, *args: str) -> dict[str, str]:
    return {r["number"]: r["status"] for r in invoices(crm, *args)}


@pytest.fixture
def five(crm, deal) -> None:
    """INV-…1 open, …2 partly paid, …3 paid, …4 overdue (partly paid), …5 void."""
    ok(crm("deal", "edit", "1", "--amount", "5,000.00 EUR"))
    for args in (
        ["--due", "2026-12-20"],
        ["--due", "2026-12-10"],
        ["--due", "2026-12-01"],
        ["--issued", "2026-10-01", "--due", "2026-11-15"],
        ["--due", "2026-12-30"],
    ):
        ok(crm("invoice", "create", "1", "--amount", "1000", *args))  # fmt: skip
    ok(crm("payment", "add", "2", "100"))
    ok(crm("payment", "add", "3", "1000"))
    ok(crm("payment", "add", "4", "250", "--at", "2026-11-01"))
    ok(crm("invoice", "void", "5", "--reason", "xuất nhầm"))


def test_list_shows_the_computed_status_sorted_by_due_date(crm, five) -> None:
    rows = invoices(crm)
    assert [r["number"][-1] for r in rows] == ["4", "3", "2", "1", "5"]
    assert statuses(crm) == {"INV-2026-0001": "open", "INV-2026-0002": "partly-paid",
                             "INV-2026-0003": "paid", "INV-2026-0004": "overdue",
                             "INV-2026-0005": "void"}  # fmt: skip
    by = {r["number"]: r for r in rows}
    assert (by["INV-2026-0004"]["paid"], by["INV-2026-0004"]["owed"]) == (25000, 75000)
    assert (by["INV-2026-0005"]["paid"], by["INV-2026-0005"]["owed"]) == (0, 0)
    assert by["INV-2026-0005"]["void_reason"] == "xuất nhầm"
    assert by["INV-2026-0003"]["paid_at"] == "2026-11-23T03:00:00Z"


@pytest.mark.parametrize(
    ("args", "numbers"),
    [
        (("--open",), {"1", "2", "4"}),
        (("--overdue",), {"4"}),
        (("--status", "paid"), {"3"}),
        (("--status", "partly-paid,void"), {"2", "5"}),
        (("--status", "partly paid", "-s", "overdue"), {"2", "4"}),
        (("--customer", "1"), {"1", "2", "3", "4", "5"}),
        (("--status", "paid", "--overdue"), set()),
        (("--deal", "1", "--open"), {"1", "2", "4"}),
    ],
)
def test_list_filters(crm, five, args, numbers) -> None:
    assert {n[-1] for n in statuses(crm, *args)} == numbers


def test_list_every_format(crm, five, db_path) -> None:
    tsv = ok(crm("invoice", "list", "-f", "tsv", "--status", "overdue")).splitlines()
    header = tsv[0].split("\t")
    row = dict(zip(header, tsv[1].split("\t"), strict=True))
    assert (row["amount"], row["paid"], row["owed"], row["status"]) == (
        "100000", "25000", "75000", "overdue")  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(ok(crm("invoice", "list", "-f", "csv")))))
    assert [r["number"][-1] for r in rows] == ["4", "3", "2", "1", "5"]
    lines = ok(crm("invoice", "list", "-f", "jsonl", "--open")).splitlines()
    assert [json.loads(line)["status"] for line in lines] == ["overdue", "partly-paid", "open"]
    assert ok(crm("invoice", "list", "-f", "ids", "--open")) == "4\n2\n1\n"
    table = ok(crm("invoice", "list", "-f", "table"))
    assert "1,000.00 EUR" in table and "750.00 EUR" in table and "partly paid" in table
    assert "2026-11-15 !" in table  # overdue marked
    assert "100000" not in table
    empty = crm("invoice", "list", "-f", "table", "--status", "void", "--open")
    assert (empty.exit_code, empty.stdout, empty.stderr) == (0, "", "no invoices match\n")
    for option, noun in (("--customer", "customer"), ("--deal", "deal")):
        message = refused(crm, db_path, "invoice", "list", "-f", "tsv", option, "7", code=1)
        assert message == f"crm: error: no {noun} 7\n"
    assert "--status 'late'" in refused(crm, db_path, "invoice", "list", "--status", "late")


def test_show_by_id_or_number_with_payments(crm, five) -> None:
    doc = json.loads(ok(crm("invoice", "show", "INV-2026-0004", "-f", "json")))
    assert (doc["id"], doc["status"], doc["owed"]) == (4, "overdue", 75000)
    assert [(p["amount"], p["currency"]) for p in doc["payments"]] == [(25000, "EUR")]
    assert json.loads(ok(crm("invoice", "show", "4", "-f", "json"))) == doc
    table = ok(crm("invoice", "show", "2", "-f", "table"))
    assert "Payments (1)" in table and "100.00 EUR" in table and "900.00 EUR" in table
    many = json.loads(ok(crm("invoice", "show", "-", "-f", "json", input="1\nINV-2026-0003\n")))
    assert [d["number"] for d in many] == ["INV-2026-0001", "INV-2026-0003"]
    tsv = ok(crm("invoice", "show", "1", "2", "-f", "tsv")).splitlines()
    assert len(tsv) == 3 and "payments" not in tsv[0]


def test_show_and_void_of_unknown_invoices_exit_1(crm, five, db_path) -> None:
    assert refused(crm, db_path, "invoice", "show", "99", code=1) == "crm: error: no invoice 99\n"
    assert "no invoice INV-9" in refused(crm, db_path, "invoice", "show", "INV-9", code=1)
    assert "no invoice 42" in refused(crm, db_path, "invoice", "void", "1", "42", "--reason", "x",
                                      code=1)  # fmt: skip


def test_void_refuses_an_invoice_with_payments_until_they_are_deleted(crm, five, db_path) -> None:
    message = refused(crm, db_path, "invoice", "void", "3", "--reason", "trùng")
    assert "invoice INV-2026-0003 has 1 payment (1,000.00 EUR); delete them first" in message
    ids = ok(crm("payment", "list", "--invoice", "3", "-f", "ids"))
    ok(crm("payment", "delete", "-", "--yes", input=ids))
    assert statuses(crm)["INV-2026-0003"] == "open"
    result = crm("invoice", "void", "INV-2026-0003", "--reason", "trùng")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "Voided invoice INV-2026-0003\n"
    assert statuses(crm)["INV-2026-0003"] == "void"
    assert "is void already" in refused(crm, db_path, "invoice", "void", "3", "--reason", "x")
    assert "--reason" in refused(crm, db_path, "invoice", "void", "1", "--reason", " ")
    assert "--reason" in refused(crm, db_path, "invoice", "void", "1")


def test_a_void_invoice_frees_its_amount_for_a_new_one(crm, deal, db_path) -> None:
    ok(crm("invoice", "create", "1"))
    assert "nothing is left" in refused(crm, db_path, "invoice", "create", "1")
    ok(crm("invoice", "void", "1", "--reason", "sai địa chỉ"))
    assert ok(crm("invoice", "create", "1")) == "2\n"
    assert [r["amount"] for r in invoices(crm, "--open")] == [120000]


def test_void_several_from_stdin_in_one_transaction(crm, five, db_path) -> None:
    message = refused(crm, db_path, "invoice", "void", "-", "--reason", "hủy",
                      input="1\n2\n")  # fmt: skip
    assert "INV-2026-0002 has 1 payment" in message  # invoice 1 was not voided either
    result = crm("invoice", "void", "-", "--reason", "hủy", input="1\n")
    assert result.exit_code == 0 and result.stderr == "Voided 1 invoice: INV-2026-0001\n"


def test_undo_of_create_void_and_installments(crm, deal, db_path) -> None:
    before = query(db_path, "SELECT count(*) FROM invoices")
    ok(crm("invoice", "create", "1", "--installments", "3", "--every", "month"))
    undo = crm("undo", "--yes")
    assert undo.exit_code == 0 and "3 invoices removed" in undo.stderr
    assert query(db_path, "SELECT count(*) FROM invoices") == before
    # A number once given is not given again (a gap, as books keep).
    assert ok(crm("invoice", "create", "1")) == "1\n"
    assert invoices(crm)[0]["number"] == "INV-2026-0004"
    ok(crm("invoice", "void", "INV-2026-0004", "--reason", "x"))
    ok(crm("undo", "--yes"))
    assert statuses(crm) == {"INV-2026-0004": "open"}
    assert invoices(crm)[0]["void_reason"] is None


def test_history_describes_invoices(crm, deal) -> None:
    ok(crm("invoice", "create", "1", "--installments", "2", "--every", "month"))
    rows = json.loads(ok(crm("history", "--entity", "invoice", "-f", "json")))
    assert "INV-2026-0001: 600.00 EUR (installment 1 of 2), due 2026-12-07" in [
        r["changes"] for r in rows
    ]
    deal_rows = json.loads(ok(crm("history", "--entity", "deal", "--id", "1", "-f", "json")))
    assert {r["table"] for r in deal_rows} >= {"deals", "invoices"}


def test_help_names_the_commands(crm) -> None:
    text = ok(crm("invoice", "--help"))
    for name in ("create", "list", "show", "void"):
        assert name in text
    assert "Example: crm invoice create" in ok(crm("invoice", "create", "--help"))
