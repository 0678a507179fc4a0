"""A schema-6 database whose deals carry payment_due / paid_at upgrades to invoices without
loss: the same deals are due with the same amounts, the sales report gives the same figures,
doctor is clean, and an older command that set those columns is not half undone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import dump

# What `crm remind due` read before the upgrade (core/due.py at schema 6), frozen here.
OLD_PAYMENTS_SQL = """
SELECT d.id, d.amount, d.currency FROM deals d
WHERE d.payment_due IS NOT NULL AND d.paid_at IS NULL AND d.payment_due <= ?
  AND +d.stage_id IN (SELECT id FROM stages WHERE kind = 'won')
ORDER BY d.payment_due, d.id
"""
TODAY = "2026-11-23"
V6 = 6  # m006_quotes_invoices
T = "2026-01-05T03:00:00Z"

# id, stage id (1 new, 3 proposal, 5 won, 6 lost), amount, currency, closed_at, payment_due,
# paid_at.
DEALS = [
    (1, 5, 120000, "EUR", "2026-10-01T03:00:00Z", "2026-10-31", None),  # overdue
    (2, 5, 5000000, "VND", "2026-11-01T03:00:00Z", "2026-11-23", None),  # due today
    (3, 5, 300000, "EUR", "2026-09-01T03:00:00Z", "2026-10-01", "2026-09-20T02:00:00Z"),
    (4, 5, None, "EUR", "2026-11-02T03:00:00Z", "2026-11-10", None),  # no amount
    (5, 3, 80000, "EUR", None, "2026-11-01", None),  # not won: never listed
    (6, 5, 99900, "USD", "2026-11-20T03:00:00Z", "2026-12-15", None),  # later
    (7, 5, 500000, "USD", "2026-08-01T03:00:00Z", None, "2026-08-05T18:00:00Z"),  # paid only
    (8, 6, 70000, "EUR", "2026-10-10T03:00:00Z", "2026-11-01", None),  # lost
    (9, 5, 40000, "EUR", "2026-10-12T03:00:00Z", None, None),  # no payment dates
]


@pytest.fixture
def v6(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A schema-6 file (migrations up to m006) with the deals above; the last command
    marked deal 3 paid."""
    import crmcli.db as dbmod
    from crmcli.migrations import MIGRATIONS

    assert MIGRATIONS[V6 - 1].__name__ == "m006_quotes_invoices"
    path = tmp_path / "crm.db"
    monkeypatch.setenv("CRM_DB", str(path))
    with monkeypatch.context() as patch:
        patch.setattr(dbmod, "SCHEMA_VERSION", V6)
        old = dbmod.open_db(path, create=True)
    with old.write(["crm", "deal", "add"]):
        old.execute(
            "INSERT INTO customers (id, uid, name, fields, created_at, updated_at) "
            "VALUES (1, 'c-1', 'Nguyễn Văn An', '{}', ?, ?)",
            (T, T),
        )
        for did, stage, amount, currency, closed, due, paid in DEALS:
            old.execute(
                "INSERT INTO deals (id, uid, title, customer_id, stage_id, amount, currency, "
                "close_date, closed_at, payment_due, paid_at, stage_changed_at, created_at, "
                "updated_at) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (did, f"d-{did}", f"Deal {did}", stage, amount, currency,
                 (closed or "2026-12-01")[:10], closed, due, None if did == 3 else paid,
                 closed or T, T, T),
            )  # fmt: skip
            old.execute(
                "INSERT INTO deal_stage_changes (deal_id, from_stage_id, to_stage_id, at) "
                "VALUES (?, NULL, ?, ?)",
                (did, stage, closed or T),
            )
    with old.write(["crm", "deal", "edit", "9", "--title", "Deal nine"]):
        old.execute("UPDATE deals SET title = 'Deal nine' WHERE id = 9")
    with old.write(["crm", "deal", "paid", "3"]):
        old.execute("UPDATE deals SET paid_at = ? WHERE id = 3", (DEALS[2][6],))
    old.close()
    return path


def _old_due(path: Path) -> list[tuple[Any, ...]]:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return [tuple(r) for r in conn.execute(OLD_PAYMENTS_SQL, (TODAY,))]
    finally:
        conn.close()


