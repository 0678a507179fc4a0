"""The upgrade to schema 8 rebuilds the interactions table (its type list gains ``sms``):
every interaction, the reminders that point at them, the search index and the audit trail
survive, and an old command that logged an interaction still undoes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmcli.db import SCHEMA_VERSION

V7 = 7  # m007_deal_payments_to_invoices
T = "2026-11-05T03:00:00Z"


@pytest.fixture
def v7(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A schema-7 file: two customers, three interactions, a follow-up reminder that points
    at one of them; the last command logged the third interaction."""
    import crmcli.db as dbmod
    from crmcli.migrations import MIGRATIONS

    assert MIGRATIONS[V7 - 1].__name__ == "m007_deal_payments_to_invoices"
    path = tmp_path / "crm.db"
    monkeypatch.setenv("CRM_DB", str(path))
    with monkeypatch.context() as patch:
        patch.setattr(dbmod, "SCHEMA_VERSION", V7)
        old = dbmod.open_db(path, create=True)
    with old.write(["crm", "customer", "add"]):
        for cid, name in ((1, "Nguyễn Văn An"), (2, "Trần Thị Bích")):
            old.execute(
                "INSERT INTO customers (id, uid, name, fields, created_at, updated_at) "
                "VALUES (?, ?, ?, '{}', ?, ?)",
                (cid, f"c-{cid}", name, T, T),
            )
        old.execute(
            "INSERT INTO interactions (id, uid, customer_id, type, body, happened_at, "
            "created_at) VALUES (1, 'i-1', 1, 'call', 'Hỏi giá máy lọc nước', ?, ?), "
            "(2, 'i-2', 2, 'email', 'Gửi catalogue', ?, ?)",
            (T, T, T, T),
        )
        old.execute(
            "INSERT INTO reminders (id, uid, text, due_at, anchor_at, customer_id, interaction_id, "
            "created_at, updated_at) VALUES (1, 'r-1', 'Gọi lại', '2026-11-10T02:00:00Z', "
            "'2026-11-10T02:00:00Z', 1, "
            "1, ?, ?)",
            (T, T),
        )
    with old.write(["crm", "customer", "log", "2", "Hẹn gặp tuần sau"]):
        old.execute(
            "INSERT INTO interactions (id, uid, customer_id, type, body, happened_at, "
            "created_at) VALUES (3, 'i-3', 2, 'meeting', 'Hẹn gặp tuần sau', ?, ?)",
            (T, T),
        )
    old.close()
    return path


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_interactions_and_what_points_at_them_survive_the_rebuild(v7: Path) -> None:
    from crmcli.cli import app

    before = _rows(v7, "SELECT id, uid, customer_id, type, body, lead_id FROM interactions")
    result = CliRunner().invoke(app, ["--db", str(v7), "doctor"])  # read-only: no upgrade
    result = CliRunner().invoke(app, ["--db", str(v7), "customer", "log", "1", "--type", "sms",
                                      "Đã nhắn tin nhắc lịch"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert _rows(v7, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    after = _rows(v7, "SELECT id, uid, customer_id, type, body, lead_id FROM interactions")
    assert after[:3] == before
    assert after[3][3:5] == ("sms", "Đã nhắn tin nhắc lịch")
    # The reminder still points at its interaction: the old table's drop deleted nothing.
    assert _rows(v7, "SELECT interaction_id FROM reminders WHERE id = 1") == [(1,)]
    assert _rows(v7, "PRAGMA foreign_key_check") == []
    assert _rows(v7, "PRAGMA integrity_check") == [("ok",)]
    # The search index and its triggers came back with the table.
    found = CliRunner().invoke(app, ["--db", str(v7), "customer", "list", "--search",
                                     "nhac lich", "-f", "ids"])  # fmt: skip
    assert found.stdout.split() == ["1"]
    doctor = CliRunner().invoke(app, ["--db", str(v7), "doctor", "-f", "tsv"])
    assert doctor.exit_code == 0, doctor.stdout + doctor.stderr


def test_an_interaction_logged_before_the_upgrade_still_undoes(v7: Path) -> None:
    from crmcli.cli import app

    # The upgrade runs first (crm undo opens the database), then undoes the logging of 3.
    result = CliRunner().invoke(app, ["--db", str(v7), "undo", "--yes"])
    assert result.exit_code == 0, result.stderr
    assert _rows(v7, "SELECT id FROM interactions ORDER BY id") == [(1,), (2,)]
    # New interactions are audited with their campaign (none here).
    log = CliRunner().invoke(app, ["--db", str(v7), "customer", "log", "2", "Gọi lại"])
    assert log.exit_code == 0, log.stderr
    images = _rows(v7, "SELECT after FROM audit WHERE table_name = 'interactions' ORDER BY id DESC")
    assert '"campaign_id"' in str(images[0][0])


def test_a_broken_link_stops_the_upgrade_and_changes_nothing(v7: Path) -> None:
    """Foreign keys are off while migrating; the check before the commit refuses a file
    whose links would be broken, and the file stays at schema 7."""
    conn = sqlite3.connect(v7)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("UPDATE reminders SET interaction_id = 99 WHERE id = 1")
    conn.commit()
    conn.close()
    from crmcli.cli import app

    result = CliRunner().invoke(app, ["--db", str(v7), "customer", "list", "-f", "ids"])
    assert result.exit_code == 1
    assert "broken link" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert _rows(v7, "PRAGMA user_version") == [(7,)]
