"""A deal's payment date and paid mark are invoices: deal won/edit --payment-due, deal paid,
and the payment_due / paid_at that deal show, list and export derive from the invoices."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import dump, query


def new_id(result: Any) -> int:
    assert result.exit_code == 0, result.stderr
    return int(result.stdout)


@pytest.fixture
def an(crm: Any) -> int:
    return new_id(crm("customer", "add", "Nguyễn Văn An"))


def deal(crm: Any, an: int, *args: str) -> int:
    return new_id(crm("deal", "add", "Kho lạnh", "-c", str(an), *args))


def shown(crm: Any, deal_id: int) -> dict[str, Any]:
    result = crm("deal", "show", str(deal_id), "-f", "json")
    assert result.exit_code == 0, result.stderr
    record: dict[str, Any] = json.loads(result.stdout)
    return record


def invoices(db_path: Path) -> list[tuple[Any, ...]]:
    return query(
        db_path,
        "SELECT number, deal_id, amount, issued_on, due_date, status, paid_at FROM invoices "
        "ORDER BY id",
    )


def paid_amounts(db_path: Path) -> list[tuple[Any, ...]]:
    return query(db_path, "SELECT invoice_id, amount, paid_at FROM payments ORDER BY id")


def test_won_with_a_payment_due_makes_the_first_invoice(crm, an, db_path) -> None:
    did = deal(crm, an, "--amount", "120.000.000 VND")
    result = crm("deal", "won", str(did), "--payment-due", "in 30 days")
    assert result.exit_code == 0, result.stderr
    assert (result.stdout, result.stderr) == ("", "Won deal 1: Kho lạnh (120,000,000 VND)\n")
    assert invoices(db_path) == [
        ("INV-2026-0001", did, 120000000, "2026-11-23", "2026-12-23", "open", None)
    ]
    record = shown(crm, did)
    assert (record["payment_due"], record["paid_at"]) == ("2026-12-23", None)
    # Undo takes the invoice back with the win; its number is not given again.
    assert crm("undo", "--yes").exit_code == 0
    assert invoices(db_path) == []
    assert crm("deal", "won", str(did), "--payment-due", "2026-12-01").exit_code == 0
    assert [i[0] for i in invoices(db_path)] == ["INV-2026-0002"]


def test_a_payment_date_in_the_past_is_recorded_as_it_was(crm, an, db_path) -> None:
    did = deal(crm, an, "--amount", "1200 EUR")
    assert crm("deal", "won", str(did), "--payment-due", "2026-11-01").exit_code == 0
    assert invoices(db_path) == [
        ("INV-2026-0001", did, 120000, "2026-11-01", "2026-11-01", "open", None)
    ]
    due = crm("remind", "due", "-k", "invoice", "-f", "tsv").stdout.splitlines()[1].split("\t")
    assert due[:4] == ["invoice", "1", "2026-11-01", "overdue"]
    assert due[4] == "invoice INV-2026-0001 due for deal 1: 1,200.00 EUR owed"


def test_won_without_an_amount_cannot_have_a_payment_due(crm, an, db_path) -> None:
    did = deal(crm, an)
    before = dump(db_path)
    result = crm("deal", "won", str(did), "--payment-due", "2026-12-01")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"crm: error: deal {did} has no amount to invoice: give it one first "
        f"(crm deal edit {did} --amount …)\n"
    )
    assert dump(db_path) == before  # not won either: one transaction


def test_edit_moves_the_one_open_invoice_or_makes_one(crm, an, db_path) -> None:
    did = deal(crm, an, "--amount", "500 USD")
    result = crm("deal", "edit", str(did), "--payment-due", "2026-12-10")
    assert result.exit_code == 0, result.stderr
    assert invoices(db_path) == [
        ("INV-2026-0001", did, 50000, "2026-11-23", "2026-12-10", "open", None)
    ]
    assert crm("deal", "edit", str(did), "--payment-due", "2026-12-20").exit_code == 0
    assert crm("deal", "edit", str(did), "--payment-due", "2026-11-20").exit_code == 0
    # Earlier than the invoice date: the invoice is dated that day too.
    assert invoices(db_path) == [
        ("INV-2026-0001", did, 50000, "2026-11-20", "2026-11-20", "open", None)
    ]
    assert shown(crm, did)["payment_due"] == "2026-11-20"


def test_edit_refuses_when_several_invoices_are_open(crm, an, db_path) -> None:
    from crmcli.core.money import invoices as core
    from crmcli.db import open_db

    did = deal(crm, an, "--amount", "900 EUR")
    db = open_db(db_path, create=False)
    with db.write(["crm", "invoice", "create"]):
        core.create(db, did, 30000, "2026-12-01")
        core.create(db, did, 60000, "2027-01-01")
    db.close()
    before = dump(db_path)
    result = crm("deal", "edit", str(did), "--payment-due", "2026-12-15")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"crm: error: deal {did} has 2 open invoices (INV-2026-0001, INV-2026-0002): "
        "change their due dates with crm invoice\n"
    )
    assert dump(db_path) == before
    assert shown(crm, did)["payment_due"] == "2026-12-01"  # the earliest open one
    unset = crm("deal", "edit", str(did), "--unset", "payment_due")
    assert (unset.exit_code, unset.stdout) == (2, "")
    assert "crm invoice void" in unset.stderr
    assert dump(db_path) == before


def test_edit_of_a_deal_invoiced_in_full_is_refused(crm, an, db_path) -> None:
    did = deal(crm, an, "--amount", "100 EUR")
    assert crm("deal", "won", str(did), "--payment-due", "2026-12-01").exit_code == 0
    assert crm("deal", "paid", str(did)).exit_code == 0
    before = dump(db_path)
    result = crm("deal", "edit", str(did), "--payment-due", "2026-12-15")
    assert (result.exit_code, result.stdout) == (2, "")
    assert "is invoiced in full" in result.stderr
    assert dump(db_path) == before


def test_paid_settles_what_is_still_owed(crm, an, db_path) -> None:
    from crmcli.core.money import invoices as core
    from crmcli.db import open_db

    did = deal(crm, an, "--amount", "1000 EUR")
    assert crm("deal", "won", str(did), "--payment-due", "2026-12-01").exit_code == 0
    db = open_db(db_path, create=False)
    with db.write(["crm", "payment", "add"]):
        core.add_payment(db, 1, 40000, at="2026-11-23T01:00:00Z")
    db.close()
    result = crm("deal", "paid", str(did), "--at", "2026-11-23 09:30")
    assert result.exit_code == 0, result.stderr
    assert (result.stdout, result.stderr) == ("", f"Deal {did} marked paid\n")
    assert paid_amounts(db_path) == [
        (1, 40000, "2026-11-23T01:00:00Z"), (1, 60000, "2026-11-23T02:30:00Z"),
    ]  # fmt: skip
    record = shown(crm, did)
    assert (record["payment_due"], record["paid_at"]) == (None, "2026-11-23T02:30:00Z")
    again = crm("deal", "paid", str(did))
    assert (again.exit_code, again.stderr) == (0, f"Deal {did} is already paid\n")
    assert crm("remind", "due", "--within", "30d", "-k", "invoice").stdout == ""


def test_paid_without_invoices_invoices_first(crm, an, db_path) -> None:
    did = deal(crm, an, "--amount", "250 USD")
    free = deal(crm, an)
    for d in (did, free):
        assert crm("deal", "won", str(d)).exit_code == 0
        assert crm("deal", "paid", str(d)).exit_code == 0
    assert invoices(db_path) == [
        ("INV-2026-0001", did, 25000, "2026-11-23", "2026-11-23", "paid", "2026-11-23T03:00:00Z"),
        ("INV-2026-0002", free, 0, "2026-11-23", "2026-11-23", "paid", "2026-11-23T03:00:00Z"),
    ]  # fmt: skip
    assert paid_amounts(db_path) == [(1, 25000, "2026-11-23T03:00:00Z")]
    assert shown(crm, free)["paid_at"] == "2026-11-23T03:00:00Z"


def test_paid_undo_option_is_gone_with_a_pointer(crm, an, db_path) -> None:
    did = deal(crm, an, "--amount", "250 USD")
    assert crm("deal", "won", str(did), "--payment-due", "2026-12-01").exit_code == 0
    before = dump(db_path)
    result = crm("deal", "paid", str(did), "--undo")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("crm: error: deal paid --undo is gone: crm undo ")
    assert result.stderr.count("\n") == 1
    assert dump(db_path) == before


def test_paid_before_the_invoice_date_is_refused(crm, an, db_path) -> None:
    did = deal(crm, an, "--amount", "250 USD")
    assert crm("deal", "won", str(did), "--payment-due", "2026-12-01").exit_code == 0
    before = dump(db_path)
    result = crm("deal", "paid", str(did), "--at", "2026-11-01")
    assert (result.exit_code, result.stdout) == (2, "")
    assert "is before the invoice date 2026-11-23" in result.stderr
    assert dump(db_path) == before


def test_list_and_export_keep_payment_due_and_paid_at(crm, an, db_path) -> None:
    one = deal(crm, an, "--amount", "100 EUR")
    two = deal(crm, an, "--amount", "200 EUR")
    assert crm("deal", "won", str(one), "--payment-due", "2026-12-01").exit_code == 0
    assert crm("deal", "won", str(two), "--payment-due", "2026-12-05").exit_code == 0
    assert crm("deal", "paid", str(two), "--at", "2026-11-23 08:00").exit_code == 0
    listed = crm("deal", "list", "-f", "csv")
    assert listed.exit_code == 0, listed.stderr
    rows = list(csv.DictReader(io.StringIO(listed.stdout)))
    assert [(r["id"], r["payment_due"], r["paid_at"]) for r in rows] == [
        (str(one), "2026-12-01", ""), (str(two), "", "2026-11-23T01:00:00Z"),
    ]  # fmt: skip
    jsonl = crm("deal", "list", "-f", "jsonl").stdout.splitlines()
    assert json.loads(jsonl[0])["payment_due"] == "2026-12-01"
    assert json.loads(jsonl[1])["paid_at"] == "2026-11-23T01:00:00Z"


def test_import_of_payment_columns_makes_invoices(crm, an, db_path, tmp_path) -> None:
    src = tmp_path / "deals.csv"
    src.write_text(
        "title,customer_id,amount,currency,status,closed_at,payment_due,paid_at\n"
        "Paid,1,1200,EUR,won,2026-10-01T03:00:00Z,2026-10-31,2026-10-20T02:00:00Z\n"
        "Owed,1,500,EUR,won,2026-11-01T03:00:00Z,2026-11-20,\n"
        "Pending,1,700,EUR,,,2026-12-01,\n",
        encoding="utf-8",
    )
    result = crm("deal", "import", str(src))
    assert result.exit_code == 0, result.stderr
    assert invoices(db_path) == [
        ("INV-2026-0001", 1, 120000, "2026-10-01", "2026-10-31", "paid", "2026-10-20T02:00:00Z"),
        ("INV-2026-0002", 2, 50000, "2026-11-01", "2026-11-20", "open", None),
        ("INV-2026-0003", 3, 70000, "2026-12-01", "2026-12-01", "void", None),
    ]  # fmt: skip
    assert paid_amounts(db_path) == [(1, 120000, "2026-10-20T02:00:00Z")]
    due = crm("remind", "due", "-k", "payment", "-f", "ids")  # the old kind's name still works
    assert (due.exit_code, due.stdout) == (0, "2\n")