def _sales(crm: Any) -> Any:
    result = crm("report", "sales", "--period", "all", "-f", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_payments_become_invoices_and_figures_stay(
    crm: Any, v6: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import crmcli.db as dbmod
    from tests.conftest import query

    due_before = _old_due(v6)
    assert [d for d, *_ in due_before] == [1, 4, 2]
    with monkeypatch.context() as patch:
        patch.setattr(dbmod, "SCHEMA_VERSION", V6)  # read at schema 6, not upgraded
        sales_before = _sales(crm)
    assert query(v6, "PRAGMA user_version") == [(V6,)]

    sales_after = _sales(crm)  # opens, upgrades
    assert sales_after == sales_before
    assert query(v6, "PRAGMA user_version") == [(dbmod.SCHEMA_VERSION,)]  # every step since
    columns = [r[1] for r in query(v6, "PRAGMA table_info(deals)")]
    assert "payment_due" not in columns and "paid_at" not in columns
    invoices = query(
        v6,
        "SELECT number, deal_id, amount, currency, issued_on, due_date, status, paid_at, "
        "void_reason IS NOT NULL FROM invoices ORDER BY deal_id",
    )
    assert invoices == [
        ("DEAL-1", 1, 120000, "EUR", "2026-10-01", "2026-10-31", "open", None, 0),
        ("DEAL-2", 2, 5000000, "VND", "2026-11-01", "2026-11-23", "open", None, 0),
        ("DEAL-3", 3, 300000, "EUR", "2026-09-01", "2026-10-01", "paid",
         "2026-09-20T02:00:00Z", 0),
        ("DEAL-4", 4, 0, "EUR", "2026-11-02", "2026-11-10", "open", None, 0),
        ("DEAL-5", 5, 80000, "EUR", "2026-11-01", "2026-11-01", "void", None, 1),
        ("DEAL-6", 6, 99900, "USD", "2026-11-20", "2026-12-15", "open", None, 0),
        # Paid 18:00 UTC on 5 August is 6 August in Hồ Chí Minh City: due that day.
        ("DEAL-7", 7, 500000, "USD", "2026-08-01", "2026-08-06", "paid",
         "2026-08-05T18:00:00Z", 0),
        ("DEAL-8", 8, 70000, "EUR", "2026-10-10", "2026-11-01", "void", None, 1),
    ]  # fmt: skip
    payments = query(
        v6,
        "SELECT i.deal_id, p.amount, p.paid_at FROM payments p "
        "JOIN invoices i ON i.id = p.invoice_id ORDER BY i.deal_id",
    )
    assert payments == [(3, 300000, "2026-09-20T02:00:00Z"), (7, 500000, "2026-08-05T18:00:00Z")]
    # The upgrade is nobody's command: no audit rows for what it wrote.
    assert query(v6, "SELECT count(*) FROM audit WHERE command_id IS NULL") == [(0,)]

    # remind due: the same deals, the same amounts (now what is still owed).
    due = crm("remind", "due", "--kind", "invoice", "-f", "json")
    assert due.exit_code == 0, due.stderr
    items = json.loads(due.stdout)
    assert [i["deal_id"] for i in items] == [d for d, *_ in due_before]
    assert [i["text"] for i in items] == [
        "invoice DEAL-1 due for deal 1: 1,200.00 EUR owed",
        "invoice DEAL-4 due for deal 4: 0.00 EUR owed",
        "invoice DEAL-2 due for deal 2: 5,000,000 VND owed",
    ]
    assert [i["status"] for i in items] == ["overdue", "overdue", "today"]
    plain = crm("remind", "due")
    assert plain.stdout.splitlines()[0] == (
        "2026-10-31        overdue  invoice DEAL-1 due for deal 1: 1,200.00 EUR owed "
        "— customer 1 Nguyễn Văn An"
    )

    # deal list keeps payment_due and paid_at, derived from the invoices.
    listed = crm("deal", "list", "-f", "json")
    assert listed.exit_code == 0, listed.stderr
    derived = {d["id"]: (d["payment_due"], d["paid_at"]) for d in json.loads(listed.stdout)}
    assert derived == {
        1: ("2026-10-31", None), 2: ("2026-11-23", None), 3: (None, "2026-09-20T02:00:00Z"),
        4: ("2026-11-10", None), 5: (None, None), 6: ("2026-12-15", None),
        7: (None, "2026-08-05T18:00:00Z"), 8: (None, None), 9: (None, None),
    }  # fmt: skip

    doctor = crm("doctor", "-f", "json")
    assert doctor.exit_code == 0, doctor.stdout
    assert {c["status"] for c in json.loads(doctor.stdout)} == {"ok"}


def test_undo_of_an_older_command_that_set_the_columns_is_refused(
    crm: Any, v6: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert crm("deal", "list").exit_code == 0  # upgrades
    before = dump(v6)
    result = crm("undo", "--yes")
    assert result.exit_code != 0 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "cannot undo `crm deal paid 3`" in result.stderr
    assert "invoices since the upgrade" in result.stderr
    assert dump(v6) == before


def test_undo_after_the_upgrade_works_on_invoices(
    crm: Any, v6: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import query

    paid = crm("deal", "paid", "1")
    assert paid.exit_code == 0, paid.stderr
    assert query(v6, "SELECT status FROM invoices WHERE deal_id = 1") == [("paid",)]
    assert crm("undo", "--yes").exit_code == 0
    assert query(v6, "SELECT status, paid_at FROM invoices WHERE deal_id = 1") == [("open", None)]


def test_undo_of_an_older_command_that_left_the_columns_alone_works(crm: Any, v6: Path) -> None:
    from tests.conftest import query

    assert crm("deal", "list").exit_code == 0  # upgrades
    edit = query(v6, "SELECT id FROM commands WHERE argv LIKE '%Deal nine%'")[0][0]
    result = crm("undo", "--command", str(edit), "--yes")
    assert result.exit_code == 0, result.stderr
    assert query(v6, "SELECT title FROM deals WHERE id = 9") == [("Deal 9",)]
