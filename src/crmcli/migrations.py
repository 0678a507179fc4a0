"""Schema migrations: ``m001_…`` functions appended in order and never edited once released.

Pending migrations run together in one ``BEGIN IMMEDIATE`` transaction (``db.migrate``); the
``migrations`` table records which ran and when, and ``PRAGMA user_version`` holds the count, so
a database made by a newer crmcli (a higher version) is recognised and refused.

Every audited table gets three triggers that copy the row before and after each change into
``audit`` as JSON, tagged with the command that is running (``active_command``).  Being triggers,
they also catch cascaded deletes, and no code path can forget them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from crmcli.text import sql_fold

Migration = Callable[[sqlite3.Connection], None]

MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append(fn)
    return fn


def audit_triggers(table: str, columns: list[str], key: str = "id") -> list[str]:
    """SQL for the insert/update/delete audit triggers of ``table``."""

    def image(alias: str) -> str:
        pairs = ", ".join(f"'{col}', {alias}.{col}" for col in columns)
        return f"json_object({pairs})"

    command = "(SELECT command_id FROM active_command)"
    statements = []
    for action, when, before, after, row in (
        ("insert", "AFTER INSERT", "NULL", image("new"), f"new.{key}"),
        ("update", "AFTER UPDATE", image("old"), image("new"), f"new.{key}"),
        ("delete", "AFTER DELETE", image("old"), "NULL", f"old.{key}"),
    ):
        statements.append(
            f"CREATE TRIGGER {table}_audit_{action} {when} ON {table} BEGIN "
            f"INSERT INTO audit (command_id, table_name, row_id, action, before, after) "
            f"VALUES ({command}, '{table}', {row}, '{action}', {before}, {after}); END"
        )
    return statements


CUSTOMER_COLUMNS = [
    "id", "uid", "name", "email", "phone", "company", "title", "address", "city",
    "country", "birthday", "source", "notes", "fields", "created_at", "updated_at",
]  # fmt: skip

INTERACTION_COLUMNS = ["id", "uid", "customer_id", "type", "body", "happened_at", "created_at"]


def _customer_search_doc(alias: str) -> str:
    """The FTS row of one customer: its own fields plus the text of its interactions."""
    activity = (
        "(SELECT group_concat(body, ' ') FROM interactions "
        f"WHERE interactions.customer_id = {alias}.id)"
    )
    cols = ", ".join(
        sql_fold(f"coalesce({alias}.{c}, '')")
        for c in ("name", "email", "phone", "company", "city", "notes")
    )
    return f"SELECT {alias}.id, {cols}, {sql_fold(f'coalesce({activity}, {chr(39)}{chr(39)})')}"


@migration
def m001_initial(conn: sqlite3.Connection) -> None:
    """Commands and audit trail, settings, customers with tags, interactions, search."""
    birthday_iso = "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'"
    birthday_yearless = "'--[0-9][0-9]-[0-9][0-9]'"  # year unknown (ISO 8601 --MM-DD)
    statements = [
        """CREATE TABLE commands (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            argv TEXT NOT NULL
        )""",
        # The command whose transaction is open: at most one row, read by the audit triggers.
        "CREATE TABLE active_command (command_id INTEGER NOT NULL REFERENCES commands(id))",
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            command_id INTEGER REFERENCES commands(id),
            table_name TEXT NOT NULL,
            row_id INTEGER NOT NULL,
            action TEXT NOT NULL CHECK (action IN ('insert', 'update', 'delete')),
            before TEXT,
            after TEXT
        )""",
        "CREATE INDEX audit_command ON audit (command_id)",
        "CREATE INDEX audit_row ON audit (table_name, row_id)",
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        f"""CREATE TABLE customers (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
            email TEXT,
            phone TEXT,
            company TEXT,
            title TEXT,
            address TEXT,
            city TEXT,
            country TEXT,
            birthday TEXT CHECK (birthday IS NULL OR birthday GLOB {birthday_iso}
                                 OR birthday GLOB {birthday_yearless}),
            source TEXT,
            notes TEXT,
            fields TEXT NOT NULL CHECK (json_valid(fields)),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        "CREATE INDEX customers_email ON customers (email COLLATE NOCASE)",
        "CREATE INDEX customers_phone ON customers (phone)",
        "CREATE INDEX customers_name ON customers (name COLLATE NOCASE)",
        "CREATE INDEX customers_company ON customers (company COLLATE NOCASE)",
        "CREATE INDEX customers_city ON customers (city COLLATE NOCASE)",
        """CREATE TABLE customer_tags (
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            PRIMARY KEY (customer_id, tag)
        ) WITHOUT ROWID""",
        "CREATE INDEX customer_tags_tag ON customer_tags (tag, customer_id)",
        """CREATE TABLE interactions (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            customer_id INTEGER REFERENCES customers(id) ON DELETE CASCADE,
            type TEXT NOT NULL CHECK (type IN ('call', 'email', 'meeting', 'note')),
            body TEXT NOT NULL,
            happened_at TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX interactions_customer ON interactions (customer_id, happened_at)",
        """CREATE VIRTUAL TABLE customers_fts USING fts5 (
            name, email, phone, company, city, notes, activity,
            tokenize = 'unicode61 remove_diacritics 2'
        )""",
        # The search index follows the rows through triggers, whoever writes them.
        "CREATE TRIGGER customers_fts_insert AFTER INSERT ON customers BEGIN "
        f"INSERT INTO customers_fts (rowid, name, email, phone, company, city, notes, activity) "
        f"{_customer_search_doc('new')}; END",
        "CREATE TRIGGER customers_fts_update AFTER UPDATE ON customers BEGIN "
        "DELETE FROM customers_fts WHERE rowid = old.id; "
        f"INSERT INTO customers_fts (rowid, name, email, phone, company, city, notes, activity) "
        f"{_customer_search_doc('new')}; END",
        "CREATE TRIGGER customers_fts_delete AFTER DELETE ON customers BEGIN "
        "DELETE FROM customers_fts WHERE rowid = old.id; END",
    ]
    # Re-index the customer(s) an interaction belongs to when it changes.
    reindex = (
        "DELETE FROM customers_fts WHERE rowid = {row}.customer_id; "
        "INSERT INTO customers_fts (rowid, name, email, phone, company, city, notes, activity) "
        "{doc} FROM customers c WHERE c.id = {row}.customer_id;"
    )
    doc = _customer_search_doc("c")
    statements += [
        "CREATE TRIGGER interactions_fts_insert AFTER INSERT ON interactions BEGIN "
        + reindex.format(row="new", doc=doc)
        + " END",
        "CREATE TRIGGER interactions_fts_update AFTER UPDATE ON interactions BEGIN "
        + reindex.format(row="old", doc=doc)
        + " "
        + reindex.format(row="new", doc=doc)
        + " END",
        "CREATE TRIGGER interactions_fts_delete AFTER DELETE ON interactions BEGIN "
        + reindex.format(row="old", doc=doc)
        + " END",
    ]
    statements += audit_triggers("customers", CUSTOMER_COLUMNS)
    statements += audit_triggers("customer_tags", ["customer_id", "tag"], key="customer_id")
    statements += audit_triggers("interactions", INTERACTION_COLUMNS)
    for sql in statements:
        conn.execute(sql)
