"""The data layer: location, file mode, pragmas, ownership, migrations, transactions, audit."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import pytest

from crmcli import db as dbmod
from crmcli.core import customers
from crmcli.core.settings import Config
from crmcli.errors import DatabaseError
from crmcli.migrations import MIGRATIONS

FIXTURES = Path(__file__).parent / "fixtures"


def add(database: dbmod.Database, name: str, **values: str) -> int:
    with database.write(["crm", "test"]):
        return customers.add(database, customers.prepare({"name": name, **values}, Config()))


def test_location_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRM_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert dbmod.resolve_path(None) == tmp_path / "data" / "crmcli" / "crm.db"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert dbmod.resolve_path(None) == tmp_path / "home" / ".local/share/crmcli/crm.db"
    monkeypatch.setenv("CRM_DB", str(tmp_path / "env.db"))
    assert dbmod.resolve_path(None) == tmp_path / "env.db"
    assert dbmod.resolve_path(str(tmp_path / "opt.db")) == tmp_path / "opt.db"


@pytest.mark.parametrize("bad", ["", ":memory:", "file:x.db?mode=memory"])
def test_refuses_non_file_paths(bad: str) -> None:
    with pytest.raises(DatabaseError, match="not a file path"):
        dbmod.resolve_path(bad)


def test_created_with_folder_mode_0600_and_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "crm.db"
    database = dbmod.open_db(path, create=True)
    add(database, "An")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    conn = database.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert conn.execute("PRAGMA application_id").fetchone()[0] == dbmod.APPLICATION_ID


def test_read_of_missing_database_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "typo.db"
    with pytest.raises(DatabaseError, match="no database at"):
        dbmod.open_db(path, create=False)
    assert not path.exists()


def test_refuses_files_that_are_not_ours(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a database at all")
    with pytest.raises(DatabaseError, match="not an SQLite database"):
        dbmod.open_db(text, create=True)
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    with pytest.raises(DatabaseError, match="another program"):
        dbmod.open_db(other, create=True)
    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("PRAGMA application_id = 1234")
    conn.commit()
    conn.close()
    with pytest.raises(DatabaseError, match="another program"):
        dbmod.open_db(foreign, create=True)


def test_newer_database_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    dbmod.open_db(path, create=True).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(DatabaseError, match="newer crmcli"):
        dbmod.open_db(path, create=False)


def _schema(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    return sorted(
        (name, " ".join(sql.split()))
        for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL")
    )


def _added(
    database: dbmod.Database, table: str, rows: list[tuple[object, ...]], old: int
) -> list[object]:
    """The values of the columns added after the first ``old`` ones, but the sort keys
    (derived from the text, filled in by the migration that adds them)."""
    names = [r[1] for r in database.conn.execute(f"PRAGMA table_info({table})")]
    return [
        value
        for row in rows
        for name, value in zip(names[old:], row[old:], strict=True)
        if not name.startswith("sort_")
    ]


def test_old_database_upgrades_without_loss(tmp_path: Path) -> None:
    """Schema version 1, built by hand from its frozen SQL, upgrades to the current one."""
    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path)
    conn.executescript((FIXTURES / "schema_v1.sql").read_text())
    conn.executescript(
        """
        INSERT INTO commands (id, at, argv) VALUES (1, '2025-01-02T03:04:05Z', '["crm"]');
        INSERT INTO active_command VALUES (1);
        INSERT INTO customers (id, uid, name, email, phone, fields, created_at, updated_at)
        VALUES (7, 'u-7', 'Nguyễn Thị Đào', 'dao@example.vn', '0912345678', '{"size": "L"}',
                '2025-01-02T03:04:05Z', '2025-01-02T03:04:05Z');
        INSERT INTO customer_tags VALUES (7, 'vip');
        INSERT INTO interactions (id, uid, customer_id, type, body, happened_at, created_at)
        VALUES (3, 'i-3', 7, 'call', 'Gọi lại sau Tết', '2025-01-03T00:00:00Z',
                '2025-01-03T00:00:00Z');
        DELETE FROM active_command;
        """
    )
    conn.commit()
    before = {
        t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
        for t in ("customers", "customer_tags", "interactions", "audit")
    }
    conn.close()

    database = dbmod.open_db(path, create=False)
    for table, rows in before.items():
        after = database.conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
        # Later migrations may add columns (NULL for old rows); the old columns are intact.
        assert [row[: len(rows[0])] for row in after] == rows
        assert all(value is None for value in _added(database, table, after, len(rows[0])))
    assert dbmod.schema_version(database.conn) == len(MIGRATIONS)
    # The search index of the old rows still answers, folded đ included.
    assert [r["id"] for r in customers.list_customers(database, search="dao")] == [7]
    assert [r["id"] for r in customers.list_customers(database, search="tet")] == [7]

    fresh = dbmod.open_db(tmp_path / "fresh.db", create=True)
    assert _schema(database.conn) == _schema(fresh.conn)


def test_fixture_is_the_first_migration(tmp_path: Path) -> None:
    """schema_v1.sql is what migration 1 makes: the frozen picture of the first release."""
    conn = sqlite3.connect(tmp_path / "m1.db")
    MIGRATIONS[0](conn)
    made = _schema(conn)
    conn2 = sqlite3.connect(tmp_path / "fx.db")
    conn2.executescript((FIXTURES / "schema_v1.sql").read_text())
    assert [row for row in _schema(conn2) if row[0] != "migrations"] == made


def test_schema_version_constant_matches_the_migrations() -> None:
    assert dbmod.SCHEMA_VERSION == len(MIGRATIONS)


def test_migrations_are_recorded(tmp_path: Path) -> None:
    database = dbmod.open_db(tmp_path / "m.db", create=True)
    rows = database.conn.execute("SELECT version, name FROM migrations ORDER BY version").fetchall()
    assert rows == [(i + 1, m.__name__) for i, m in enumerate(MIGRATIONS)]
    # Named m001_, m002_ … in the order they are appended (a number is never reused).
    assert [m.__name__[:5] for m in MIGRATIONS] == [
        f"m{n:03}_" for n in range(1, len(MIGRATIONS) + 1)
    ]


def test_write_rolls_back_everything_on_error(tmp_path: Path) -> None:
    database = dbmod.open_db(tmp_path / "t.db", create=True)
    with pytest.raises(RuntimeError), database.write(["crm", "x"]):
        customers.add(database, customers.prepare({"name": "An"}, Config()))
        raise RuntimeError("boom")
    assert database.scalar("SELECT count(*) FROM customers") == 0
    assert database.scalar("SELECT count(*) FROM audit") == 0
    assert database.scalar("SELECT count(*) FROM commands") == 0


def test_writes_outside_a_transaction_are_refused(tmp_path: Path) -> None:
    database = dbmod.open_db(tmp_path / "t.db", create=True)
    with pytest.raises(RuntimeError, match="inside Database.write"):
        database.execute("DELETE FROM customers")


def test_audit_records_every_change_with_its_command(tmp_path: Path) -> None:
    database = dbmod.open_db(tmp_path / "a.db", create=True)
    cid = add(database, "Lê Văn Tám", email="tam@example.vn")
    with database.write(["crm", "customer", "edit"]):
        customers.update(database, cid, customers.prepare({"city": "Huế"}, Config(), tags=["vip"]))
    with database.write(["crm", "customer", "delete"]):
        customers.delete(database, cid)
    rows = list(
        database.query(
            "SELECT c.argv, a.table_name, a.action, a.before, a.after "
            "FROM audit a JOIN commands c ON c.id = a.command_id ORDER BY a.id"
        )
    )
    actions = [(json.loads(r["argv"])[-1], r["table_name"], r["action"]) for r in rows]
    assert actions == [
        ("test", "customers", "insert"),
        ("edit", "customers", "update"),
        ("edit", "customer_tags", "insert"),
        ("delete", "customer_tags", "delete"),  # the cascade runs first
        ("delete", "customers", "delete"),
    ]
    update = rows[1]
    assert json.loads(update["before"])["city"] is None
    assert json.loads(update["after"])["city"] == "Huế"
    assert json.loads(rows[4]["before"])["email"] == "tam@example.vn"
    assert database.scalar("SELECT count(*) FROM active_command") == 0


def test_fixture_v2_is_the_first_two_migrations(tmp_path: Path) -> None:
    """schema_v2.sql is what migrations 1 and 2 make: the frozen picture of that release."""
    conn = sqlite3.connect(tmp_path / "m2.db")
    MIGRATIONS[0](conn)
    MIGRATIONS[1](conn)
    conn2 = sqlite3.connect(tmp_path / "fixture.db")
    conn2.executescript((FIXTURES / "schema_v2.sql").read_text())
    assert [row for row in _schema(conn2) if row[0] != "migrations"] == _schema(conn)
    assert (
        conn2.execute("SELECT * FROM stages").fetchall()
        == conn.execute("SELECT * FROM stages").fetchall()
    )


def test_v2_database_upgrades_without_loss(tmp_path: Path) -> None:
    """A schema-2 file (customers, a lead, a won deal with items and history) upgrades to the
    current schema with every row intact and the new tables usable."""
    path = tmp_path / "v2.db"
    conn = sqlite3.connect(path)
    conn.executescript((FIXTURES / "schema_v2.sql").read_text())
    conn.executescript(
        """
        INSERT INTO commands (id, at, argv) VALUES (1, '2026-01-02T03:04:05Z', '["crm"]');
        INSERT INTO active_command VALUES (1);
        INSERT INTO customers (id, uid, name, email, birthday, fields, created_at, updated_at)
        VALUES (7, 'u-7', 'Trần Văn Đức', 'duc@example.vn', '1990-02-28', '{}',
                '2026-01-02T03:04:05Z', '2026-01-02T03:04:05Z');
        INSERT INTO leads (id, uid, name, status, customer_id, converted_at, status_changed_at,
                           created_at, updated_at)
        VALUES (2, 'l-2', 'Trần Văn Đức', 'converted', 7, '2026-01-03T00:00:00Z',
                '2026-01-03T00:00:00Z', '2026-01-02T00:00:00Z', '2026-01-03T00:00:00Z');
        INSERT INTO deals (id, uid, title, customer_id, lead_id, stage_id, amount, currency,
                           close_date, closed_at, payment_due, stage_changed_at, created_at,
                           updated_at)
        VALUES (5, 'd-5', 'Máy lọc nước', 7, 2, 5, 12000000, 'VND', '2026-02-01',
                '2026-02-01T10:00:00Z', '2026-03-01', '2026-02-01T10:00:00Z',
                '2026-01-03T00:00:00Z', '2026-02-01T10:00:00Z');
        INSERT INTO deal_items (id, uid, deal_id, position, product, quantity, unit_price,
                                created_at)
        VALUES (1, 'i-1', 5, 1, 'Lõi lọc', 2, 6000000, '2026-01-03T00:00:00Z');
        INSERT INTO deal_stage_changes (deal_id, from_stage_id, to_stage_id, at)
        VALUES (5, 1, 5, '2026-02-01T10:00:00Z');
        DELETE FROM active_command;
        """
    )
    conn.commit()
    tables = ("customers", "leads", "deals", "deal_items", "deal_stage_changes", "audit")
    # The deals' payment date and paid mark moved into invoices (m007).
    moved = ("payment_due", "paid_at")
    columns = {
        t: ", ".join(r[1] for r in conn.execute(f"PRAGMA table_info({t})") if r[1] not in moved)
        for t in tables
    }
    before = {
        t: conn.execute(f"SELECT {columns[t]} FROM {t} ORDER BY 1").fetchall() for t in tables
    }
    conn.close()

    database = dbmod.open_db(path, create=False)
    assert database.conn.execute(
        "SELECT number, deal_id, amount, currency, issued_on, due_date, status FROM invoices"
    ).fetchall() == [("DEAL-5", 5, 12000000, "VND", "2026-02-01", "2026-03-01", "open")]
    for table, rows in before.items():
        after = database.conn.execute(
            f"SELECT {columns[table]}, * FROM {table} ORDER BY 1"
        ).fetchall()
        after = [row[: len(rows[0])] + row[len(rows[0]) + len(rows[0]) :] for row in after]
        assert [row[: len(rows[0])] for row in after] == rows
        assert all(value is None for value in _added(database, table, after, len(rows[0])))
    assert dbmod.schema_version(database.conn) == len(MIGRATIONS)
    assert [r["id"] for r in customers.list_customers(database, search="duc")] == [7]
    fresh = dbmod.open_db(tmp_path / "fresh.db", create=True)
    assert _schema(database.conn) == _schema(fresh.conn)
    # The new columns and tables take rows, audited like the old ones.
    with database.write(["crm", "test"]):
        database.execute("UPDATE customers SET cadence = '30d' WHERE id = 7")
    image = database.scalar(
        "SELECT after FROM audit WHERE table_name = 'customers' ORDER BY id DESC LIMIT 1"
    )
    assert '"cadence":"30d"' in image
