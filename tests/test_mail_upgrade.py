"""The upgrade to schema 10: interactions gain a direction and a message key, and the leads
table is rebuilt (its source list gains ``email``): every lead with its tags, status history
and interactions survives, the search still finds them, an old command still undoes, and a
lead made from mail can be stored."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmcli.db import SCHEMA_VERSION
from tests.conftest import query

V9 = 9  # m009_segment_indexes
T = "2026-11-05T03:00:00Z"


@pytest.fixture
def v9(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A schema-9 file made through crm's own commands: two leads (one tagged, one with an
    interaction and a status change), a customer with an interaction."""
    import crmcli.db as dbmod
    from crmcli.cli import app
    from crmcli.migrations import MIGRATIONS

    assert MIGRATIONS[V9 - 1].__name__ == "m009_segment_indexes"
    path = tmp_path / "crm.db"
    monkeypatch.setenv("CRM_DB", str(path))
    runner = CliRunner()
    with monkeypatch.context() as patch:
        patch.setattr(dbmod, "SCHEMA_VERSION", V9)
        for args in (
            ["lead", "add", "Võ Minh Tuấn", "--email", "tuan@example.vn", "--source", "event",
             "--tag", "hot", "--score", "60"],
            ["lead", "add", "Phạm Hoa", "--email", "hoa@example.vn", "--source", "web"],
            ["lead", "status", "2", "contacted"],
            ["customer", "add", "Nguyễn Văn An", "--email", "an@example.vn"],
        ):  # fmt: skip
            result = runner.invoke(app, args, catch_exceptions=False)
            assert result.exit_code == 0, result.stderr
        # Interactions as schema 9 wrote them (today's code writes the new columns).
        old = dbmod.open_db(path, create=False)
        for who, ident, body in (("lead", 2, "Quan tâm máy lọc nước"), ("customer", 1, "Gửi")):
            with old.write(["crm", who, "log", str(ident), body]):
                old.execute(
                    f"INSERT INTO interactions (uid, {who}_id, type, body, happened_at, "
                    "created_at) VALUES (?, ?, 'call', ?, ?, ?)",
                    (f"i-{who}", ident, body, T, T),
                )
        old.close()
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA user_version").fetchone() == (V9,)
        conn.close()
    return path


def test_leads_and_interactions_survive_and_mail_leads_fit(v9: Path) -> None:
    from crmcli.cli import app

    leads_sql = "SELECT id, uid, name, email, source, score, status FROM leads ORDER BY id"
    before = {
        "leads": query(v9, leads_sql),
        "tags": query(v9, "SELECT * FROM lead_tags ORDER BY 1, 2"),
        "changes": query(v9, "SELECT * FROM lead_status_changes ORDER BY id"),
        "interactions": query(v9, "SELECT id, customer_id, lead_id, body FROM interactions"),
    }
    runner = CliRunner()
    # The first write upgrades; an old command undoes on the new schema.
    undone = runner.invoke(app, ["undo", "--yes"], catch_exceptions=False)
    assert undone.exit_code == 0, undone.stderr
    assert query(v9, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert query(v9, leads_sql) == before["leads"]
    assert query(v9, "SELECT * FROM lead_tags ORDER BY 1, 2") == before["tags"]
    assert query(v9, "SELECT * FROM lead_status_changes ORDER BY id") == before["changes"]
    assert query(v9, "SELECT id, customer_id, lead_id, body FROM interactions") == [
        row
        for row in before["interactions"]
        if row[1] is None  # the customer's log undone
    ]
    assert query(v9, "SELECT direction, message_key FROM interactions") == [(None, None)]
    assert query(v9, "PRAGMA foreign_key_check") == []
    assert query(v9, "PRAGMA integrity_check") == [("ok",)]
    # The search index of leads still follows them, interactions included.
    found = runner.invoke(app, ["lead", "list", "--search", "máy lọc", "-f", "json"])
    assert [row["name"] for row in json.loads(found.stdout)] == ["Phạm Hoa"]
    # A lead from mail (source email), and its mail with a direction.
    box = v9.parent / "inbox.mbox"
    box.write_text(
        "From x Mon Nov 16 09:00:00 2026\nFrom: Lan <lan@example.org>\nTo: me@example.vn\n"
        "Subject: Hỏi giá\nDate: Mon, 16 Nov 2026 09:00:00 +0700\nMessage-ID: <l1@x>\n\nGiá?\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["mail", "import", str(box), "--me", "me@example.vn",
                                 "--new-leads"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert query(v9, "SELECT name, source, status FROM leads WHERE id = 3") == [
        ("Lan", "email", "contacted")
    ]
    doctor = runner.invoke(app, ["doctor"])
    assert doctor.exit_code == 0, doctor.stdout + doctor.stderr
